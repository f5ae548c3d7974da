// cluster_sentinel.test.js: cluster mode on Redis Sentinel (issue 15,
// docs/cluster.md "Redis failover"), with real processes: a Redis master
// and its replica, three redis-server --sentinel (quorum 2), ucwa-sim and
// two ucgw nodes that find the master through the sentinels. The master
// is killed with SIGKILL during a conversation whose both sides keep
// sending: every message arrives once and in order both ways, what needs
// Redis in the window gets 503 never 401 and /healthz says why, and once
// the sentinels promoted the replica the nodes write to it (the replica
// was made to lack the agent's state and the login sessions first: the
// owner writes them all again). Then, with a fake sentinel
// (tests/e2e/lib/sentinel.js): no sentinel reachable, an unknown master
// name, a sentinel naming a replica (ROLE: never written to), the
// sentinels' password, +switch-master while the old master is alive, a
// master turned replica under the node (READONLY), and the sentinel gone
// and back (the master kept, the subscription renewed).
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const h = require('./lib/harness');
const im = require('./lib/im');
const cm = require('./lib/cometd');
const { startRedis, clusterFiles, args, freePort } = require('./lib/redis');
const { startReplica, startSentinels, FakeSentinel } = require('./lib/sentinel');
const {
  PREFIX, sleep, startNode, teardown, waitRegistered, gws, apps, holder, healthz,
} = require('./lib/cluster');

const BOB = im.REMOTES.bob;
const GAP = 40; // ms between two messages of one side

// Two-way exchange, as in cluster_redis_down.test.js: n messages each side.
async function exchange(env, d, s, tag, n) {
  const desk = (async () => {
    for (let i = 0; i < n; i++) {
      const r = await d.op(`/me/im-sessions/${s.id}`, { operationName: 'SendMessage', text: `${tag}-d-${i}` });
      assert.deepEqual(r.json, { statusCode: 0 }, `SendMessage ${tag}-d-${i}: ${r.status} ${r.body}`);
      await sleep(GAP);
    }
  })();
  const remote = (async () => {
    for (let i = 0; i < n; i++) {
      const r = await im.sim(env.sim.port, 'POST', `/remotes/${BOB.id}/message`, { to: 'agent1', text: `${tag}-r-${i}` });
      assert.equal(r.status, 200, `remote ${tag}-r-${i}: ${r.body}`);
      await sleep(GAP);
    }
  })();
  await Promise.all([desk, remote]);
}

const fields = async (r, user) => new Set((await r.cli('HKEYS', `${PREFIX}agent:${user}`)).split('\n').filter(Boolean));

test('Sentinel failover (kill -9 of the master) during a conversation: nothing lost or twice, 503 never 401, the new master written', async () => {
  // A lease longer than the failover: the owner keeps it all along.
  const env = { desks: [], procs: [], nodes: [], ids: ['node-a', 'node-b'], more: [], lease: 6000 * h.slow,
    extra: { 'auth.max_sessions_per_user': 100000 } };
  try {
    const master = await startRedis();
    env.redis = master;
    const replica = await startReplica(master);
    env.more.push(replica);
    const ss = await startSentinels(master, { n: 3, quorum: 2 });
    env.more.push(...ss);
    env.where = () => ({ 'cluster.sentinels': ss.map((s) => s.addr), 'cluster.sentinel_master': 'ucgw' });
    env.files = clusterFiles();
    env.sim = await im.startSim();
    for (const [i, id] of env.ids.entries()) {
      const n = await startNode(env, id);
      n.id = id;
      env.nodes.push(n);
      env[String.fromCharCode(97 + i)] = n;
    }
    for (const n of env.nodes) await waitRegistered(n.port);
    const hz0 = await healthz(env.a.port);
    assert.equal(hz0.cluster.master, `127.0.0.1:${master.port}`, JSON.stringify(hz0));
    assert.match(env.a.stderr, new RegExp(`redis sentinel:ucgw: the master is 127\\.0\\.0\\.1:${master.port}`));

    // A real sentinel does not know "nope": named in /healthz.
    const stray = await im.startGateway(env.sim.port, args({
      'cluster.sentinels': [ss[0].addr], 'cluster.sentinel_master': 'nope', 'cluster.key_file': env.files.key,
      'cluster.backoff_min_ms': 20, 'cluster.backoff_max_ms': 200 }));
    try {
      const hs = await h.waitFor(async () => {
        const j = await healthz(stray.port);
        return j.cluster.reason && /does not know/.test(j.cluster.reason) ? j : null;
      }, 5000 * h.slow, 'the unknown master named');
      assert.equal(hs.cluster.reason, `no sentinel named the master nope: ${ss[0].addr}: does not know a master named nope (cluster.sentinel_master)`);
    } finally {
      assert.equal((await stray.stop()).code, 0);
    }

    const d = await im.desktop(env.a.port, 'agent1');
    env.desks.push(d.client);
    assert.equal(await holder(env, 'agent1'), 'node-a');
    const clientId = d.client.getClientId();
    const login = await gws(env.a.port, '/me', { Authorization: cm.basic('agent1') });
    assert.equal(login.status, 200);
    const cookie = login.headers['set-cookie'][0].split(';')[0];
    const s = await im.talk(d);
    await exchange(env, d, s, 'before', 10);
    await h.waitFor(async () => (await fields(replica, 'agent1')).has(`s:${s.id}`), 5000 * h.slow, 'the session row on the replica');
    const before = await fields(master, 'agent1');

    // The replica lacks the last writes: the agent's hash and the login
    // sessions gone from it (a replica may lag; here it lags in full), its
    // lease kept (renewed all along), so the owner keeps its agent.
    await replica.cli('CONFIG', 'SET', 'replica-read-only', 'no');
    const during = exchange(env, d, s, 'during', 40);
    await sleep(8 * GAP);
    assert.equal(await replica.cli('EVAL', "local n = 0 for _, k in ipairs(redis.call('KEYS', ARGV[1])) do " +
      "n = n + redis.call('DEL', k) end return n + redis.call('DEL', ARGV[2])", '0',
    `${PREFIX}login:*`, `${PREFIX}agent:agent1`) > 1, true);
    await master.kill();
    const killedAt = Date.now();

    // The window: /healthz says why, what needs Redis gets 503 (never 401).
    const hz = await h.waitFor(async () => {
      const j = await healthz(env.a.port);
      return j.status === 'degraded' ? j : null;
    }, 5000 * h.slow, 'Redis seen down');
    assert.equal(hz.cluster.redis, 'unavailable');
    assert.match(hz.cluster.reason, /^(connection lost: |connect: |no sentinel named the master ucgw: )/, JSON.stringify(hz));
    let n503 = 0;
    for (const [n, hd, what] of [[env.a, { Authorization: cm.basic('agent3') }, 'agent3 via node-a'],
      [env.b, { Authorization: cm.basic('agent3') }, 'agent3 via node-b'],
      [env.b, { Cookie: 'JSESSIONID=0123456789abcdef0123456789abcdef' }, 'unknown cookie via node-b'],
      [env.b, { Cookie: cookie }, 'agent1 cookie via node-b']]) {
      const r = await gws(n.port, '/me', hd);
      assert.notEqual(r.status, 401, `${what}: 401 in the failover window: ${r.body}`);
      if (r.status === 503) {
        n503++;
        assert.match(r.headers['retry-after'] || '', /^\d+$/, `${what}: Retry-After`);
      } else {
        assert.equal(r.status, 200, `${what}: ${r.status} ${r.body}`);
        assert.equal((await healthz(n.port)).status, 'ok', `${what}: 200 only once the failover is over`);
      }
    }
    assert.ok(n503 > 0, 'requests in the window were answered 503');

    // The sentinels promote the replica; both nodes follow.
    for (const n of env.nodes) {
      let last;
      await h.waitFor(async () => {
        last = await healthz(n.port);
        return last.status === 'ok' && last.cluster.master === `127.0.0.1:${replica.port}`;
      }, 15000 * h.slow, () => `${n.id} on the new master: ${JSON.stringify(last)}`);
    }
    console.log(`# failover: ${Date.now() - killedAt} ms from kill -9 to both nodes ready on the new master`);
    env.redis = replica; // holder() and teardown
    assert.match(await replica.cli('ROLE'), /^master/);
    await during;
    await exchange(env, d, s, 'after', 10);

    // Every message once, in order, both ways.
    const tags = [['before', 10], ['during', 40], ['after', 10]];
    const want = (side) => tags.flatMap(([t, k]) => Array.from({ length: k }, (_, i) => `${t}-${side}-${i}`));
    await h.waitFor(async () => (await im.sim(env.sim.port, 'GET', `/remotes/${BOB.id}/received`)).json.received
      .filter((e) => e.type === 'message').length >= 60, 10000 * h.slow, 'every desktop message at the remote');
    const atRemote = (await im.sim(env.sim.port, 'GET', `/remotes/${BOB.id}/received`)).json.received
      .filter((e) => e.type === 'message').map((e) => e.text);
    assert.deepEqual(atRemote, want('d'));
    const fromRemote = () => d.im().filter((x) => x.messageType === 'IMLogUpdateMessage' && /-r-\d+$/.test(x.message || ''))
      .map((x) => x.message);
    await h.waitFor(() => fromRemote().length >= 60, 10000 * h.slow, () => `every remote message at the desktop; got ${fromRemote().length}`);
    await sleep(300);
    assert.deepEqual(fromRemote(), want('r'));

    // The new master holds what the replica lacked, written by the nodes.
    let have = new Set();
    await h.waitFor(async () => {
      have = await fields(replica, 'agent1');
      return [...before].every((k) => have.has(k));
    }, 5000 * h.slow, () => `the agent's fields on the new master; have ${[...have]}`);
    assert.equal(await holder(env, 'agent1'), 'node-a');
    for (const k of [`${PREFIX}node:node-a`, `${PREFIX}node:node-b`, `${PREFIX}keycheck`]) {
      assert.equal(await replica.cli('EXISTS', k), '1', `${k} on the new master`);
    }
    assert.equal((await apps(env, 'agent1')).length, 1, 'one UCWA application');
    assert.equal(d.client.getClientId(), clientId, 'the CometD client kept its id');
    // The cookie-only desktop through the other node: its login session written again.
    const viaB = await gws(env.b.port, '/me', { Cookie: cookie });
    assert.equal(viaB.status, 200, `agent1's cookie via node-b after the failover: ${viaB.status} ${viaB.body}`);
    for (const n of env.nodes) {
      const r = await gws(n.port, '/me', { Authorization: cm.basic('agent3') });
      assert.equal(r.status, 200, `agent3 via ${n.id}: ${r.body}`);
    }
    assert.match(env.a.stderr, new RegExp(`the master is 127\\.0\\.0\\.1:${replica.port} \\(was 127\\.0\\.0\\.1:${master.port}\\)`));
  } finally {
    await teardown(env);
  }
});

// A node (no UCWA server needed) finding its Redis through sentinels.
async function fakeNode(files, sentinels, extra = {}) {
  return im.startGateway(await freePort(), args({
    'cluster.sentinels': sentinels, 'cluster.sentinel_master': 'ucgw', 'cluster.key_file': files.key,
    'cluster.node_id': 'n1', 'cluster.lease_ms': 900 * h.slow, 'cluster.timeout_ms': 200 * h.slow,
    'cluster.backoff_min_ms': 20, 'cluster.backoff_max_ms': 200, 'log.level': 'debug', ...extra,
  }));
}

// /healthz of port once pred(cluster part) holds.
function healthWhen(port, pred, what) {
  let last;
  return h.waitFor(async () => {
    last = await healthz(port);
    return pred(last.cluster) ? last : null;
  }, 5000 * h.slow, () => `${what}: ${JSON.stringify(last)}`);
}

// Stop the nodes (each must exit 0, no sanitizer report) and the servers.
async function stopAll(nodes, servers) {
  const codes = [];
  for (const n of nodes) codes.push([n, (await n.stop()).code]);
  for (const s of servers) await s.stop();
  for (const [n, code] of codes) {
    assert.equal(code, 0, n.stderr.slice(-3000));
    assert.doesNotMatch(n.stderr, /Sanitizer|runtime error/);
  }
}

test('Sentinel discovery errors: none reachable, an unknown master name, a sentinel naming a replica (never written to), a wrong sentinel password', async () => {
  const files = clusterFiles();
  const pw = path.join(files.dir, 'sentinel.pass');
  fs.writeFileSync(pw, 'sentinel-secret\n', { mode: 0o600 });
  const bad = path.join(files.dir, 'sentinel.bad');
  fs.writeFileSync(bad, 'not-the-secret\n', { mode: 0o600 });
  const nodes = [];
  const servers = [];
  try {
    const fake = await new FakeSentinel({ password: 'sentinel-secret' }).start();
    servers.push(fake);
    const master = await startRedis();
    servers.push(master);
    const replica = await startReplica(master);
    servers.unshift(replica);
    const dead1 = await freePort();
    const dead2 = await freePort();

    // No sentinel reachable: each named, and what needs Redis gets 503, never 401.
    const none = await fakeNode(files, [`127.0.0.1:${dead1}`, `127.0.0.1:${dead2}`]);
    nodes.push(none);
    const h1 = await healthWhen(none.port, (c) => /^no sentinel/.test(c.reason || ''), 'no sentinel');
    assert.equal(h1.status, 'degraded');
    assert.equal(h1.cluster.reason, `no sentinel named the master ucgw: 127.0.0.1:${dead1}: connect: Connection refused; ` +
      `127.0.0.1:${dead2}: connect: Connection refused`);
    const r = await gws(none.port, '/me', { Authorization: cm.basic('agent3') });
    assert.equal(r.status, 503, r.body);
    assert.match(r.headers['retry-after'] || '', /^\d+$/);

    // A wrong sentinel password: named (never the password).
    const wrong = await fakeNode(files, [fake.addr], { 'cluster.sentinel_password_file': bad });
    nodes.push(wrong);
    const h2 = await healthWhen(wrong.port, (c) => /AUTH/.test(c.reason || ''), 'AUTH refused');
    assert.match(h2.cluster.reason, new RegExp(`^no sentinel named the master ucgw: ${fake.addr}: AUTH refused \\(cluster.sentinel_password_file\\): WRONGPASS`));

    // A dead sentinel then one that does not know the name: both named.
    const n1 = await fakeNode(files, [`127.0.0.1:${dead1}`, fake.addr], { 'cluster.sentinel_password_file': pw });
    nodes.push(n1);
    const h3 = await healthWhen(n1.port, (c) => /does not know/.test(c.reason || ''), 'unknown name');
    assert.equal(h3.cluster.reason, `no sentinel named the master ucgw: 127.0.0.1:${dead1}: connect: Connection refused; ` +
      `${fake.addr}: does not know a master named ucgw (cluster.sentinel_master)`);
    assert.equal(fake.commands[0], 'AUTH ***', fake.commands.join('\n'));
    assert.equal(fake.commands[1], 'SENTINEL get-master-addr-by-name ucgw');

    // The sentinel names a replica: ROLE says so; nothing is written to it.
    await replica.cli('CONFIG', 'RESETSTAT');
    fake.masters.ucgw = ['127.0.0.1', replica.port];
    const h4 = await healthWhen(n1.port, (c) => /ROLE/.test(c.reason || ''), 'a replica named');
    assert.equal(h4.cluster.reason, `127.0.0.1:${replica.port} is not the master (ROLE: slave); asking the sentinels again`);
    assert.equal(h4.cluster.master, `127.0.0.1:${replica.port}`);
    await sleep(300);
    const stats = await replica.cli('INFO', 'commandstats');
    assert.match(stats, /cmdstat_role:/);
    assert.doesNotMatch(stats, /cmdstat_(evalsha|eval|set|del|script|hset|pexpire):/, stats);

    // The master named: ready, registered there.
    fake.masters.ucgw = ['127.0.0.1', master.port];
    await healthWhen(n1.port, (c) => c.redis === 'ready' && c.registered, 'ready on the master');
    assert.equal((await healthz(n1.port)).cluster.master, `127.0.0.1:${master.port}`);
    assert.equal(await master.cli('EXISTS', `${PREFIX}node:n1`), '1');
    assert.ok(fake.commands.includes('SUBSCRIBE +switch-master'), fake.commands.join('\n'));
    for (const n of nodes) assert.doesNotMatch(n.stderr, /sentinel-secret|not-the-secret/);
  } finally {
    await stopAll(nodes, servers);
  }
});

test('Sentinel: +switch-master moves a node off a live master at once; a master turned replica (READONLY) makes it ask again; the sentinel gone and back: the master kept, subscribed again', async () => {
  const files = clusterFiles();
  const nodes = [];
  const servers = [];
  try {
    const fake = await new FakeSentinel().start();
    servers.push(fake);
    const x = await startRedis();
    const y = await startRedis();
    servers.push(x, y);
    fake.masters.ucgw = ['127.0.0.1', x.port];
    const n1 = await fakeNode(files, [fake.addr]);
    nodes.push(n1);
    await healthWhen(n1.port, (c) => c.redis === 'ready' && c.registered && c.master === `127.0.0.1:${x.port}`, 'ready on x');
    await h.waitFor(() => fake.subscribers.size === 1, 5000 * h.slow, 'subscribed');

    // The sentinels move the master while x is alive: the node follows at once.
    fake.masters.ucgw = ['127.0.0.1', y.port];
    const asked = fake.asked;
    const t0 = Date.now();
    fake.switchMaster('ucgw', ['127.0.0.1', x.port], ['127.0.0.1', y.port]);
    await healthWhen(n1.port, (c) => c.redis === 'ready' && c.master === `127.0.0.1:${y.port}`, 'moved to y');
    const ms = Date.now() - t0;
    assert.ok(ms < 1000 * h.slow, `moved in ${ms} ms`);
    assert.equal(fake.asked, asked, 'the announcement was enough: no question asked');
    await h.waitFor(async () => (await y.cli('EXISTS', `${PREFIX}node:n1`)) === '1', 5000 * h.slow, 'registered on y');
    assert.match(n1.stderr, new RegExp(`master ucgw switched from 127\\.0\\.0\\.1:${x.port} to 127\\.0\\.0\\.1:${y.port}`));

    // y becomes x's replica under the node (no announcement): its next write
    // is refused READONLY; the node asks again and goes back to x.
    fake.masters.ucgw = ['127.0.0.1', x.port];
    await y.cli('REPLICAOF', '127.0.0.1', String(x.port));
    await healthWhen(n1.port, (c) => c.redis === 'ready' && c.master === `127.0.0.1:${x.port}`, 'back on x');
    assert.match(n1.stderr, new RegExp(`127\\.0\\.0\\.1:${y.port} answered READONLY \\(a replica now\\); asking the sentinels again`));
    await h.waitFor(async () => (await x.cli('EXISTS', `${PREFIX}node:n1`)) === '1', 5000 * h.slow, 'registered on x');

    // The sentinel goes away: the node keeps its master. Back, it is
    // subscribed to again (after cluster.timeout_ms) and heard.
    await fake.stop();
    await sleep(600 * h.slow);
    const hz = await healthz(n1.port);
    assert.equal(hz.status, 'ok', JSON.stringify(hz));
    assert.equal(hz.cluster.master, `127.0.0.1:${x.port}`);
    await fake.start();
    await h.waitFor(() => fake.subscribers.size === 1, 5000 * h.slow, 'subscribed again');
    await y.cli('REPLICAOF', 'NO', 'ONE');
    fake.masters.ucgw = ['127.0.0.1', y.port];
    fake.switchMaster('ucgw', ['127.0.0.1', x.port], ['127.0.0.1', y.port]);
    await healthWhen(n1.port, (c) => c.redis === 'ready' && c.master === `127.0.0.1:${y.port}`, 'moved to y again');
  } finally {
    await stopAll(nodes, servers);
  }
});
