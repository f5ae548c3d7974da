// cluster_redis.test.js: ucgw in cluster mode against a real redis-server
// (each test its own, on a free port or a unix socket, no persistence):
// it starts, authenticates, selects the database, registers its advertised
// address (the first listener as bound, so port 0 works) with an expiry,
// and /healthz says so; Redis killed → /healthz and the log say why, and
// Redis restarted (empty) → ready again and registered again; a wrong
// password and a stalled server are named; no secret ever reaches the log.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');
const { startRedis, clusterFiles, args } = require('./lib/redis');

// Lease and Redis timeout of the nodes (longer under valgrind: h.slow).
const LEASE = 900 * h.slow;
const TIMEOUT = 200 * h.slow;

// Start ucgw in cluster mode on port 0 against redis.
function node(redis, files, o = {}) {
  return h.start('ucgw', args({
    listen: ['http://127.0.0.1:0'],
    'cluster.redis': redis.url,
    'cluster.key_file': files.key,
    'cluster.lease_ms': LEASE,
    'cluster.timeout_ms': TIMEOUT,
    'cluster.backoff_min_ms': 20,
    'cluster.backoff_max_ms': 200,
    'log.level': 'debug',
    ...(files.passwordFile ? { 'cluster.password_file': files.passwordFile } : {}),
    ...o,
  }));
}

async function health(p) {
  const r = await h.request({ port: p.port, path: '/healthz' });
  assert.equal(r.status, 200);
  return r.json;
}

// The whole log holds none of the secrets (the key in any usual spelling, the password).
function assertNoSecrets(log, files, password) {
  const k = files.keyBytes;
  for (const s of [k.toString('hex'), k.toString('base64'), k.toString('latin1')]) {
    assert.equal(log.includes(s), false, 'the cluster key is in the log');
  }
  if (password) assert.equal(log.includes(password), false, 'the Redis password is in the log');
}

test('starts with AUTH and SELECT, registers its bound address, /healthz ok', async () => {
  const password = 'redis-pw-7d1f0c9e';
  const redis = await startRedis({ password });
  const files = clusterFiles({ password });
  let p;
  try {
    p = await node(redis, files, { 'cluster.prefix': 't1:', 'cluster.redis': `${redis.url}/3` });
    const hz = await h.waitFor(async () => {
      const j = await health(p);
      return j.status === 'ok' && j.cluster.registered ? j : null;
    }, 5000 * h.slow, 'a healthy, registered node');
    assert.equal(hz.cluster.redis, 'ready');
    assert.equal(hz.cluster.advertise, `http://127.0.0.1:${p.port}`);
    // The default node id: the host name and 8 random hex digits.
    assert.match(hz.cluster.node, /^[A-Za-z0-9._-]+-[0-9a-f]{8}$/);
    const key = `t1:node:${hz.cluster.node}`;
    assert.equal(await redis.cli('-n', '3', 'GET', key), `http://127.0.0.1:${p.port}`);
    const ttl = Number(await redis.cli('-n', '3', 'PTTL', key));
    assert.ok(ttl > 0 && ttl <= LEASE, `PTTL ${ttl}`);
    // Database 0 holds nothing: SELECT 3 was done.
    assert.equal(await redis.cli('-n', '0', 'DBSIZE'), '0');
    // Refreshed at a third of the lease: still there after twice the lease.
    await new Promise((r) => setTimeout(r, 2 * LEASE));
    assert.equal(await redis.cli('-n', '3', 'GET', key), `http://127.0.0.1:${p.port}`);
  } finally {
    if (p) assert.equal((await p.stop()).code, 0, p.stderr);
    await redis.stop();
  }
  assertNoSecrets(p.stderr + p.stdout, files, password);
  assert.match(p.stderr, /INFO {2}ucgw: redis redis:\/\/127\.0\.0\.1:\d+\/3: ready/);
});

test('over a unix socket, with a configured node id and advertised URL', async () => {
  const redis = await startRedis({ unix: true });
  const files = clusterFiles();
  let p;
  try {
    p = await node(redis, files, { 'cluster.node_id': 'node-a', 'cluster.advertise': 'https://gw-a.example:8443' });
    await h.waitFor(async () => (await health(p)).cluster.registered, 5000 * h.slow, 'registration');
    assert.equal(await redis.cli('GET', 'ucgw:node:node-a'), 'https://gw-a.example:8443');
    const j = await health(p);
    assert.equal(j.status, 'ok');
    assert.equal(j.cluster.node, 'node-a');
  } finally {
    if (p) assert.equal((await p.stop()).code, 0, p.stderr);
    await redis.stop();
  }
  assertNoSecrets(p.stderr, files);
});

test('cluster key check: a node whose key differs from the cluster\'s stays out, named in /healthz and the log', async () => {
  const redis = await startRedis();
  const files = clusterFiles();
  const other = clusterFiles(); // another random key
  let a, b, c;
  try {
    a = await node(redis, files, { 'cluster.node_id': 'node-a' });
    await h.waitFor(async () => (await health(a)).cluster.registered, 5000 * h.slow, 'registration of a');
    assert.equal((await health(a)).cluster.key, 'ok');
    // The check value is sealed (never the key or a known text in clear) and expires.
    const ttl = Number(await redis.cli('PTTL', 'ucgw:keycheck'));
    assert.ok(ttl > 3600 * 1000 && ttl <= 24 * 3600 * 1000, `PTTL ${ttl}`);
    const v = await redis.cli('GET', 'ucgw:keycheck');
    assert.doesNotMatch(v, /cluster key check/);
    b = await node(redis, other, { 'cluster.node_id': 'node-b' });
    const hz = await h.waitFor(async () => {
      const j = await health(b);
      return j.cluster.key === 'mismatch' ? j : null;
    }, 5000 * h.slow, 'b to find its key differs');
    assert.equal(hz.status, 'degraded');
    assert.equal(hz.cluster.redis, 'ready');
    assert.equal(hz.cluster.registered, false);
    assert.match(hz.cluster.reason, /cluster key mismatch/);
    assert.match(b.stderr, /ERROR ucgw: cluster: node node-b: the cluster key \(cluster\.key_file\) is not the one the other nodes use/);
    // It takes no agent: a desktop's request is answered 503 and sent elsewhere.
    const r = await h.request({ port: b.port, path: '/api/v2/me',
      headers: { Authorization: 'Basic ' + Buffer.from('agent1:pw').toString('base64') } });
    assert.equal(r.status, 503);
    assert.equal(r.headers['retry-after'], '5');
    assert.match(r.body, /cluster key/);
    assert.equal(await redis.cli('EXISTS', 'ucgw:lease:agent:agent1'), '0');
    // b is never in the registry, so no node sends it work; a's value was not replaced.
    await new Promise((r) => setTimeout(r, LEASE));
    assert.equal(await redis.cli('EXISTS', 'ucgw:node:node-b'), '0');
    assert.equal(await redis.cli('GET', 'ucgw:keycheck'), v);
    // A node with the right key joins as a did.
    c = await node(redis, files, { 'cluster.node_id': 'node-c' });
    await h.waitFor(async () => (await health(c)).cluster.registered, 5000 * h.slow, 'registration of c');
    assert.equal((await health(c)).status, 'ok');
    // Redis restarted empty: the first node back writes the check value again
    // (here b, with its own key, may be first: then a and c are the odd ones,
    // which is what an operator must see, so only agreement is asserted).
    await redis.kill();
    await redis.start();
    await h.waitFor(async () => {
      const ks = await Promise.all([a, b, c].map(async (p) => (await health(p)).cluster.key));
      return ks.every((k) => k !== 'unchecked') && ks[0] === ks[2] && ks[0] !== ks[1];
    }, 5000 * h.slow, 'the key checked again after Redis came back empty');
  } finally {
    for (const p of [a, b, c]) if (p) assert.equal((await p.stop()).code, 0, p.stderr);
    await redis.stop();
  }
  for (const p of [a, b, c]) {
    assertNoSecrets(p.stderr, files);
    assertNoSecrets(p.stderr, other);
  }
});

test('Redis killed: /healthz and the log say why; Redis back (empty): ready and registered again', async () => {
  const redis = await startRedis();
  const files = clusterFiles();
  let p;
  try {
    p = await node(redis, files, { 'cluster.node_id': 'node-k' });
    await h.waitFor(async () => (await health(p)).cluster.registered, 5000 * h.slow, 'registration');
    await redis.kill();
    const down = await h.waitFor(async () => {
      const j = await health(p);
      return j.status === 'degraded' ? j : null;
    }, 5000 * h.slow, '/healthz to report Redis down');
    assert.equal(down.cluster.redis, 'unavailable');
    assert.match(down.cluster.reason, /^(connection lost: .+|connect: Connection refused)$/);
    assert.equal(typeof down.cluster.unavailable_ms, 'number');
    assert.equal(down.cluster.registered, false);
    assert.match(p.stderr, /WARN {2}ucgw: redis redis:\/\/127\.0\.0\.1:\d+\/0: unavailable: .+; retrying with back-off/);
    // Still down a while later: it keeps retrying (capped back-off), the reason stays precise.
    await new Promise((r) => setTimeout(r, 500));
    assert.equal((await health(p)).cluster.reason, 'connect: Connection refused');
    await redis.start();
    await h.waitFor(async () => {
      const j = await health(p);
      return j.status === 'ok' && j.cluster.registered;
    }, 5000 * h.slow, 'recovery after Redis restarted');
    assert.equal(await redis.cli('GET', 'ucgw:node:node-k'), `http://127.0.0.1:${p.port}`);
    assert.match(p.stderr, /INFO {2}ucgw: redis \S+: ready \(after \d+ ms unavailable\)/);
    // Other requests were served all along.
    const v = await h.request({ port: p.port, path: '/api/v2/diagnostics/version' });
    assert.equal(v.status, 200);
  } finally {
    if (p) assert.equal((await p.stop()).code, 0, p.stderr);
    await redis.stop();
  }
});

test('a wrong Redis password is named in /healthz and the log, never the password', async () => {
  const redis = await startRedis({ password: 'the-right-one-4411' });
  const files = clusterFiles({ password: 'a-wrong-one-9932' });
  let p;
  try {
    p = await node(redis, files);
    // Before the first attempt ends the reason is "not connected yet"; then it names the refusal.
    const j = await h.waitFor(async () => {
      const x = await health(p);
      return x.cluster.reason && x.cluster.reason !== 'not connected yet' ? x : null;
    }, 5000 * h.slow, 'a reason');
    assert.equal(j.status, 'degraded');
    assert.match(j.cluster.reason, /^handshake refused: Redis error: WRONGPASS /);
    assert.match(p.stderr, /unavailable: handshake refused: Redis error: WRONGPASS/);
  } finally {
    if (p) assert.equal((await p.stop()).code, 0, p.stderr);
    await redis.stop();
  }
  assertNoSecrets(p.stderr, files, 'a-wrong-one-9932');
  assert.equal(p.stderr.includes('the-right-one-4411'), false);
});

test('a stalled Redis (SIGSTOP) is noticed within cluster.timeout_ms, and recovers (SIGCONT)', async () => {
  const redis = await startRedis();
  const files = clusterFiles();
  let p;
  try {
    p = await node(redis, files);
    await h.waitFor(async () => (await health(p)).cluster.registered, 5000 * h.slow, 'registration');
    redis.signal('SIGSTOP');
    const j = await h.waitFor(async () => {
      const x = await health(p);
      return x.status === 'degraded' ? x : null;
    }, 5000 * h.slow, 'the stall to be noticed');
    assert.match(j.cluster.reason, new RegExp(`^no reply within ${TIMEOUT} ms( while connecting)? \\(cluster\\.timeout_ms\\)`));
    redis.signal('SIGCONT');
    await h.waitFor(async () => (await health(p)).status === 'ok', 5000 * h.slow, 'recovery');
    assert.ok(p.stderr.includes(`no reply within ${TIMEOUT} ms (cluster.timeout_ms): server stalled`));
  } finally {
    try { redis.signal('SIGCONT'); } catch (_) { /* gone */ }
    if (p) assert.equal((await p.stop()).code, 0, p.stderr);
    await redis.stop();
  }
});

// A fake "Redis" on a free port that answers every connection with reply(socket).
function fakeRedis(reply) {
  const net = require('node:net');
  const socks = new Set();
  const srv = net.createServer((s) => {
    socks.add(s);
    s.on('close', () => socks.delete(s));
    s.on('error', () => {});
    s.once('data', () => reply(s));
  });
  return new Promise((resolve) => srv.listen(0, '127.0.0.1', () => resolve({
    url: `redis://127.0.0.1:${srv.address().port}`,
    close: () => new Promise((r) => { for (const s of socks) s.destroy(); srv.close(r); }),
  })));
}

// A fake "Redis" that answers the first command with a reply that never ends
// (a bulk string or an array far over the bound), sent as fast as the
// socket takes it: the node must close the connection once the reply is over
// cluster.max_reply_bytes, not buffer it until cluster.timeout_ms.
test('a reply over cluster.max_reply_bytes closes the connection, named, memory bounded', async () => {
  const files = clusterFiles();
  const MAX = 262144;
  const flood = (head, unit) => (s) => {
    const chunk = Buffer.from(unit.repeat(Math.ceil(65536 / unit.length)));
    s.write(head);
    const more = () => { while (!s.destroyed && s.write(chunk)); };
    s.on('drain', more);
    more();
  };
  for (const [name, reply] of [
    ['bulk', flood('$1073741824\r\n', 'x')],
    ['array', flood('*100000000\r\n', ':1\r\n')],
  ]) {
    const fake = await fakeRedis(reply);
    let p;
    try {
      // A long timeout: only the bound can end the reply early.
      p = await node({ url: fake.url }, files, { 'cluster.max_reply_bytes': MAX, 'cluster.timeout_ms': 1000, 'cluster.lease_ms': 60000 });
      const want = `connection lost: a reply over ${MAX} bytes (cluster.max_reply_bytes)`;
      const j = await h.waitFor(async () => {
        const x = await health(p);
        return x.cluster.reason === want ? x : null;
      }, 5000 * h.slow, () => `${name}: reason "${want}"; stderr:\n${p.stderr.slice(-2000)}`);
      assert.equal(j.status, 'degraded', name);
      // It tries again, each time cut at the bound; its memory stays small.
      const n = (p.stderr.match(/down -> connecting/g) || []).length;
      await h.waitFor(() => (p.stderr.match(/down -> connecting/g) || []).length > n + 2, 5000 * h.slow, 'retries');
      const rss = Number(/VmHWM:\s+(\d+)/.exec(require('node:fs').readFileSync(`/proc/${p.child.pid}/status`, 'utf8'))[1]);
      assert.ok(rss < (process.env.UCGW_WRAP ? 600 : 200) * 1024, `${name}: peak RSS ${rss} kB`);
      assert.equal((await h.request({ port: p.port, path: '/api/v2/diagnostics/version' })).status, 200);
    } finally {
      if (p) assert.equal((await p.stop()).code, 0, p.stderr);
      await fake.close();
    }
  }
});

test('garbage from "Redis" and connections dropped at once are named, and retried', async () => {
  const files = clusterFiles();
  for (const [reply, reason] of [
    [(s) => s.write('garbage\r\n'), /^connection lost: Protocol error, got "g" as reply type byte$/],
    [(s) => s.destroy(), /^connection lost: (Server closed the connection|Connection reset by peer)$/],
    // A reply that starts and never ends: a stall.
    [(s) => s.write('$99999999999\r\nabc'), new RegExp(`^no reply within ${TIMEOUT} ms while connecting \\(cluster\\.timeout_ms\\)$`)],
  ]) {
    const fake = await fakeRedis(reply);
    let p;
    try {
      p = await node({ url: fake.url }, files);
      const j = await h.waitFor(async () => {
        const x = await health(p);
        return x.cluster.reason && reason.test(x.cluster.reason) ? x : null;
      }, 5000 * h.slow, () => `reason ${reason}; stderr:\n${p.stderr.slice(-2000)}`);
      assert.equal(j.status, 'degraded');
      // It keeps trying (back-off), and keeps serving.
      const n = (p.stderr.match(/down -> connecting/g) || []).length;
      await h.waitFor(() => (p.stderr.match(/down -> connecting/g) || []).length > n + 1, 5000 * h.slow, 'retries');
      assert.equal((await h.request({ port: p.port, path: '/api/v2/diagnostics/version' })).status, 200);
    } finally {
      if (p) assert.equal((await p.stop()).code, 0, p.stderr);
      await fake.close();
    }
  }
});
