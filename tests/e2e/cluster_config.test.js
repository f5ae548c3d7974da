// cluster_config.test.js: the cluster.* keys as ucgw -t checks them: a
// complete cluster configuration is accepted without Redis running; a
// missing or short key file, an unreadable or empty password file, a bad
// Redis URL, a wildcard first listener without cluster.advertise and a
// timeout too long for the lease are refused with precise messages; a
// password in a refused URL is never echoed. Without cluster.redis
// nothing changes: /healthz is exactly what it was.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const h = require('./lib/harness');
const { clusterFiles, args } = require('./lib/redis');

const port0 = { listen: ['http://127.0.0.1:0'] };

async function check(o) {
  return h.run('ucgw', ['-t', ...args({ ...port0, ...o })]);
}

test('-t accepts a complete cluster configuration (Redis need not run)', async () => {
  const f = clusterFiles({ password: 'pw' });
  const r = await check({
    'cluster.redis': 'redis://127.0.0.1:1/3', 'cluster.key_file': f.key,
    'cluster.password_file': f.passwordFile, 'cluster.prefix': 'cc1:', 'cluster.node_id': 'n-1',
    'cluster.advertise': 'http://10.0.0.5:8080', 'cluster.lease_ms': 9000,
  });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'configuration OK\n');
  const u = await check({ 'cluster.redis': 'unix:/run/redis/redis.sock', 'cluster.key_file': f.key });
  assert.equal(u.code, 0, u.stderr);
});

test('-t: cluster mode without a valid key file refuses to start', async () => {
  const f = clusterFiles();
  const none = await check({ 'cluster.redis': 'redis://127.0.0.1:1' });
  assert.equal(none.code, 1);
  assert.equal(none.stderr, '(defaults): cluster mode (cluster.redis) needs cluster.key_file, ' +
    'a file of 32 random bytes (head -c 32 /dev/urandom > FILE)\n');
  const missing = path.join(f.dir, 'nope.key');
  const m = await check({ 'cluster.redis': 'redis://127.0.0.1:1', 'cluster.key_file': missing });
  assert.equal(m.code, 1);
  assert.equal(m.stderr, `(defaults): cluster.key_file ${missing}: No such file or directory\n`);
  const short = path.join(f.dir, 'short.key');
  fs.writeFileSync(short, Buffer.alloc(31, 7));
  const s = await check({ 'cluster.redis': 'redis://127.0.0.1:1', 'cluster.key_file': short });
  assert.equal(s.code, 1);
  assert.equal(s.stderr, `(defaults): cluster.key_file ${short}: holds 31 bytes; it must hold ` +
    'exactly 32 (head -c 32 /dev/urandom > FILE)\n');
  // 32 bytes and a newline, as an editor would leave it: refused too.
  fs.writeFileSync(short, Buffer.concat([Buffer.alloc(32, 7), Buffer.from('\n')]));
  const nl = await check({ 'cluster.redis': 'redis://127.0.0.1:1', 'cluster.key_file': short });
  assert.match(nl.stderr, /holds 33 bytes; it must hold exactly 32/);
  fs.writeFileSync(short, Buffer.alloc(32, 0));
  const z = await check({ 'cluster.redis': 'redis://127.0.0.1:1', 'cluster.key_file': short });
  assert.equal(z.stderr, `(defaults): cluster.key_file ${short}: only zero bytes; not a random key\n`);
  // The same keys without cluster.redis: single node, nothing is read.
  const single = await check({ 'cluster.key_file': missing });
  assert.equal(single.code, 0, single.stderr);
});

test('-t: an unreadable or empty password file is refused', async () => {
  const f = clusterFiles();
  const base = { 'cluster.redis': 'redis://127.0.0.1:1', 'cluster.key_file': f.key };
  const dirAsFile = await check({ ...base, 'cluster.password_file': f.dir });
  assert.equal(dirAsFile.code, 1);
  assert.equal(dirAsFile.stderr, `(defaults): cluster.password_file ${f.dir}: Is a directory\n`);
  const missing = path.join(f.dir, 'none');
  const m = await check({ ...base, 'cluster.password_file': missing });
  assert.equal(m.stderr, `(defaults): cluster.password_file ${missing}: No such file or directory\n`);
  const empty = path.join(f.dir, 'empty');
  fs.writeFileSync(empty, '\n');
  const e = await check({ ...base, 'cluster.password_file': empty });
  assert.equal(e.stderr, `(defaults): cluster.password_file ${empty}: empty\n`);
  const two = path.join(f.dir, 'two');
  fs.writeFileSync(two, 'secret-one\nsecret-two\n');
  const t = await check({ ...base, 'cluster.password_file': two });
  assert.equal(t.stderr, `(defaults): cluster.password_file ${two}: must hold one line (the password) and no NUL\n`);
  assert.doesNotMatch(t.stderr, /secret/);
});

test('-t: bad Redis URLs get precise messages that never repeat a password', async () => {
  const f = clusterFiles();
  const cases = [
    ['redis://localhost:6379', 'HOST must be a numeric address such as 127.0.0.1 or [::1] (a name lookup would block the event loop)'],
    ['redis://127.0.0.1', 'expected redis://HOST:PORT[/DB] or unix:/PATH'],
    ['redis://127.0.0.1:70000', 'expected a port from 1 to 65535 after the host'],
    ['redis://127.0.0.1:6379/db', 'expected a database number (0 to 65535) after the slash'],
    ['unix:redis.sock', 'unix: needs an absolute path (unix:/run/redis/redis.sock)'],
    ['redis://:hunter2pw@127.0.0.1:6379', 'credentials in the URL are not accepted: use cluster.password_file'],
  ];
  for (const [url, msg] of cases) {
    const r = await check({ 'cluster.redis': url, 'cluster.key_file': f.key });
    assert.equal(r.code, 1, url);
    assert.equal(r.stderr, `command line: -o cluster.redis: ${msg}\n`, url);
  }
});

test('-t: other cluster keys are checked too', async () => {
  const f = clusterFiles();
  const base = { 'cluster.redis': 'redis://127.0.0.1:1', 'cluster.key_file': f.key };
  const wild = await h.run('ucgw', ['-t', ...args({ ...base, listen: ['http://0.0.0.0:0'] })]);
  assert.equal(wild.code, 1);
  assert.equal(wild.stderr, '(defaults): cluster.advertise is needed: the first listener ' +
    '(http://0.0.0.0:0) is a wildcard address other nodes cannot reach\n');
  const wildOk = await h.run('ucgw', ['-t', ...args({ ...base, listen: ['http://0.0.0.0:0'],
    'cluster.advertise': 'http://10.1.1.1:8080' })]);
  assert.equal(wildOk.code, 0, wildOk.stderr);
  const slow = await check({ ...base, 'cluster.lease_ms': 1000, 'cluster.timeout_ms': 400 });
  assert.equal(slow.stderr, '(defaults): cluster.timeout_ms (400) must be below a third of ' +
    'cluster.lease_ms (1000): a stalled Redis must be noticed before a lease runs out\n');
  const adv = await check({ ...base, 'cluster.advertise': 'http://10.1.1.1' });
  assert.equal(adv.stderr, 'command line: -o cluster.advertise: expected http://HOST:PORT or https://HOST:PORT\n');
  const node = await check({ ...base, 'cluster.node_id': 'a b' });
  assert.equal(node.stderr, 'command line: -o cluster.node_id: only letters, digits and . - _ : are allowed\n');
  const lease = await check({ ...base, 'cluster.lease_ms': 100 });
  assert.match(lease.stderr, /^command line: -o cluster\.lease_ms: 100 is out of range \(300 to 3600000\)$/m);
  for (const v of [2, 6]) {
    const wv = await check({ ...base, 'cluster.write_version': v });
    assert.match(wv.stderr, new RegExp(`^command line: -o cluster\\.write_version: ${v} is out of range \\(3 to 5\\)$`, 'm'));
  }
  for (const v of [3, 4]) {
    const wv = await check({ ...base, 'cluster.write_version': v });
    assert.equal(wv.code, 0, wv.stderr);
  }
});

test('-t: the sentinel keys (cluster.sentinels, cluster.sentinel_master, cluster.sentinel_password_file)', async () => {
  const f = clusterFiles({ password: 'pw' });
  const ok = await check({ 'cluster.sentinels': ['10.0.0.7:26379', '[::1]:26380'], 'cluster.sentinel_master': 'mymaster',
    'cluster.key_file': f.key, 'cluster.password_file': f.passwordFile, 'cluster.sentinel_password_file': f.passwordFile });
  assert.equal(ok.code, 0, ok.stderr);
  const sen = { 'cluster.sentinels': ['127.0.0.1:26379'], 'cluster.sentinel_master': 'm', 'cluster.key_file': f.key };
  const both = await check({ ...sen, 'cluster.redis': 'redis://127.0.0.1:1' });
  assert.equal(both.stderr, '(defaults): cluster.redis and cluster.sentinels exclude each other: one Redis, ' +
    'or the master the sentinels name\n');
  const noName = await check({ 'cluster.sentinels': ['127.0.0.1:26379'], 'cluster.key_file': f.key });
  assert.equal(noName.stderr, '(defaults): cluster.sentinels needs cluster.sentinel_master, the master\'s name ' +
    'in the sentinels\' configuration\n');
  const noKey = await check({ 'cluster.sentinels': ['127.0.0.1:26379'], 'cluster.sentinel_master': 'm' });
  assert.match(noKey.stderr, /^\(defaults\): cluster mode \(cluster\.sentinels\) needs cluster\.key_file/);
  const alone = await check({ 'cluster.sentinel_master': 'm', 'cluster.sentinel_password_file': f.passwordFile });
  assert.equal(alone.stderr, '(defaults): cluster.sentinel_master needs cluster.sentinels\n' +
    '(defaults): cluster.sentinel_password_file needs cluster.sentinels\n');
  const cases = [
    [['sentinel.example.com:26379'], 'entry 1: HOST must be a numeric address such as 127.0.0.1 or [::1] (a name lookup would block the event loop)'],
    [['127.0.0.1:26379', '127.0.0.1'], 'entry 2: expected HOST:PORT such as 10.0.0.1:26379 or [::1]:26379'],
    [['127.0.0.1:0'], 'entry 1: expected a port from 1 to 65535 after the host'],
    [['u:hunter2pw@127.0.0.1:26379'], 'entry 1: HOST must be a numeric address such as 127.0.0.1 or [::1] (a name lookup would block the event loop)'],
    [Array.from({ length: 17 }, (_, i) => `127.0.0.1:${26000 + i}`), 'at most 16 sentinels'],
  ];
  for (const [v, msg] of cases) {
    const r = await check({ ...sen, 'cluster.sentinels': v });
    assert.equal(r.code, 1, JSON.stringify(v));
    assert.equal(r.stderr, `command line: -o cluster.sentinels: ${msg}\n`, JSON.stringify(v));
  }
  const name = await check({ ...sen, 'cluster.sentinel_master': 'my master' });
  assert.equal(name.stderr, 'command line: -o cluster.sentinel_master: only letters, digits and . - _ : are allowed\n');
  const empty = path.join(f.dir, 'empty');
  fs.writeFileSync(empty, '\n');
  const e = await check({ ...sen, 'cluster.sentinel_password_file': empty });
  assert.equal(e.stderr, `(defaults): cluster.sentinel_password_file ${empty}: empty\n`);
});

test('without cluster.redis: no Redis, /healthz unchanged', async () => {
  const p = await h.start('ucgw', args(port0));
  try {
    const hz = await h.request({ port: p.port, path: '/healthz' });
    assert.equal(hz.status, 200);
    assert.equal(hz.body, '{"status":"ok"}');
    assert.doesNotMatch(p.stderr, /redis|cluster/i);
  } finally {
    assert.equal((await p.stop()).code, 0, p.stderr);
  }
});
