// cluster_takeover.test.js: a node that owns two agents in live IM
// conversations is killed (SIGKILL) or drained (SIGTERM) while both sides
// keep sending (issue 15 items 5, 6, 8): redis-server, ucwa-sim, two ucgw
// nodes in cluster mode, haproxy in front of them, desktops with the
// official CometD client (long-polling) sending a message every 20 ms, the
// remote party sending one every 20 ms through ucwa-sim's control API.
// After the take-over: every message is delivered exactly once and in
// order both ways (a SendMessage whose request died with the node is sent
// again by the desktop with the same X-Request-Id, and goes once), the desktop keeps its IM
// session id and its CometD clientId (no second handshake), and ucwa-sim
// holds one application per agent. Without the take-over (src/takeover.c
// hooks not installed) the new owner signs the agents in afresh: the
// session ends, the clientId is unknown (a second handshake) and messages
// from the remote are lost.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { spawn } = require('node:child_process');
const h = require('./lib/harness');
const im = require('./lib/im');
const cm = require('./lib/cometd');
const { startRedis, clusterFiles, args, freePort } = require('./lib/redis');
const { haproxyConfig } = require('./lib/cluster');

const LEASE = 1000 * h.slow;
const BOB = im.REMOTES.bob;
const CAROL = im.REMOTES.carol;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// A ucgw node in cluster mode in front of the simulator (on port, when given; more: extra args;
// binary: another ucgw than the build tree's, e.g. a previous release's).
function startNode(env, id, port, redisUrl, more = [], binary = undefined) {
  return im.startGateway(env.sim.port, [...more, ...args({
    ...(port ? { listen: [`http://127.0.0.1:${port}`] } : {}),
    'cluster.redis': redisUrl || env.redis.url,
    'cluster.key_file': env.files.key,
    'cluster.node_id': id,
    'cluster.lease_ms': LEASE,
    'cluster.timeout_ms': 300 * h.slow,
    'cluster.backoff_min_ms': 20,
    'cluster.backoff_max_ms': 200,
    'proxy.trusted': ['127.0.0.1'],
    'cometd.max_interval_ms': 15000,
    'log.level': 'debug',
  })], binary ? { prefix: ['/bin/sh', '-c', 'shift; exec "$0" "$@"', binary] } : {});
}

// Wait until node n is registered.
async function registered(n) {
  await h.waitFor(async () => {
    try { return (await h.request({ port: n.port, path: '/healthz' })).json.cluster.registered; } catch (_) { return false; }
  }, 5000 * h.slow, 'a registered node');
}

// Redis, ucwa-sim, nodes a, b (and c; more: a node's extra args, binary: its ucgw binary when
// not the build tree's), haproxy on env.port.
async function cluster(names = ['a', 'b'], { cutA = false, more = {}, binary = {} } = {}) {
  const env = { procs: [], desks: [], names };
  env.redis = await startRedis();
  env.files = clusterFiles();
  env.sim = await im.startSim();
  if (cutA) { // node a reaches Redis through a proxy the test can cut
    env.cut = await cm.cuttingProxy(Number(env.redis.url.split(':').pop().split('/')[0]));
  }
  for (const k of names) {
    env[k] = await startNode(env, `node-${k}`, 0,
      k === 'a' && env.cut ? `redis://127.0.0.1:${env.cut.port}` : undefined, more[k], binary[k]);
  }
  for (const k of names) await registered(env[k]);
  if (cutA) { // node a knows node b (the registry's answer): whom to ask once it is cut
    await h.waitFor(async () => {
      try { return (await h.request({ port: env.a.port, path: '/healthz' })).json.cluster.peers >= names.length - 1; } catch (_) { return false; }
    }, 5000 * h.slow, 'node a knows the other nodes');
  }
  env.port = await freePort();
  const cfg = path.join(h.tmpdir('ucgw-haproxy-'), 'haproxy.cfg');
  fs.writeFileSync(cfg, haproxyConfig(env.port, names.map((k) => env[k]), { inter: '200ms', log: true }));
  const hp = spawn('/usr/sbin/haproxy', ['-db', '-f', cfg], { stdio: ['ignore', 'pipe', 'pipe'] });
  env.procs.push(hp);
  env.hlog = '';
  hp.stdout.on('data', (x) => { env.hlog += x; });
  hp.stderr.on('data', (x) => { env.hlog += x; });
  await h.waitFor(async () => {
    try { return (await h.request({ port: env.port, path: '/healthz' })).status === 200; } catch (_) { return false; }
  }, 10000 * h.slow, () => `haproxy did not start:\n${env.hlog}`);
  return env;
}

// Stop everything, even after a failure; a node still running must exit 0.
async function teardown(env, killed) {
  for (const d of env.desks) if (d.client) await cm.disconnect(d.client).catch(() => {});
  for (const p of env.procs) { try { p.kill('SIGKILL'); } catch (_) { /* gone */ } }
  const codes = {};
  for (const k of env.names) if (env[k]) codes[k] = (await env[k].stop()).code;
  for (const p of env.stopped || []) codes[`${p.name}-old`] = p.code;
  if (process.env.UCGW_TEST_LOGS) {
    fs.writeFileSync(`${process.env.UCGW_TEST_LOGS}.${env.label || killed || 'term'}.haproxy`, env.hlog || '');
    for (const k of env.names) if (env[k]) fs.writeFileSync(`${process.env.UCGW_TEST_LOGS}.${env.label || killed || 'term'}.${k}`, env[k].stderr);
  }
  if (env.sim) await env.sim.stop();
  if (env.cut) await env.cut.close();
  for (const p of env.closeLater || []) await p.close();
  if (env.redis) await env.redis.stop();
  for (const k of Object.keys(codes)) {
    if (k === killed) continue;
    assert.equal(codes[k], 0, `node ${k} exit:\n${env[k] ? env[k].stderr.slice(-3000) : ''}`);
    if (env[k]) assert.doesNotMatch(env[k].stderr, /Sanitizer|runtime error|ERROR SUMMARY: [1-9]/);
  }
}

// The applications ucwa-sim holds for user.
async function apps(env, user) {
  const st = await im.sim(env.sim.port, 'GET', '/state');
  return st.json.applications.filter((a) => a.user === `sip:agent${im.PHONES[user]}@example.com`);
}

// A SendMessage of d with its X-Request-Id.
function send(d, port, text, rid) {
  return h.request({ port, method: 'POST', path: `/api/v2/me/im-sessions/${d.sid}`,
    headers: { Authorization: cm.basic(d.user), 'Content-Type': 'application/json', 'X-Request-Id': rid },
    body: JSON.stringify({ operationName: 'SendMessage', text }) }).catch((e) => ({ status: 0, body: String(e) }));
}

// One agent's traffic: the desktop sends d<tag>-N, the remote r<tag>-N, every 20 ms each.
// A SendMessage that died with its node (502, or no answer) or was refused for now (503) is
// sent again with the same X-Request-Id until it is answered (t.died counts the deaths).
function traffic(env, d, remote, tag) {
  const t = { sent: [], died: 0, remoteSent: [], errors: [], stop: false };
  t.desk = (async () => {
    for (let n = 0; !t.stop; n++) {
      const text = `d${tag}-${n}`;
      let r;
      for (let tries = 0; ; tries++) {
        r = await send(d, env.port, text, `rid-${tag}-${n}`);
        if (r.status === 502 || r.status === 0) {
          t.died++;
          t.why = `${text}: ${r.status} ${r.body}`;
        } else if (r.status === 503) {
          t.retried = (t.retried || 0) + 1;
        } else break;
        if (tries > 200) break;
        await sleep(r.status === 503 ? Math.max(50, 1000 * Number(r.headers['retry-after'] || 0)) : 50);
      }
      if (r.status === 200 && r.json.statusCode === 0) t.sent.push(text);
      else t.errors.push(`${text}: ${r.status} ${r.body}`);
      await sleep(20);
    }
  })();
  t.remote = (async () => {
    for (let n = 0; !t.stop; n++) {
      const text = `r${tag}-${n}`;
      const r = await im.sim(env.sim.port, 'POST', `/remotes/${remote.id}/message`, { to: d.user, text });
      if (r.status === 200 || r.status === 201 || r.status === 204) t.remoteSent.push(text);
      await sleep(20);
    }
  })();
  return t;
}

// Check one agent's traffic after the take-over: each message once and in order both ways.
async function check(env, d, remote, tag, t, sid, clientId) {
  const inbound = () => d.im().filter((n) => n.messageType === 'IMLogUpdateMessage' &&
    n.message && n.message.startsWith(`r${tag}-`)).map((n) => n.message);
  await h.waitFor(() => t.remoteSent.every((x) => inbound().includes(x)), 15000 * h.slow,
    () => `agent ${d.user}: ${inbound().length} of ${t.remoteSent.length} remote messages notified; ` +
      `missing ${t.remoteSent.filter((x) => !inbound().includes(x)).join(' ')}; ` +
      `twice ${inbound().filter((x, i, v) => v.indexOf(x) !== i).join(' ')}`);
  assert.deepEqual(inbound(), t.remoteSent, `agent ${d.user}: remote messages, each once, in order`);
  const received = async () => (await im.sim(env.sim.port, 'GET', `/remotes/${remote.id}/received`)).json.received
    .filter((e) => e.type === 'message' && e.text.startsWith(`d${tag}-`)).map((e) => e.text);
  await h.waitFor(async () => {
    const have = new Set(await received());
    return t.sent.every((x) => have.has(x));
  }, 15000 * h.slow, `agent ${d.user}: desktop messages missing at the remote`);
  assert.deepEqual(await received(), t.sent, `agent ${d.user}: desktop messages, each once, in order`);
  assert.deepEqual(t.errors, [], `agent ${d.user}: SendMessage errors`);
  for (const n of d.im().filter((x) => x.imSession)) assert.equal(n.imSession.id, sid, 'the session id never changes');
  assert.equal(d.client.getClientId(), clientId, 'the CometD clientId is kept');
  assert.equal(d.client.handshakes.length, 1, 'no second handshake');
  assert.equal((await apps(env, d.user)).length, 1, `one application for ${d.user}`);
  const dev = await d.rest('GET', '/me/devices?fields=*');
  assert.equal(dev.status, 200, dev.body);
  assert.equal(dev.json.devices[0].userState.state, 'Ready', 'the agent is still Ready');
}

// Desktops of agent1 (with bob) and agent2 (with carol) through haproxy, in conversations with
// traffic both ways: the desktops, their Talking sessions, their clientIds, their traffic.
async function converse(env) {
  await im.sim(env.sim.port, 'POST', `/remotes/${BOB.id}/behaviour`, { reply: false });
  await im.sim(env.sim.port, 'POST', `/remotes/${CAROL.id}/behaviour`, { reply: false });
  const d1 = await im.desktop(env.port, 'agent1');
  const d2 = await im.desktop(env.port, 'agent2');
  env.desks.push(d1, d2);
  const s1 = await im.talk(d1, BOB);
  const s2 = await im.talk(d2, CAROL);
  d1.sid = s1.id;
  d2.sid = s2.id;
  return { d1, d2, s1, s2, c1: d1.client.getClientId(), c2: d2.client.getClientId(),
    t1: traffic(env, d1, BOB, 1), t2: traffic(env, d2, CAROL, 2) };
}

// Two agents owned by node a in conversations, then a goes (how), both sides sending throughout.
async function scenario(how) {
  const env = await cluster();
  try {
    // Both agents owned by a: their first request goes to a directly.
    for (const u of ['agent1', 'agent2']) {
      const r = await h.request({ port: env.a.port, path: '/api/v2/me', headers: { Authorization: cm.basic(u) } });
      assert.equal(r.status, 200, r.body);
      assert.equal(await env.redis.cli('GET', `ucgw:lease:agent:${u}`), 'node-a');
    }
    const { d1, d2, s1, s2, c1, c2, t1, t2 } = await converse(env);
    await sleep(1000);
    if (how === 'kill') env.a.child.kill('SIGKILL');
    else env.a.child.kill('SIGTERM');
    await sleep(3000 + LEASE);
    t1.stop = t2.stop = true;
    await Promise.all([t1.desk, t1.remote, t2.desk, t2.remote]);
    assert.equal(await env.redis.cli('GET', 'ucgw:lease:agent:agent1'), 'node-b');
    assert.ok(t1.sent.length > 20 && t1.remoteSent.length > 20, `traffic flowed: ${t1.sent.length} sent, ${t1.remoteSent.length} remote, ${t1.died} died with a node, errors ${t1.errors.slice(0, 5)}`);
    if (t1.died + t2.died > 0) console.log(`# ${how}: ${t1.died + t2.died} SendMessage(s) died with the node and were sent again`);
    await check(env, d1, BOB, 1, t1, s1.id, c1);
    await check(env, d2, CAROL, 2, t2, s2.id, c2);
    if (how === 'term') {
      assert.equal(t1.died + t2.died, 0, 'a drain leaves no request unanswered');
      const a = await env.a.exited;
      assert.equal(a.code, 0, env.a.stderr.slice(-3000));
    }
    assert.match(env.b.stderr, /takeover: agent agent1: carried on from the store/);
  } finally {
    await teardown(env, how === 'kill' ? 'a' : null);
  }
}

test('kill -9 of the owner of two agents in live conversations: nothing lost or duplicated', async () => {
  await scenario('kill');
});

test('SIGTERM of the owner of two agents in live conversations: handed over, nothing lost or duplicated', async () => {
  await scenario('term');
});

test('rolling SIGTERM restart of three nodes under traffic: nothing lost or duplicated, no error', async () => {
  const env = await cluster(['a', 'b', 'c']);
  env.stopped = [];
  env.label = 'rolling';
  try {
    const { d1, d2, s1, s2, c1, c2, t1, t2 } = await converse(env);
    for (const k of env.names) {
      await sleep(800);
      const old = env[k];
      const port = old.port;
      old.child.kill('SIGTERM');
      const ex = await old.exited;
      assert.equal(ex.code, 0, `node ${k} drained cleanly:\n${old.stderr.slice(-3000)}`);
      assert.doesNotMatch(old.stderr, /Sanitizer|runtime error/);
      env.stopped.push({ name: k, code: ex.code });
      if (process.env.UCGW_TEST_LOGS) fs.writeFileSync(`${process.env.UCGW_TEST_LOGS}.rolling.${k}-old`, old.stderr);
      env[k] = await startNode(env, `node-${k}`, port);
      await registered(env[k]);
    }
    await sleep(800);
    t1.stop = t2.stop = true;
    await Promise.all([t1.desk, t1.remote, t2.desk, t2.remote]);
    assert.ok(t1.sent.length > 50 && t1.remoteSent.length > 50, `traffic flowed: ${t1.sent.length}, ${t1.remoteSent.length}`);
    assert.equal(t1.died + t2.died, 0, `no request died with a node: ${t1.why} ${t2.why}`);
    assert.equal((t1.retried || 0) + (t2.retried || 0), 0, 'no 503 reached a desktop');
    await check(env, d1, BOB, 1, t1, s1.id, c1);
    await check(env, d2, CAROL, 2, t2, s2.id, c2);
  } finally {
    await teardown(env, null);
  }
});

// Agent1 owned by node a (its first request went there), its desktop through haproxy, Talking
// with bob, who does not reply.
async function ownedByA(env) {
  const r = await h.request({ port: env.a.port, path: '/api/v2/me', headers: { Authorization: cm.basic('agent1') } });
  assert.equal(r.status, 200, r.body);
  assert.equal(await env.redis.cli('GET', 'ucgw:lease:agent:agent1'), 'node-a');
  await im.sim(env.sim.port, 'POST', `/remotes/${BOB.id}/behaviour`, { reply: false });
  const d1 = await im.desktop(env.port, 'agent1');
  env.desks.push(d1);
  d1.sid = (await im.talk(d1, BOB)).id;
  return d1;
}

// How many of the remote's messages (r<tag>-N) the desktop was notified of.
function inboundCount(d, tag) {
  return d.im().filter((n) => n.messageType === 'IMLogUpdateMessage' && n.message &&
    n.message.startsWith(`r${tag}-`)).length;
}

// Node a is cut from Redis (only a: it still reaches node b, ucwa-sim and the desktops) while
// both sides send every 20 ms; at the same time (cutDesk) the desktop's CometD long-polls stop
// reaching any node until b has taken the agent over (its connect is on neither node: what a fetched from
// UCWA meanwhile cannot reach the desktop through a). Nothing may be lost or duplicated in
// either direction: a finds out from b's /healthz that it alone is cut, holds its event channel
// (UCWA keeps the set a read unacknowledged) and the notifications it could not store, and hands
// the agent over when its lease lapses; b replays the set. Every step waits for a condition
// (no fixed sleep), so that a loaded machine only makes it slower.
// (cutDesk false: the desktop's long-polls go on throughout, through haproxy to either node and
// forwarded to a while it owns the agent: a may notify what it read after the cut, and b must not
// notify it again.)
async function split(cutDesk) {
  const env = await cluster(['a', 'b'], { cutA: true });
  env.label = cutDesk ? 'split' : 'split-polling';
  try {
    // the desktop reaches haproxy through a proxy that can cut its CometD long-polls
    const front = await cm.cuttingProxy(env.port);
    env.closeLater = [front];
    const r = await h.request({ port: env.a.port, path: '/api/v2/me', headers: { Authorization: cm.basic('agent1') } });
    assert.equal(r.status, 200, r.body);
    assert.equal(await env.redis.cli('GET', 'ucgw:lease:agent:agent1'), 'node-a');
    await im.sim(env.sim.port, 'POST', `/remotes/${BOB.id}/behaviour`, { reply: false });
    const d1 = await im.desktop(front.port, 'agent1');
    env.desks.push(d1);
    d1.sid = (await im.talk(d1, BOB)).id;
    const c1 = d1.client.getClientId();
    const t1 = traffic(env, d1, BOB, 1); // SendMessage straight to haproxy (env.port)
    const grown = (what, f, n, ms = 15000) => {
      const from = f();
      return h.waitFor(() => f() >= from + n, ms * h.slow, () => `${what}: ${f() - from} of ${n}`);
    };
    await grown('traffic before the cut', () => Math.min(t1.sent.length, inboundCount(d1, 1)), 10);
    env.cut.refuse = true; // node a loses Redis (only it)
    env.cut.dropAll();
    if (cutDesk) { // and the desktop's long-polls reach no node
      front.refuse = true;
      front.dropAll();
    }
    const cutAt = t1.remoteSent.length;
    await h.waitFor(async () => (await env.redis.cli('GET', 'ucgw:lease:agent:agent1')) === 'node-b',
      15000 * h.slow, 'node-b took the agent over');
    await h.waitFor(() => /agent agent1: (removed|handed over)/.test(env.a.stderr) &&
      /no longer served here|replaced by another process/.test(env.a.stderr),
    15000 * h.slow, 'node a handed the agent over');
    assert.ok(t1.remoteSent.length > cutAt + 10, `the remote sent during the cut: ${t1.remoteSent.length - cutAt}`);
    front.refuse = false; // the desktop's long-polls get through again (to node b)
    await grown('remote messages notified after the take-over', () => inboundCount(d1, 1), 10);
    await grown('desktop messages after the take-over', () => t1.sent.length, 10);
    env.cut.refuse = false; // node a reaches Redis again
    await h.waitFor(async () => {
      try { return (await h.request({ port: env.a.port, path: '/healthz' })).json.cluster.redis === 'ready'; } catch (_) { return false; }
    }, 15000 * h.slow, 'node a reaches Redis again');
    await grown('traffic after node a is back', () => Math.min(t1.sent.length, inboundCount(d1, 1)), 10);
    t1.stop = true;
    await Promise.all([t1.desk, t1.remote]);
    await check(env, d1, BOB, 1, t1, d1.sid, c1);
    assert.equal(await env.redis.cli('GET', 'ucgw:lease:agent:agent1'), 'node-b');
    assert.match(env.a.stderr, /split: this node is cut from Redis while node node-b reaches it/);
    assert.doesNotMatch(env.a.stderr, /signing out \(DELETE application\)/, 'node a never signed the agent out');
    assert.match(env.b.stderr, /takeover: agent agent1: carried on from the store/);
  } finally {
    await teardown(env, null);
  }
}

test('network split: the owner cut from Redis while the desktop\'s long-poll is elsewhere: nothing lost or duplicated either way', async () => {
  await split(true);
});

test('network split: the owner cut from Redis while the desktop keeps polling: nothing lost or duplicated either way', async () => {
  await split(false);
});

// A SendMessage that reaches node a once it knows it is cut from Redis (its row cannot be
// stored): held, not sent to UCWA; when a hands the agent over, it answers 503 (nothing done),
// and the desktop's repeat (same X-Request-Id) goes once, from node b. ucwa-sim holds every
// answer to agent1 meanwhile (slow fault): had a sent it, the 201 would still be due at the
// hand-over (502) and b, which never saw its row, would send it again.
test('network split: a SendMessage on the cut node is held, then sent once by the new owner', async () => {
  const env = await cluster(['a', 'b'], { cutA: true });
  env.label = 'split-send';
  try {
    const d1 = await ownedByA(env);
    env.cut.refuse = true; // node a loses Redis (only it)
    env.cut.dropAll();
    await h.waitFor(() => /split: this node is cut from Redis/.test(env.a.stderr), 15000 * h.slow,
      'node a found it is cut');
    assert.equal((await im.sim(env.sim.port, 'POST', '/users/agent1/faults', { fault: 'slow', delay_ms: 4000 * h.slow })).status, 200);
    const first = send(d1, env.a.port, 'z-1', 'rid-z-1');
    await h.waitFor(() => /agent agent1: (removed|handed over)/.test(env.a.stderr), 15000 * h.slow,
      'node a handed the agent over');
    const r1 = await first;
    assert.equal((await im.sim(env.sim.port, 'DELETE', '/users/agent1/faults')).status, 200);
    const from = d1.im().length;
    const r = await resend(env, d1, 'z-1', 'rid-z-1');
    assert.equal(r.status, 200, r.body);
    assert.equal(r.json.statusCode, 0);
    const own = () => d1.im().slice(from).filter((n) => n.messageType === 'IMLogUpdateMessage' && n.message === 'z-1');
    await h.waitFor(() => own().length >= 1, 10000 * h.slow, 'the desktop notified of z-1');
    assert.deepEqual(await bobGot(env, 'z-'), ['z-1'], 'z-1 once at the remote');
    assert.equal(r1.status, 503, `nothing done on the cut node: ${r1.status} ${r1.body}`);
    assert.equal(await env.redis.cli('GET', 'ucgw:lease:agent:agent1'), 'node-b');
    env.cut.refuse = false;
  } finally {
    await teardown(env, null);
  }
});

// What bob received of the desktop's messages starting with prefix.
async function bobGot(env, prefix) {
  return (await im.sim(env.sim.port, 'GET', `/remotes/${BOB.id}/received`)).json.received
    .filter((e) => e.type === 'message' && e.text.startsWith(prefix)).map((e) => e.text);
}

// Send again through haproxy, with the same X-Request-Id, until answered (not 503).
async function resend(env, d, text, rid) {
  for (let i = 0; i < 200; i++) {
    const r = await send(d, env.port, text, rid);
    if (r.status !== 503 && r.status !== 502 && r.status !== 0) return r;
    await sleep(100);
  }
  throw new Error(`${text}: never answered`);
}

test('a SendMessage whose node dies after UCWA took it: sent again with its X-Request-Id, answered, delivered once', async () => {
  const env = await cluster();
  env.label = 'rid-sent';
  try {
    const d1 = await ownedByA(env);
    // UCWA takes the message at once but holds its 201 (and every other answer to agent1)
    assert.equal((await im.sim(env.sim.port, 'POST', '/users/agent1/faults', { fault: 'slow', delay_ms: 5000 })).status, 200);
    const first = send(d1, env.a.port, 'y-1', 'rid-y-1');
    await h.waitFor(async () => (await bobGot(env, 'y-')).length === 1, 5000 * h.slow, 'bob received y-1');
    env.a.child.kill('SIGKILL');
    assert.equal((await first).status, 0, 'the request died with node a');
    assert.equal((await im.sim(env.sim.port, 'DELETE', '/users/agent1/faults')).status, 200);
    const from = d1.im().length;
    const r = await resend(env, d1, 'y-1', 'rid-y-1');
    assert.equal(r.status, 200, r.body);
    assert.equal(r.json.statusCode, 0);
    // a later SendMessage goes as usual; the repeat of an answered one is answered again
    assert.equal((await resend(env, d1, 'y-2', 'rid-y-2')).status, 200);
    assert.equal((await resend(env, d1, 'y-1', 'rid-y-1')).status, 200);
    await h.waitFor(async () => (await bobGot(env, 'y-')).length >= 2, 5000 * h.slow, 'bob received y-2');
    await sleep(500);
    assert.deepEqual(await bobGot(env, 'y-'), ['y-1', 'y-2'], 'each message once, in order');
    const own = () => d1.im().slice(from).filter((n) => n.messageType === 'IMLogUpdateMessage' && /^y-/.test(n.message || '')).map((n) => n.message);
    await h.waitFor(() => own().length >= 2, 5000 * h.slow, () => `desktop notified ${JSON.stringify(own())}`);
    await sleep(300);
    assert.deepEqual(own().filter((x) => x === 'y-2'), ['y-2']);
    assert.ok(own().filter((x) => x === 'y-1').length <= 1, `y-1 notified at most once: ${own()}`);
    assert.equal(await env.redis.cli('GET', 'ucgw:lease:agent:agent1'), 'node-b');
  } finally {
    await teardown(env, 'a');
  }
});

test('a SendMessage stored but never sent when its node dies: the new owner sends it once, unasked', async () => {
  const env = await cluster(['a', 'b'], { cutA: true });
  env.label = 'rid-unsent';
  try {
    const d1 = await ownedByA(env);
    env.cut.holdOn = 'z-1'; // from its row on, node a's writes reach Redis, their answers never reach a
    const first = send(d1, env.a.port, 'z-1', 'rid-z-1');
    await h.waitFor(() => env.cut.sentHeld.includes('z-1'), 2000 * h.slow, 'the row written');
    await sleep(20);
    env.a.child.kill('SIGKILL'); // before its Redis timeout: the POST was never sent
    assert.equal((await first).status, 0, 'the request died with node a');
    assert.deepEqual(await bobGot(env, 'z-'), [], 'not sent by node a');
    // the desktop does not retry; its next request takes the agent over on node b
    await h.waitFor(async () => (await d1.rest('GET', '/me/im-sessions')).status === 200, 10000 * h.slow, 'taken over');
    await h.waitFor(async () => (await bobGot(env, 'z-')).length > 0, 15000 * h.slow, 'z-1 sent by node b');
    assert.match(env.b.stderr, /a message the previous owner may not have sent: sending it/);
    // its repeat now is answered without sending it again
    const r = await resend(env, d1, 'z-1', 'rid-z-1');
    assert.equal(r.status, 200, r.body);
    await sleep(500);
    assert.deepEqual(await bobGot(env, 'z-'), ['z-1'], 'once');
  } finally {
    await teardown(env, 'a');
  }
});

test('SIGTERM while UCWA holds a SendMessage\'s 201 past the drain\'s wait: 502, nothing leaks, its repeat goes once', async () => {
  const env = await cluster();
  env.label = 'rid-drain';
  try {
    const d1 = await ownedByA(env);
    assert.equal((await im.sim(env.sim.port, 'POST', '/users/agent1/faults', { fault: 'slow', delay_ms: 6000 })).status, 200);
    const first = send(d1, env.a.port, 'w-1', 'rid-w-1');
    await h.waitFor(async () => (await bobGot(env, 'w-')).length === 1, 5000 * h.slow, 'bob received w-1');
    env.a.child.kill('SIGTERM'); // the drain waits 2 s for the 201, then hands the agent over
    const r1 = await first;
    assert.equal(r1.status, 502, `maybe done, not "retry": ${r1.body}`);
    assert.match(r1.json.statusMessage, /may have been done/);
    const ex = await env.a.exited;
    assert.equal(ex.code, 0, `node a drained cleanly, nothing leaked:\n${env.a.stderr.slice(-3000)}`);
    assert.doesNotMatch(env.a.stderr, /Sanitizer|runtime error|ERROR SUMMARY: [1-9]/);
    env.stopped = [{ name: 'a', code: ex.code }];
    env.a = null;
    assert.equal((await im.sim(env.sim.port, 'DELETE', '/users/agent1/faults')).status, 200);
    const r = await resend(env, d1, 'w-1', 'rid-w-1');
    assert.equal(r.status, 200, r.body);
    await sleep(500);
    assert.deepEqual(await bobGot(env, 'w-'), ['w-1'], 'once');
  } finally {
    await teardown(env, null);
  }
});

// ucwa-sim's conversations of user's application (id, state, nextMessage, ...).
async function simConvs(env, user) {
  const st = await im.sim(env.sim.port, 'GET', '/state');
  const app = st.json.applications.find((a) => a.user === `sip:agent${im.PHONES[user]}@example.com`);
  return app ? app.conversations : [];
}

// The invitations bob received.
async function bobInvited(env) {
  return (await im.sim(env.sim.port, 'GET', `/remotes/${BOB.id}/received`)).json.received
    .filter((e) => e.type === 'invitation');
}

// An InitiateIMSession of d to bob through port (a node, or haproxy).
function initiate(d, port) {
  return h.request({ port, method: 'POST', path: '/api/v2/me/im-sessions',
    headers: { Authorization: cm.basic(d.user), 'Content-Type': 'application/json' },
    body: JSON.stringify({ operationName: 'InitiateIMSession', destination: { phoneNumber: BOB.phone } }) })
    .catch((e) => ({ status: 0, body: String(e) }));
}

// agent1's desktop through haproxy, the agent owned by node a, in no session yet.
async function idleOnA(env) {
  const r = await h.request({ port: env.a.port, path: '/api/v2/me', headers: { Authorization: cm.basic('agent1') } });
  assert.equal(r.status, 200, r.body);
  assert.equal(await env.redis.cli('GET', 'ucgw:lease:agent:agent1'), 'node-a');
  await im.sim(env.sim.port, 'POST', `/remotes/${BOB.id}/behaviour`, { reply: false });
  const d1 = await im.desktop(env.port, 'agent1');
  env.desks.push(d1);
  return d1;
}

// The id of agent1's IM session as stored (its row's field s:ID).
async function storedSession(env) {
  const keys = (await env.redis.cli('HKEYS', 'ucgw:agent:agent1')).split(/\s+/).filter((k) => k.startsWith('s:'));
  assert.equal(keys.length, 1, `one session row: ${keys}`);
  return keys[0].slice(2);
}

// After the take-over: the session goes on (a message reaches bob once), one conversation upstream.
async function goesOn(env, d1, sid, text) {
  d1.sid = sid;
  const r = await resend(env, d1, text, `rid-${text}`);
  assert.equal(r.status, 200, r.body);
  assert.equal(r.json.statusCode, 0, r.body);
  await h.waitFor(async () => (await bobGot(env, text)).length > 0, 5000 * h.slow, `bob received ${text}`);
  await sleep(500);
  assert.deepEqual(await bobGot(env, text), [text], 'once');
  assert.equal((await bobInvited(env)).length, 1, 'bob invited once');
  assert.equal((await simConvs(env, 'agent1')).length, 1, 'one conversation upstream');
  assert.equal((await apps(env, 'agent1')).length, 1, 'one application');
}

test('a SendMessage UCWA took, its node killed before the 201, its delivery slower than the settle: delivered once', async () => {
  const env = await cluster();
  env.label = 'slow-delivery';
  const DELIVERY = 9000 * h.slow; // Skype for Business still delivering it long after the take-over
  try {
    const d1 = await ownedByA(env);
    assert.equal((await im.sim(env.sim.port, 'POST', `/remotes/${BOB.id}/behaviour`, { delivery_ms: DELIVERY })).status, 200);
    // UCWA takes the message (its started event queued) and holds every answer to agent1 (201, P-GET)
    assert.equal((await im.sim(env.sim.port, 'POST', '/users/agent1/faults', { fault: 'slow', delay_ms: 5000 })).status, 200);
    const next = (await simConvs(env, 'agent1'))[0].nextMessage;
    const first = send(d1, env.a.port, 'v-1', 'rid-v-1');
    await h.waitFor(async () => (await simConvs(env, 'agent1'))[0].nextMessage > next, 5000 * h.slow, 'UCWA took v-1');
    env.a.child.kill('SIGKILL');
    assert.equal((await first).status, 0, 'the request died with node a');
    assert.equal((await im.sim(env.sim.port, 'DELETE', '/users/agent1/faults')).status, 200);
    const from = d1.im().length;
    // the repeat is answered once node b has UCWA's event about it (started, in the replay)
    const r = await resend(env, d1, 'v-1', 'rid-v-1');
    assert.equal(r.status, 200, r.body);
    assert.equal(r.json.statusCode, 0);
    assert.equal((await resend(env, d1, 'v-2', 'rid-v-2')).status, 200);
    await h.waitFor(() => /settled after the take-over/.test(env.b.stderr), 15000 * h.slow, 'node b settled');
    const settled = Date.now();
    await h.waitFor(async () => (await bobGot(env, 'v-')).length >= 2, DELIVERY + 10000 * h.slow, 'bob received v-1 and v-2');
    // a copy of v-1 sent again at the settle would reach bob DELIVERY ms after it
    await sleep(Math.max(0, settled + DELIVERY + 2000 * h.slow - Date.now()));
    assert.deepEqual(await bobGot(env, 'v-'), ['v-1', 'v-2'], 'each message once, in order');
    const own = d1.im().slice(from).filter((n) => n.messageType === 'IMLogUpdateMessage' && /^v-/.test(n.message || '')).map((n) => n.message);
    assert.deepEqual(own, ['v-1', 'v-2'], 'each delivery notified once');
    assert.match(env.b.stderr, /a message the previous owner sent was taken by Skype for Business/);
    assert.equal(await env.redis.cli('GET', 'ucgw:lease:agent:agent1'), 'node-b');
  } finally {
    await teardown(env, 'a');
  }
});

test('kill -9 between a startMessaging POST and its 201: the new owner finds the conversation by operationId; the session goes on', async () => {
  const env = await cluster();
  env.label = 'start-taken';
  try {
    const d1 = await idleOnA(env);
    const from = d1.im().length;
    // UCWA takes the startMessaging and holds every answer to agent1 (201, P-GET)
    assert.equal((await im.sim(env.sim.port, 'POST', '/users/agent1/faults', { fault: 'slow', delay_ms: 5000 })).status, 200);
    const first = initiate(d1, env.a.port);
    await h.waitFor(async () => (await bobInvited(env)).length === 1, 5000 * h.slow, 'UCWA took the startMessaging');
    env.a.child.kill('SIGKILL');
    assert.equal((await first).status, 0, 'the request died with node a');
    assert.equal((await im.sim(env.sim.port, 'DELETE', '/users/agent1/faults')).status, 200);
    const sid = await storedSession(env);
    // the desktop does not retry; its next request takes the agent over on node b
    await h.waitFor(async () => (await d1.rest('GET', '/me/im-sessions')).status === 200, 10000 * h.slow, 'taken over');
    const s = await d1.state('Talking', from);
    assert.equal(s.id, sid, 'the session the desktop hears of is the one node a made');
    assert.match(env.b.stderr, /its conversation, started by the previous owner, found/);
    await goesOn(env, d1, sid, 'k-1');
  } finally {
    await teardown(env, 'a');
  }
});

test('an InitiateIMSession stored but never posted when its node dies: the new owner starts it once, same session', async () => {
  const env = await cluster(['a', 'b'], { cutA: true });
  env.label = 'start-unsent';
  try {
    const d1 = await idleOnA(env);
    const from = d1.im().length;
    env.cut.holdOn = BOB.uri; // from the session's row on, a's writes reach Redis, their answers never reach a
    const first = initiate(d1, env.a.port);
    await h.waitFor(() => env.cut.sentHeld.includes(BOB.uri), 2000 * h.slow, 'the row written');
    await sleep(20);
    env.a.child.kill('SIGKILL'); // before its Redis timeout: the startMessaging never went
    assert.equal((await first).status, 0, 'the request died with node a');
    assert.equal((await bobInvited(env)).length, 0, 'not started by node a');
    const sid = await storedSession(env);
    await h.waitFor(async () => (await d1.rest('GET', '/me/im-sessions')).status === 200, 10000 * h.slow, 'taken over');
    const s = await d1.state('Talking', from);
    assert.equal(s.id, sid, 'the same session');
    assert.match(env.b.stderr, /its startMessaging never reached Skype for Business: starting it/);
    await goesOn(env, d1, sid, 'm-1');
  } finally {
    await teardown(env, 'a');
  }
});

test('an InitiateIMSession whose row never reached Redis when its node died: never posted; its repeat starts one conversation', async () => {
  const env = await cluster(['a', 'b'], { cutA: true });
  env.label = 'start-unstored';
  try {
    const d1 = await idleOnA(env);
    env.cut.dropOn = BOB.uri; // from the session's row on, a's writes never reach Redis
    const first = initiate(d1, env.a.port);
    await h.waitFor(() => env.cut.sentHeld.includes(BOB.uri), 2000 * h.slow, 'the row on its way');
    await sleep(20);
    env.a.child.kill('SIGKILL'); // before its Redis timeout
    const died = await first;
    await sleep(200);
    assert.equal((await bobInvited(env)).length, 0, 'no startMessaging before its row is in Redis');
    assert.equal(died.status, 0, 'the request died with node a');
    // the desktop sends it again through haproxy: node b takes the agent over and starts it
    const from = d1.im().length;
    let r;
    for (let i = 0; i < 200; i++) {
      r = await initiate(d1, env.port);
      if (r.status !== 503 && r.status !== 502 && r.status !== 0) break;
      await sleep(100);
    }
    assert.equal(r.status, 200, r.body);
    assert.equal(r.json.statusCode, 0, r.body);
    const s = await d1.state('Talking', from);
    await goesOn(env, d1, s.id, 'n-1');
  } finally {
    await teardown(env, 'a');
  }
});

// What user's stored token is, unsealed with the cluster key (docs/cluster.md, "Secrets").
async function storedToken(env, user) {
  const key = `ucgw:agent:${user}`;
  const hex = await env.redis.cli('EVAL', "local s = redis.call('HGET', KEYS[1], 'tok') " +
    "return (s:gsub('.', function(c) return string.format('%02x', c:byte()) end))", '1', key);
  const sealed = Buffer.from(hex.trim(), 'hex');
  const d = crypto.createDecipheriv('aes-256-gcm', env.files.keyBytes, sealed.subarray(1, 13));
  d.setAAD(Buffer.from(`\x01${key}#tok`, 'latin1'));
  d.setAuthTag(sealed.subarray(sealed.length - 16));
  return Buffer.concat([d.update(sealed.subarray(13, sealed.length - 16)), d.final()]);
}

// user's stored UCWA snapshot (u), parsed.
async function storedSnapshot(env, user) {
  const u = await env.redis.cli('HGET', `ucgw:agent:${user}`, 'u');
  return u ? { text: u, json: JSON.parse(u) } : null;
}

// A configuration file setting cluster.write_version (rewritten for a SIGHUP).
function writeVersionFile(v, file = path.join(h.tmpdir('ucgw-wv-'), 'ucgw.conf')) {
  fs.writeFileSync(file, JSON.stringify({ cluster: { write_version: v } }) + '\n');
  return file;
}

// Issue 15, "Upgrading": a rolling upgrade from the previous release (stop 24, which reads
// snapshot versions 1 to 3 and tokens sealed as text). Node a runs this release with
// cluster.write_version 3, as a new node does while old ones remain: it stores u as version 3
// (no "^") and the token as its text. Node a dies; node b takes the agents over from what a
// stored and carries the conversations on: every message once and in order both ways, the
// same IM session and CometD clientId, one application (no new sign-in). Node b is this
// release at its default (5), which then writes version 5 (u's head; the rest in um) and the
// token in binary; or
// (previous) the previous release's binary, which writes version 3 and text.
async function upgrade(previous) {
  const env = await cluster(['a', 'b'], { more: { a: ['-c', writeVersionFile(3)] },
    binary: { b: previous } });
  env.label = previous ? 'upgrade-previous' : 'upgrade';
  let t1;
  let t2;
  try {
    for (const u of ['agent1', 'agent2']) {
      const r = await h.request({ port: env.a.port, path: '/api/v2/me', headers: { Authorization: cm.basic(u) } });
      assert.equal(r.status, 200, r.body);
      assert.equal(await env.redis.cli('GET', `ucgw:lease:agent:${u}`), 'node-a');
    }
    assert.match(env.a.stderr, /cluster: writing the formats of version 3 \(cluster\.write_version\)/);
    const { d1, d2, s1, s2, c1, c2, ...t } = await converse(env);
    ({ t1, t2 } = t);
    await sleep(1000);
    for (const u of ['agent1', 'agent2']) {
      const snap = await storedSnapshot(env, u);
      assert.equal(snap.json.v, 3, snap.text);
      assert.doesNotMatch(snap.text, /"\^/, 'no link under its parent as "^" (unknown to version 3)');
      assert.ok(snap.json.conversations.some((c) => c.state === 'connected'), snap.text);
      const tok = await storedToken(env, u);
      assert.match(tok.toString('latin1'), /^Bearer cwt=[A-Za-z0-9+/_=-]+$/, 'the token sealed as its text');
    }
    env.a.child.kill('SIGKILL');
    await sleep(3000 + LEASE);
    t1.stop = t2.stop = true;
    await Promise.all([t1.desk, t1.remote, t2.desk, t2.remote]);
    assert.equal(await env.redis.cli('GET', 'ucgw:lease:agent:agent1'), 'node-b');
    assert.ok(t1.sent.length > 20 && t1.remoteSent.length > 20, `traffic flowed: ${t1.sent.length} sent, ${t1.remoteSent.length} remote`);
    await check(env, d1, BOB, 1, t1, s1.id, c1);
    await check(env, d2, CAROL, 2, t2, s2.id, c2);
    assert.match(env.b.stderr, /takeover: agent agent1: carried on from the store/);
    assert.match(env.b.stderr, /takeover: agent agent2: carried on from the store/);
    // Node b writes its release's formats: the snapshot at the agent's next change, the
    // token with the take-over's full write.
    for (const u of ['agent1', 'agent2']) {
      assert.equal((await storedSnapshot(env, u)).json.v, previous ? 3 : 5);
      assert.equal((await storedToken(env, u))[0] === 0, !previous, 'the token in binary (this release)');
    }
  } finally {
    if (t1) { // a failure before the traffic stopped: stop it before the processes go
      t1.stop = t2.stop = true;
      await Promise.all([t1.desk, t1.remote, t2.desk, t2.remote]);
    }
    await teardown(env, 'a');
  }
}

test('rolling upgrade: a node writing version 3 (u v3, token as text) is taken over by a node writing version 5: conversations carry on', async () => {
  await upgrade();
});

// The same with node b a previous release's ucgw (UCGW_PREVIOUS_UCGW=/path/to/its/ucgw, built
// from stop 24: see docs/cluster.md, "Upgrading"); skipped without it.
test('rolling upgrade across releases: a previous release\'s node takes over from a node writing version 3', {
  skip: !process.env.UCGW_PREVIOUS_UCGW && 'UCGW_PREVIOUS_UCGW (a previous release\'s ucgw) unset',
}, async () => {
  await upgrade(process.env.UCGW_PREVIOUS_UCGW);
});

// cluster.write_version changes on SIGHUP: from 3 to 4, the agent's next snapshot is version
// 4 (the token keeps its text until it is renewed: see docs/cluster.md, "Upgrading").
test('cluster.write_version 3 -> 4 on SIGHUP: the next snapshot is version 4', async () => {
  const file = writeVersionFile(3);
  const env = await cluster(['a'], { more: { a: ['-c', file] } });
  env.label = 'write-version-hup';
  try {
    const d = await im.desktop(env.port, 'agent1');
    env.desks.push(d);
    await im.sim(env.sim.port, 'POST', `/remotes/${BOB.id}/behaviour`, { reply: false });
    const s = await im.talk(d, BOB);
    const say = async (text) => {
      const r = await d.op(`/me/im-sessions/${s.id}`, { operationName: 'SendMessage', text });
      assert.equal(r.json.statusCode, 0, r.body);
    };
    // Below version 5 a message's writes put the whole row (its state, its remote party), never
    // only the messages, and no message has a field of its own.
    const row = async () => {
      const keys = (await env.redis.cli('HKEYS', 'ucgw:agent:agent1')).split('\n');
      assert.deepEqual(keys.filter((k) => k.startsWith('o:')), [], 'a message in a field of its own');
      return JSON.parse(await env.redis.cli('HGET', 'ucgw:agent:agent1', `s:${s.id}`));
    };
    await say('one');
    await h.waitFor(async () => ((await storedSnapshot(env, 'agent1')) || { json: {} }).json.v === 3,
      5000 * h.slow, 'a version 3 snapshot');
    let r = await row();
    assert.ok(r.st === 2 && r.ru === BOB.uri, JSON.stringify(r));
    writeVersionFile(4, file);
    const before = (env.a.stderr.match(/reload done/g) || []).length;
    env.a.signal_('SIGHUP');
    await h.waitFor(() => (env.a.stderr.match(/reload done/g) || []).length > before, 10000 * h.slow,
      () => `no reload:\n${env.a.stderr.slice(-2000)}`);
    assert.match(env.a.stderr, /cluster: writing the formats of version 4 \(were 3\)/);
    await say('two');
    await h.waitFor(async () => (await storedSnapshot(env, 'agent1')).json.v === 4, 5000 * h.slow,
      'a version 4 snapshot after the reload');
    assert.match((await storedSnapshot(env, 'agent1')).text, /"\^/);
    r = await row();
    assert.ok(r.st === 2 && r.ru === BOB.uri, JSON.stringify(r));
    assert.match((await storedToken(env, 'agent1')).toString('latin1'), /^Bearer cwt=/, 'the token keeps its text until renewed');
  } finally {
    await teardown(env, null);
  }
});
