// cluster_redis_down.test.js: Redis killed (SIGKILL) and restarted empty
// on the same port during a live conversation (issue 15 items 7 and 8),
// with real processes: redis-server, ucwa-sim, two ucgw nodes in cluster
// mode. A desktop on the owner (REST with Basic, the official CometD client
// with the ack extension) and the remote party (ucwa-sim's control API)
// keep sending to each other all along: every message is delivered once,
// in order, both ways. While Redis is down, what needs it (a new agent's
// sign-in, a cookie this node does not know, the owned agent through the
// other node) gets 503 + Retry-After, never 401, and /healthz says why;
// once Redis is back (empty) the owner takes its lease again (never the
// other node), writes its whole state again (the schema of docs/cluster.md)
// and the cluster serves new sign-ins and cookie-only desktops again.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');
const im = require('./lib/im');
const cm = require('./lib/cometd');
const {
  LEASE, PREFIX, sleep, startCluster, startNode, teardown, gws, apps, holder, healthz,
} = require('./lib/cluster');

const BOB = im.REMOTES.bob;
const GAP = 40; // ms between two messages of one side

// A two-way exchange: the desktop sends `${tag}-d-i` and the remote
// `${tag}-r-i`, n each, every GAP ms, both at once; resolves when every
// request was answered (each must succeed).
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

// What must be true of a request that needs Redis while it is down.
function assert503(r, what) {
  assert.notEqual(r.status, 401, `${what}: 401 while Redis is down: ${r.body}`);
  assert.equal(r.status, 503, `${what}: ${r.status} ${r.body}`);
  assert.match(r.headers['retry-after'] || '', /^\d+$/, `${what}: Retry-After`);
}

// The agent's hash fields and the other keys of docs/cluster.md's schema.
async function storeKeys(env, user) {
  const fields = (await env.redis.cli('HKEYS', `${PREFIX}agent:${user}`)).split('\n').filter(Boolean);
  return new Set(fields);
}

test('Redis killed and restarted empty during a conversation: nothing lost, 503 never 401, the state written again', async () => {
  // The desktop's Basic requests without a cookie (REST and CometD) each make
  // a login session: room for them all, so that the cookie-only desktop's
  // session is not evicted as its user's oldest.
  const env = await startCluster({ extra: { 'auth.max_sessions_per_user': 100000 } });
  try {
    const d = await im.desktop(env.a.port, 'agent1');
    env.desks.push(d.client);
    assert.equal(await holder(env, 'agent1'), 'node-a');
    const clientId = d.client.getClientId();
    // A cookie-only desktop (its login session, in Redis) and its CSRF token.
    const login = await gws(env.a.port, '/me', { Authorization: cm.basic('agent1') });
    assert.equal(login.status, 200);
    const cookie = login.headers['set-cookie'][0].split(';')[0];
    const s = await im.talk(d);
    const total = { n: 0 };
    const ex = async (tag, n) => { await exchange(env, d, s, tag, n); total.n += n; };
    await ex('before', 10);
    await h.waitFor(async () => (await storeKeys(env, 'agent1')).has(`s:${s.id}`), 5000 * h.slow, 'the session row stored');
    const before = await storeKeys(env, 'agent1');
    for (const f of ['app', 'ep', 'tok', 'texp', 'turl', 'cred', 'next', `s:${s.id}`, `c:${clientId}`]) {
      assert.ok(before.has(f), `field ${f} stored before; fields: ${[...before]}`);
    }

    // Redis crashes in the middle of an exchange.
    const during = ex('during', 30);
    await sleep(10 * GAP);
    await env.redis.kill();
    const hz = await h.waitFor(async () => {
      const j = await healthz(env.a.port);
      return j.status === 'degraded' ? j : null;
    }, 5000 * h.slow, 'Redis seen down');
    assert.equal(hz.cluster.redis, 'unavailable');
    assert.match(hz.cluster.reason, /^(connect|connection lost): /, JSON.stringify(hz));
    // What needs Redis: 503 + Retry-After on both nodes, never 401.
    for (const n of [env.a, env.b]) {
      assert503(await gws(n.port, '/me', { Authorization: cm.basic('agent3') }), `agent3 sign-in via ${n.id}`);
      assert503(await gws(n.port, '/me', { Cookie: 'JSESSIONID=0123456789abcdef0123456789abcdef' }), `unknown cookie via ${n.id}`);
      const hb = await healthz(n.port);
      assert.equal(hb.cluster.redis, 'unavailable', `${n.id}: ${JSON.stringify(hb)}`);
    }
    assert503(await gws(env.b.port, '/me', { Cookie: cookie }), 'agent1 cookie via node-b');
    assert503(await gws(env.b.port, '/me', { Authorization: cm.basic('agent1') }), 'agent1 Basic via node-b');
    await during;
    // Longer than the lease: the owner goes on from memory.
    await sleep(Math.max(0, 2 * LEASE));
    await ex('down', 10);
    const own = await gws(env.a.port, '/me', { Cookie: cookie });
    assert.equal(own.status, 200, `the cookie on its own node: ${own.body}`);

    // Redis back, empty, on the same port, in the middle of an exchange.
    const back = ex('back', 30);
    await sleep(5 * GAP);
    await env.redis.start();
    await back;
    await h.waitFor(async () => (await holder(env, 'agent1')) === 'node-a', 5000 * h.slow, 'agent1 re-owned by node-a');
    for (const n of env.nodes) {
      await h.waitFor(async () => (await healthz(n.port)).status === 'ok', 5000 * h.slow, `${n.id} ok again`);
    }
    await ex('after', 10);

    // Every message once, in order, both ways.
    const tags = [['before', 10], ['during', 30], ['down', 10], ['back', 30], ['after', 10]];
    const want = (side) => tags.flatMap(([t, n]) => Array.from({ length: n }, (_, i) => `${t}-${side}-${i}`));
    await h.waitFor(async () => {
      const got = (await im.sim(env.sim.port, 'GET', `/remotes/${BOB.id}/received`)).json.received;
      return got.filter((e) => e.type === 'message').length >= want('d').length;
    }, 10000 * h.slow, 'every desktop message at the remote');
    const atRemote = (await im.sim(env.sim.port, 'GET', `/remotes/${BOB.id}/received`)).json.received
      .filter((e) => e.type === 'message').map((e) => e.text);
    assert.deepEqual(atRemote, want('d'));
    const fromRemote = () => d.im().filter((n) => n.messageType === 'IMLogUpdateMessage' && /-r-\d+$/.test(n.message || ''))
      .map((n) => n.message);
    await h.waitFor(() => fromRemote().length >= want('r').length, 10000 * h.slow,
      () => `every remote message at the desktop; got ${fromRemote().length}`);
    await sleep(300);
    assert.deepEqual(fromRemote(), want('r'));
    assert.equal(total.n, 90);

    // The state written again, in full, under the lease node-a kept.
    await h.waitFor(async () => {
      const f = await storeKeys(env, 'agent1');
      return [...before].every((k) => f.has(k));
    }, 5000 * h.slow, async () => `the agent's fields again; have ${[...(await storeKeys(env, 'agent1'))]}`);
    for (const k of [`${PREFIX}agent:agent1`, `${PREFIX}node:node-a`, `${PREFIX}node:node-b`, `${PREFIX}keycheck`]) {
      assert.equal(await env.redis.cli('EXISTS', k), '1', `${k} written again`);
      assert.ok(Number(await env.redis.cli('PTTL', k)) > 0, `${k} has an expiry`);
    }
    assert.equal(await holder(env, 'agent1'), 'node-a');
    assert.doesNotMatch(env.b.stderr, /agent agent1: owned by this node now/);
    assert.equal((await apps(env, 'agent1')).length, 1, 'one UCWA application');
    assert.equal(d.client.getClientId(), clientId, 'the CometD client kept its id');

    // The cluster serves what needs Redis again: a new sign-in through
    // either node, and the cookie-only desktop through the other node.
    for (const n of env.nodes) {
      const r = await gws(n.port, '/me', { Authorization: cm.basic('agent3') });
      assert.equal(r.status, 200, `agent3 via ${n.id}: ${r.body}`);
    }
    const viaB = await gws(env.b.port, '/me', { Cookie: cookie });
    assert.equal(viaB.status, 200, `agent1's cookie via node-b after the restart: ${viaB.status} ${viaB.body}`);
    assert.equal(viaB.json.user.userName, 'agent1');
  } finally {
    await teardown(env);
  }
});

test('Redis killed and restarted empty within the lease: the owner keeps its agent and writes its state again', async () => {
  const env = await startCluster({ extra: { 'auth.max_sessions_per_user': 100000 } });
  try {
    const d = await im.desktop(env.a.port, 'agent1');
    env.desks.push(d.client);
    const s = await im.talk(d);
    await exchange(env, d, s, 'before', 5);
    await h.waitFor(async () => (await storeKeys(env, 'agent1')).has(`s:${s.id}`), 5000 * h.slow, 'the session row stored');
    const before = await storeKeys(env, 'agent1');
    const during = exchange(env, d, s, 'during', 30);
    await sleep(5 * GAP);
    await env.redis.kill();
    await env.redis.start();
    await during;
    await exchange(env, d, s, 'after', 10);
    const tags = [['before', 5], ['during', 30], ['after', 10]];
    const want = (side) => tags.flatMap(([t, n]) => Array.from({ length: n }, (_, i) => `${t}-${side}-${i}`));
    await h.waitFor(async () => (await im.sim(env.sim.port, 'GET', `/remotes/${BOB.id}/received`)).json.received
      .filter((e) => e.type === 'message').length >= 45, 10000 * h.slow, 'every desktop message at the remote');
    const atRemote = (await im.sim(env.sim.port, 'GET', `/remotes/${BOB.id}/received`)).json.received
      .filter((e) => e.type === 'message').map((e) => e.text);
    assert.deepEqual(atRemote, want('d'));
    const fromRemote = () => d.im().filter((n) => n.messageType === 'IMLogUpdateMessage' && /-r-\d+$/.test(n.message || ''))
      .map((n) => n.message);
    await h.waitFor(() => fromRemote().length >= 45, 10000 * h.slow, () => `every remote message at the desktop; got ${fromRemote()}`);
    await sleep(300);
    assert.deepEqual(fromRemote(), want('r'));
    await h.waitFor(async () => {
      const f = await storeKeys(env, 'agent1');
      return [...before].every((k) => f.has(k));
    }, 5000 * h.slow, async () => `the agent's fields again; have ${[...(await storeKeys(env, 'agent1'))]}`);
    assert.equal(await holder(env, 'agent1'), 'node-a');
    // The renewal found the key gone with Redis's data: taken again, never removed.
    assert.match(env.a.stderr, /owner: agent agent1: .*; taking its lease again if free/);
    assert.doesNotMatch(env.a.stderr, /no longer served here|agent agent1: removed/);
    assert.doesNotMatch(env.b.stderr, /agent agent1: owned by this node now/);
    assert.equal((await apps(env, 'agent1')).length, 1, 'one UCWA application');
  } finally {
    await teardown(env);
  }
});

test('at start, requests that need Redis wait for the first connection instead of failing at once', async () => {
  const env = await startCluster({ ids: [] });
  try {
    // Redis stopped: the node's first connection attempt hangs in its handshake.
    env.redis.signal('SIGSTOP');
    const n = await startNode(env, 'node-a', { lease: 9000 * h.slow, timeout: 2000 * h.slow });
    n.id = 'node-a';
    env.ids.push('node-a');
    env.nodes.push(n);
    env.a = n;
    const hz = await healthz(n.port);
    assert.equal(hz.cluster.reason, 'not connected yet', JSON.stringify(hz));
    const t0 = Date.now();
    const pending = [
      gws(n.port, '/me', { Authorization: cm.basic('agent1') }),
      gws(n.port, '/me', { Cookie: 'JSESSIONID=0123456789abcdef0123456789abcdef' }),
    ];
    await sleep(300);
    env.redis.signal('SIGCONT');
    const [me, unknown] = await Promise.all(pending);
    assert.equal(me.status, 200, `a sign-in during the first connection: ${me.body}`);
    assert.equal(me.json.user.userName, 'agent1');
    assert.ok(Date.now() - t0 >= 250, 'answered once Redis answered');
    // Redis answered: the cookie is unknown there too, so authentication refuses it.
    assert.equal(unknown.status, 401, unknown.body);
    assert.equal(await holder(env, 'agent1'), 'node-a');
  } finally {
    await teardown(env);
  }
});
