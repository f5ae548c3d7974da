// cluster_owner.test.js: one owner per agent, any node answers any desktop
// (issue 15 items 3, 5, 6, 7), with real processes: redis-server, ucwa-sim,
// two ucgw nodes in cluster mode and, in the last test, haproxy in front of
// them. A request through the node that does not own its agent is
// forwarded and answered exactly as the owner answers it; two nodes racing
// for a new agent give it one owner and one UCWA application; Redis down
// keeps owned agents working and answers new sign-ins 503 + Retry-After,
// never 401; SIGTERM releases the node's leases and registry entry before
// it exits; a desktop holds a conversation through haproxy, cookie only.
// Each test fails with the ownership step switched off (gws.c not calling
// owner_route): the non-owner would sign the agent in a second time (a
// second application in ucwa-sim), refuse an unknown cookie with 401, and
// no lease key would exist.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');
const im = require('./lib/im');
const cm = require('./lib/cometd');
const {
  LEASE, sleep, startCluster, teardown, gws, apps, holder, noDate, startHaproxy,
} = require('./lib/cluster');

const BOB = im.REMOTES.bob;
const cluster = startCluster;

test('through the non-owner: exactly the owner\'s answer; an IM conversation with CometD on it', async () => {
  const env = await cluster();
  try {
    const da = await im.desktop(env.a.port, 'agent1');
    env.desks.push(da.client);
    assert.equal(await holder(env, 'agent1'), 'node-a');
    const first = await gws(env.a.port, '/me', { Authorization: cm.basic('agent1') });
    assert.equal(first.status, 200);
    const cookie = first.headers['set-cookie'][0].split(';')[0];
    const login = await env.redis.cli('KEYS', 'ucgw:login:*');
    assert.ok(login.split('\n').length >= 1 && /^ucgw:login:[0-9a-f]{64}/.test(login), login);
    assert.equal(login.includes(cookie.split('=')[1]), false, 'the cookie itself is not a key');
    const paths = ['/me?subresources=*', '/me/devices', '/features', '/me/im-sessions',
      '/me/im-sessions?fields=*', '/im-sessions/NOSUCHSESSION', '/me'];
    for (const p of paths) {
      for (const headers of [{ Authorization: cm.basic('agent1'), Cookie: cookie }, { Cookie: cookie }]) {
        const ra = await gws(env.a.port, p, headers);
        const rb = await gws(env.b.port, p, headers);
        assert.equal(rb.status, ra.status, `${p} ${Object.keys(headers)}`);
        assert.equal(rb.body, ra.body, `${p} ${Object.keys(headers)}`);
        assert.deepEqual(noDate(rb.headers), noDate(ra.headers), `${p} ${Object.keys(headers)}`);
      }
    }
    // A wrong password through B: the owner's 401, not B's opinion.
    const bad = await gws(env.b.port, '/me', { Authorization: cm.basic('agent1', 'wrong') });
    const badA = await gws(env.a.port, '/me', { Authorization: cm.basic('agent1', 'wrong') });
    assert.equal(bad.status, badA.status);
    // A state change through B shows on A.
    const nr = await gws(env.b.port, '/me', { Cookie: cookie }, 'POST', { operationName: 'NotReady' });
    assert.deepEqual(nr.json, { statusCode: 0 });
    const me = await gws(env.a.port, '/me?subresources=*', { Cookie: cookie });
    assert.deepEqual(me.json.user.devices[0].userState.state, 'NotReady');

    // A whole desktop on B (REST and the official CometD client, long-polling).
    const db = await im.desktop(env.b.port, 'agent1');
    env.desks.push(db.client);
    await im.sim(env.sim.port, 'POST', `/remotes/${BOB.id}/behaviour`, { reply: true });
    const s = await im.talk(db);
    const from = db.im().length;
    for (const text of ['one via B', 'two via B']) {
      const r = await db.op(`/me/im-sessions/${s.id}`, { operationName: 'SendMessage', text });
      assert.deepEqual(r.json, { statusCode: 0 });
      await db.next((n) => n.messageType === 'IMLogUpdateMessage' && n.message === `echo: ${text}`, from);
    }
    const inc = await im.sim(env.sim.port, 'POST', `/remotes/${BOB.id}/message`, { to: 'agent1', text: 'from bob' });
    assert.equal(inc.status, 200, inc.body);
    await db.next((n) => n.messageType === 'IMLogUpdateMessage' && n.message === 'from bob', from);
    const got = (await im.sim(env.sim.port, 'GET', `/remotes/${BOB.id}/received`)).json.received
      .filter((e) => e.type === 'message').map((e) => e.text);
    assert.deepEqual(got, ['one via B', 'two via B']);
    assert.equal((await apps(env, 'agent1')).length, 1, 'one UCWA application: A\'s');
    assert.equal(await holder(env, 'agent1'), 'node-a');
  } finally {
    await teardown(env);
  }
});

test('two nodes racing for the first requests of the same agents: one owner, one application each', async () => {
  const env = await cluster();
  try {
    const users = ['agent1', 'agent2', 'agent3'];
    const reqs = [];
    for (let round = 0; round < 2; round++) {
      for (const u of users) {
        for (const n of round ? [env.b, env.a] : [env.a, env.b]) {
          reqs.push(gws(n.port, '/me', { Authorization: cm.basic(u) }));
        }
      }
    }
    const rs = await Promise.all(reqs);
    for (const r of rs) assert.equal(r.status, 200, r.body);
    for (const u of users) {
      const ids = new Set(rs.filter((r) => r.json.user.userName === u).map((r) => r.json.user.id));
      assert.equal(ids.size, 1);
      assert.match(await holder(env, u), /^node-[ab]$/);
      assert.equal((await apps(env, u)).length, 1, `one application of ${u}`);
    }
    // And it stays that way: every later request is served by the holder.
    for (const u of users) {
      for (const n of [env.a, env.b]) assert.equal((await gws(n.port, '/me', { Authorization: cm.basic(u) })).status, 200);
      assert.equal((await apps(env, u)).length, 1);
    }
  } finally {
    await teardown(env);
  }
});

test('Redis down: an owned agent keeps working, a new sign-in gets 503 + Retry-After (never 401)', async () => {
  const env = await cluster();
  try {
    const d = await im.desktop(env.a.port, 'agent1');
    env.desks.push(d.client);
    await im.sim(env.sim.port, 'POST', `/remotes/${BOB.id}/behaviour`, { reply: true });
    const s = await im.talk(d);
    const first = await gws(env.a.port, '/me', { Authorization: cm.basic('agent2') });
    assert.equal(first.status, 200);
    const cookie2 = first.headers['set-cookie'][0].split(';')[0];
    await gws(env.a.port, '/me', { Authorization: cm.basic('agent2') }, 'POST', { operationName: 'EndContactCenterSession' });
    await env.redis.kill();
    await h.waitFor(async () => (await h.request({ port: env.a.port, path: '/healthz' })).json.status === 'degraded',
      5000 * h.slow, 'Redis seen down');
    // Longer than the lease: still served from memory.
    await sleep(2 * LEASE);
    const from = d.im().length;
    const r = await d.op(`/me/im-sessions/${s.id}`, { operationName: 'SendMessage', text: 'redis is down' });
    assert.deepEqual(r.json, { statusCode: 0 });
    await d.next((n) => n.messageType === 'IMLogUpdateMessage' && n.message === 'echo: redis is down', from);
    assert.equal((await d.rest('GET', '/me')).status, 200);
    // New sign-ins, through either node, and an unknown cookie: 503 with Retry-After.
    for (const n of [env.a, env.b]) {
      for (const headers of [{ Authorization: cm.basic('agent3') }, { Cookie: cookie2 }]) {
        const x = await gws(n.port, '/me', headers);
        assert.equal(x.status, 503, x.body);
        assert.match(x.headers['retry-after'], /^\d+$/);
      }
    }
    // The owned agent's requests through the other node need Redis: 503, never 401.
    const viaB = await gws(env.b.port, '/me', { Authorization: cm.basic('agent1') });
    assert.equal(viaB.status, 503);
    await env.redis.start();
    const back = await h.waitFor(async () => {
      const x = await gws(env.b.port, '/me', { Authorization: cm.basic('agent3') });
      return x.status === 200 ? x : null;
    }, 10000 * h.slow, 'a sign-in once Redis is back');
    assert.equal(back.json.user.userName, 'agent3');
    // The agent served from memory is A's again.
    await h.waitFor(async () => (await holder(env, 'agent1')) === 'node-a', 5000 * h.slow, 'agent1 re-owned by A');
    const viaB2 = await d.rest('GET', '/me');
    assert.equal(viaB2.status, 200);
    assert.equal((await apps(env, 'agent1')).length, 1);
  } finally {
    await teardown(env);
  }
});

test('SIGTERM on the owner: its leases and registry entry are deleted before it exits; the other node serves at once', async () => {
  const env = await cluster({ lease: 20000 * h.slow });
  try {
    for (const u of ['agent1', 'agent2']) {
      const r = await gws(env.a.port, '/me', { Authorization: cm.basic(u) });
      assert.equal(r.status, 200);
      assert.equal(await holder(env, u), 'node-a');
    }
    assert.equal(await env.redis.cli('EXISTS', 'ucgw:node:node-a'), '1');
    const a = env.a;
    const t0 = Date.now();
    const exit = await a.stop();
    env.a = null;
    assert.equal(exit.code, 0, a.stderr.slice(-3000));
    // Far within the 20 s lease: only a release explains the keys' absence.
    assert.ok(Date.now() - t0 < 10000 * h.slow);
    for (const u of ['agent1', 'agent2']) assert.equal(await env.redis.cli('EXISTS', `ucgw:lease:agent:${u}`), '0');
    assert.equal(await env.redis.cli('EXISTS', 'ucgw:node:node-a'), '0');
    assert.match(a.stderr, /every lease released; leaving the registry/);
    const t1 = Date.now();
    const r = await gws(env.b.port, '/me', { Authorization: cm.basic('agent1') });
    assert.equal(r.status, 200, r.body);
    assert.ok(Date.now() - t1 < 3000 * h.slow, `served after ${Date.now() - t1} ms`);
    assert.equal(await holder(env, 'agent1'), 'node-b');
  } finally {
    await teardown(env);
  }
});

// A raw WebSocket upgrade of agent1's notifications on port with this Origin: 'open' or the status.
function upgrade(port, origin) {
  const WebSocket = require('ws');
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/api/v2/notifications`,
      { headers: { Authorization: cm.basic('agent1') }, origin });
    ws.on('open', () => { ws.close(); resolve('open'); });
    ws.on('unexpected-response', (req, res) => { resolve(res.statusCode); req.destroy(); });
    ws.on('error', (e) => resolve(String(e)));
  });
}

// One sample of a scrape of the node's admin listener (/metrics), as a number.
async function metric(node, name) {
  const r = await h.request({ port: node.portOf(1), path: '/metrics' });
  assert.equal(r.status, 200);
  const line = r.body.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.split(' ')[1]);
}

test('a WebSocket upgrade through the non-owner is tunnelled to the owner: the official client keeps WebSocket', async () => {
  const env = await cluster({ extra: { 'admin.listen': ['http://127.0.0.1:0'] } });
  try {
    assert.equal((await gws(env.a.port, '/me', { Authorization: cm.basic('agent1') })).status, 200);
    // Origins are checked as the desktop sent them: its own host through B, a foreign one refused.
    assert.equal(await upgrade(env.b.port, `http://127.0.0.1:${env.b.port}`), 'open');
    assert.equal(await upgrade(env.b.port, 'http://evil.example'), 403);
    // A desktop on B whose CometD client tries WebSocket first.
    const db = await im.desktop(env.b.port, 'agent1', { websocket: true });
    env.desks.push(db.client);
    assert.equal(db.client.getTransport().type, 'websocket');
    assert.match(env.b.stderr, /websocket of 127\.0\.0\.1:\d+ tunnelled to node node-a/);
    await im.sim(env.sim.port, 'POST', `/remotes/${BOB.id}/behaviour`, { reply: true });
    const s = await im.talk(db);
    const from = db.im().length;
    for (let i = 0; i < 20; i++) {
      assert.deepEqual((await db.op(`/me/im-sessions/${s.id}`, { operationName: 'SendMessage', text: `ws-${i}` })).json, { statusCode: 0 });
    }
    await db.next((n) => n.messageType === 'IMLogUpdateMessage' && n.message === 'echo: ws-19', from);
    const echoes = db.im().slice(from).filter((n) => n.messageType === 'IMLogUpdateMessage' && /^echo: /.test(n.message)).map((n) => n.message);
    assert.deepEqual(echoes, Array.from({ length: 20 }, (_, i) => `echo: ws-${i}`), 'each once, in order, over the tunnel');
    assert.equal(db.client.getTransport().type, 'websocket');
    assert.equal((await apps(env, 'agent1')).length, 1);
    assert.equal(await metric(env.b, 'ucgw_cluster_websocket_tunnels'), 1);
    assert.equal(await metric(env.a, 'ucgw_cluster_websocket_tunnels'), 0);
    assert.equal(await metric(env.a, 'ucgw_cluster_leases'), 1);
    assert.equal(await metric(env.b, 'ucgw_cluster_leases'), 0);
    assert.equal(await metric(env.b, 'ucgw_cluster_redis_up'), 1);
    assert.equal(await metric(env.b, 'ucgw_cluster_forwarded_requests'), 0);
    // The desktop's disconnect closes its socket (the owner closes it): B's tunnel with it.
    await cm.disconnect(db.client);
    const count = (re) => env.b.stderr.split('\n').filter((l) => re.test(l)).length;
    await h.waitFor(() => count(/websocket tunnel to node node-a closed/) === count(/tunnelled to node node-a/),
      5000 * h.slow, () => `tunnels left open:\n${env.b.stderr.split('\n').filter((l) => /tunnel/.test(l)).join('\n')}`);
    assert.equal(await metric(env.b, 'ucgw_cluster_websocket_tunnels'), 0);
  } finally {
    await teardown(env);
  }
});

test('the owner killed under a tunnelled WebSocket: the client reconnects through the same node, which takes the agent over', async () => {
  const env = await cluster({ lease: 1000 * h.slow });
  try {
    assert.equal((await gws(env.a.port, '/me', { Authorization: cm.basic('agent1') })).status, 200);
    const db = await im.desktop(env.b.port, 'agent1', { websocket: true });
    env.desks.push(db.client);
    const clientId = db.client.getClientId();
    await im.sim(env.sim.port, 'POST', `/remotes/${BOB.id}/behaviour`, { reply: true });
    const s = await im.talk(db);
    env.a.child.kill('SIGKILL');
    await env.a.exited;
    env.a = null;
    await h.waitFor(() => /websocket tunnel to node node-a closed: the owner (closed|failed)/.test(env.b.stderr),
      5000 * h.slow, 'the tunnel closed with its owner');
    const from = db.im().length;
    let r;
    for (let i = 0; i < 100; i++) {
      r = await db.op(`/me/im-sessions/${s.id}`, { operationName: 'SendMessage', text: 'after' });
      if (r.status !== 503) break;
      await sleep(100);
    }
    assert.deepEqual(r.json, { statusCode: 0 }, r.body);
    await db.next((n) => n.messageType === 'IMLogUpdateMessage' && n.message === 'echo: after', from);
    assert.equal(db.client.getClientId(), clientId, 'the same CometD client');
    assert.equal(db.client.getTransport().type, 'websocket');
    assert.equal(await holder(env, 'agent1'), 'node-b');
    assert.equal((await apps(env, 'agent1')).length, 1);
  } finally {
    await teardown(env);
  }
});

test('auth.csrf_enforce: the CSRF token a desktop got from one node holds on the node that takes its agent over', async () => {
  const env = await cluster({ extra: { 'auth.csrf_enforce': true } });
  try {
    const first = await gws(env.a.port, '/me', { Authorization: cm.basic('agent1') });
    assert.equal(first.status, 200, first.body);
    const cookie = first.headers['set-cookie'][0].split(';')[0];
    const csrf = first.headers['x-csrf-token'];
    assert.match(csrf, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-a[0-9a-f]{3}-[0-9a-f]{12}$/);
    const ready = (port, token) => gws(port, '/me', { Cookie: cookie, 'X-CSRF-TOKEN': token }, 'POST', { operationName: 'Ready' });
    assert.equal((await ready(env.a.port, csrf)).status, 200);
    const exit = await env.a.stop(); // hands the agent over
    env.a = null;
    assert.equal(exit.code, 0);
    assert.equal((await ready(env.b.port, 'ffffffff-ffff-4fff-afff-ffffffffffff')).status, 403, 'a wrong token');
    const r = await ready(env.b.port, csrf);
    assert.equal(r.status, 200, r.body);
    assert.deepEqual(r.json, { statusCode: 0 });
    assert.equal(await holder(env, 'agent1'), 'node-b');
    assert.equal((await gws(env.b.port, '/me', { Cookie: cookie })).headers['x-csrf-token'], csrf, 'the same token');
  } finally {
    await teardown(env);
  }
});

test('made-up Basic user names from one address: once the address backs off, no more lease keys', async () => {
  const env = await cluster({ extra: { 'auth.throttle_address_after': 3, 'auth.throttle_base_ms': 60000 } });
  try {
    const statuses = [];
    for (let i = 0; i < 12; i++) {
      const r = await gws(env.a.port, '/me', { Authorization: cm.basic(`nobody${i}`, 'guess') });
      statuses.push(r.status);
    }
    const leases = (await env.redis.cli('KEYS', 'ucgw:lease:agent:nobody*')).split('\n').filter((x) => x);
    assert.deepEqual(statuses.slice(0, 4), [401, 401, 401, 401], `${statuses}`);
    assert.ok(statuses.slice(5).every((x) => x === 429), `refused once the address backs off: ${statuses}`);
    assert.ok(leases.length <= 5, `lease keys for made-up names: ${leases.length}`);
    // an agent from another address (through a trusted proxy) is not held back
    const ok = await gws(env.b.port, '/me', { Authorization: cm.basic('agent1'), 'X-Forwarded-For': '192.0.2.7' });
    assert.equal(ok.status, 200, ok.body);
  } finally {
    await teardown(env);
  }
});

test('haproxy round-robin in front of two nodes: a cookie-only desktop holds a conversation', async () => {
  const env = await cluster({ extra: { 'log.level': 'debug' } });
  try {
    const hp = await startHaproxy(env);
    const { port } = hp;
    // Log in with Basic once, then the cookie only.
    const first = await gws(port, '/me?subresources=*', { Authorization: cm.basic('agent1') });
    assert.equal(first.status, 200, first.body);
    const cookie = first.headers['set-cookie'][0].split(';')[0];
    const csrf = first.headers['x-csrf-token'];
    const rest = (method, p, body) => gws(port, p, { Cookie: cookie, 'X-CSRF-TOKEN': csrf }, method, body);
    const notes = [];
    const client = await cm.newClient(port, 'agent1', { cookie });
    env.desks.push(client);
    await cm.handshake(client);
    await cm.subscribe(client, '/v2/me/*', (m) => notes.push(m));
    await cm.connected(client);
    assert.deepEqual((await rest('POST', '/me', { operationName: 'StartContactCenterSession', channels: ['im'] })).json, { statusCode: 0 });
    assert.deepEqual((await rest('POST', '/me', { operationName: 'Ready' })).json, { statusCode: 0 });
    await im.sim(env.sim.port, 'POST', `/remotes/${BOB.id}/behaviour`, { reply: true });
    const imNotes = () => notes.filter((m) => m.channel === '/v2/me/im-sessions').map((m) => m.data);
    const r = await rest('POST', '/me/im-sessions', { operationName: 'InitiateIMSession', destination: { phoneNumber: BOB.phone } });
    assert.deepEqual(r.json, { statusCode: 0 });
    const talking = await h.waitFor(() => imNotes().find((n) => n.notificationType === 'StatusChange' &&
      n.imSession.state === 'Talking'), 10000 * h.slow, 'Talking');
    const id = talking.imSession.id;
    for (let i = 0; i < 6; i++) {
      const x = await rest('POST', `/me/im-sessions/${id}`, { operationName: 'SendMessage', text: `msg ${i}` });
      assert.deepEqual(x.json, { statusCode: 0 }, x.body);
    }
    await h.waitFor(() => imNotes().filter((n) => n.messageType === 'IMLogUpdateMessage' && /^echo: msg \d$/.test(n.message)).length === 6,
      10000 * h.slow, 'six echoes');
    const echoes = imNotes().filter((n) => n.messageType === 'IMLogUpdateMessage' && /^echo: /.test(n.message)).map((n) => n.message);
    assert.deepEqual(echoes, [0, 1, 2, 3, 4, 5].map((i) => `echo: msg ${i}`));
    const got = (await im.sim(env.sim.port, 'GET', `/remotes/${BOB.id}/received`)).json.received
      .filter((e) => e.type === 'message').map((e) => e.text);
    assert.deepEqual(got, [0, 1, 2, 3, 4, 5].map((i) => `msg ${i}`));
    assert.equal((await apps(env, 'agent1')).length, 1);
    // Both nodes took requests; the non-owner forwarded them to the owner.
    const owner = await holder(env, 'agent1');
    const other = owner === 'node-a' ? env.b : env.a;
    assert.match(other.stderr, /forward: POST \/api\/v2\/notifications\S* to node node-[ab] -> 200/);
    assert.match(other.stderr, /forward: POST \/api\/v2\/me\/im-sessions\S* to node node-[ab] -> 200/);
    await cm.disconnect(client);
    hp.proc.kill('SIGTERM');
  } finally {
    await teardown(env);
  }
});
