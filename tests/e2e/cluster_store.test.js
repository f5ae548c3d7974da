// cluster_store.test.js: the agent state a node writes to Redis in cluster
// mode (src/store.c), with a real redis-server, ucwa-sim and one ucgw:
// after sign-in and a conversation the agent's keys exist with expiries and
// hold the application, token, credentials, cursor and session row; no
// secret (password, token, cookie) is anywhere in Redis in clear; a write is
// refused while another node id holds the agent's lease (the state stays
// untouched) and the whole state is written again once the lease is back;
// the memory per agent is measured. With the store driver (tests/store-drive):
// store_load round trips, the capped notification list, acknowledgements,
// corrupt or moved values refused with a clear error, a Redis restarted
// empty written again, and a dropped agent's keys deleted.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const crypto = require('node:crypto');
const { spawn } = require('node:child_process');
const h = require('./lib/harness');
const im = require('./lib/im');
const cm = require('./lib/cometd');
const { startRedis, clusterFiles, args } = require('./lib/redis');

const LEASE = 900 * h.slow;
const TIMEOUT = 200 * h.slow;
const PREFIX = 'st:';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function clusterArgs(redis, files, o = {}) {
  return args({
    'cluster.redis': redis.url,
    'cluster.key_file': files.key,
    'cluster.prefix': PREFIX,
    'cluster.lease_ms': LEASE,
    'cluster.timeout_ms': TIMEOUT,
    'cluster.backoff_min_ms': 20,
    'cluster.backoff_max_ms': 200,
    'log.level': 'debug',
    ...o,
  });
}

// ucgw in cluster mode in front of the sim, once registered (Redis ready, key checked):
// a desktop's first request may need Redis for its agent's lease.
async function startNode(simPort, argv) {
  const gw = await im.startGateway(simPort, argv);
  await h.waitFor(async () => (await h.request({ port: gw.port, path: '/healthz' })).json.cluster.registered,
    5000 * h.slow, 'a registered node');
  return gw;
}

// Every key with its type, expiry and values (binary-safe enough: latin1).
async function dump(redis) {
  const keys = (await redis.cli('--scan', '--pattern', '*')).split('\n').filter(Boolean);
  const out = {};
  for (const k of keys) {
    const type = await redis.cli('TYPE', k);
    const pttl = Number(await redis.cli('PTTL', k));
    let values;
    if (type === 'string') values = [await redis.cli('GET', k)];
    else if (type === 'hash') values = (await redis.cli('HGETALL', k)).split('\n');
    else if (type === 'list') values = (await redis.cli('LRANGE', k, '0', '-1')).split('\n');
    else values = [];
    out[k] = { type, pttl, values };
  }
  return out;
}

// The agent's hash as an object (field → value; sealed values, binary, by their length).
async function agentHash(redis, user) {
  const key = `${PREFIX}agent:${user}`;
  const o = {};
  for (const f of (await redis.cli('HKEYS', key)).split('\n').filter(Boolean)) {
    o[f] = f === 'tok' || f === 'cred' ? Number(await redis.cli('HSTRLEN', key, f)) : await redis.cli('HGET', key, f);
  }
  return o;
}

test('ucgw writes the agent state under its lease, sealed, with expiries; fenced when the lease is not its own', async (t) => {
  const redis = await startRedis();
  const files = clusterFiles();
  const env = {};
  try {
    // The node takes agent1's lease itself (owner.c). The lease is long, so that the
    // fencing below (the lease overwritten by hand, then given back) is over before the
    // owner's next renewal would notice and let the agent go: it is the store's own guard
    // for that window that is tested.
    env.sim = await im.startSim();
    env.gw = await startNode(env.sim.port, clusterArgs(redis, files,
      { 'cluster.node_id': 'gw1', 'cluster.lease_ms': 60000 * h.slow, 'cluster.timeout_ms': 2000 * h.slow }));
    const d = await im.desktop(env.gw.port, 'agent1');
    env.desks = { agent1: d };
    const me = await d.rest('GET', '/me');
    const cookies = [].concat(me.headers['set-cookie'] || []).map((c) => c.split(';')[0].split('=').slice(1).join('='));
    const s = await im.talk(d, im.REMOTES.bob, { caseId: 'C-77' });
    const from = d.im().length;
    const sent = await d.op(`/me/im-sessions/${s.id}`, { operationName: 'SendMessage', text: 'hello store' });
    assert.equal(sent.json.statusCode, 0);
    await d.next((n) => n.messageType === 'IMLogUpdateMessage', from);

    // What a SendMessage costs Redis: each of the store's scripts sets its fields with one
    // HSET, and none sets the hash's expiry (the record's first write did; the refresh comes
    // every third of cluster.state_ttl_ms). The lease (60 s) is not renewed in this window.
    await sleep(300 * h.slow);
    await redis.cli('CONFIG', 'RESETSTAT');
    for (let i = 0; i < 3; i++) {
      const at = d.im().length;
      const r = await d.op(`/me/im-sessions/${s.id}`, { operationName: 'SendMessage', text: `cost ${i}` });
      assert.equal(r.json.statusCode, 0);
      await d.next((n) => n.messageType === 'IMLogUpdateMessage', at);
    }
    await sleep(300 * h.slow);
    const stats = {};
    for (const m of (await redis.cli('INFO', 'commandstats')).matchAll(/cmdstat_(\w+):calls=(\d+)/g)) stats[m[1]] = Number(m[2]);
    t.diagnostic(`Redis commands for 3 SendMessages: ${JSON.stringify(stats)}`);
    assert.ok(stats.evalsha >= 3, `EVALSHA ${stats.evalsha}`);
    assert.ok((stats.hset || 0) <= stats.evalsha, `HSET ${stats.hset} in ${stats.evalsha} scripts`);
    // The only expiries: those of notification lists made again (emptied by acknowledgements).
    assert.ok((stats.pexpire || 0) <= (stats.rpush || 0), `PEXPIRE ${stats.pexpire}, RPUSH ${stats.rpush}`);

    const hk = `${PREFIX}agent:agent1`;
    let lastHash = {};
    const a = await h.waitFor(async () => {
      const o = await agentHash(redis, 'agent1');
      lastHash = o;
      return o.app && o.next && o.u && o[`s:${s.id}`] ? o : null;
    }, 5000 * h.slow, () => `the agent hash with application, cursor and session row: ${
      JSON.stringify(Object.keys(lastHash))}; ucgw log:\n${env.gw.stderr.split('\n').filter((l) => !/DEBUG ucgw: (http|cometd)/.test(l)).slice(-60).join('\n')}`);
    assert.match(a.app, /^http:\/\/127\.0\.0\.1:\d+\/.*applications\//);
    assert.match(a.ep, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.match(a.next, /events/);
    assert.ok(Number(a.texp) > Date.now(), `token expiry ${a.texp}`);
    assert.match(a.turl, /^http/);
    // Sealed: version, nonce and tag around the token and the password; the token (sim tokens:
    // "cwt=" and 60 characters of base64) in binary: 3 bytes, "Bearer cwt=", the 45 bytes decoded.
    assert.equal(a.tok, 29 + 3 + 'Bearer cwt='.length + 45);
    assert.equal(a.cred, cm.AGENTS.agent1.length + 29);
    // The UCWA snapshot, version 4's layout: a conversation's links under it as "^", the token's
    // expiry left to texp; at write version 5 ("v":5) what changes with each message (the marks,
    // the messages) in um, the rest in u.
    const u = JSON.parse(a.u);
    assert.equal(u.v, 5);
    assert.equal(u.marks, undefined);
    assert.ok(Array.isArray(JSON.parse(a.um).msgs), a.um);
    assert.equal(u.tokenExpires, undefined);
    assert.match(u.application, /^\^\/\d+$/);
    assert.equal(u.conversations[0].sendMessage, '^/messaging/messages');
    const row = JSON.parse(a[`s:${s.id}`]);
    assert.equal(row.id, s.id);
    assert.equal(row.st, 2); // Talking
    assert.match(row.cv, /conversations\//);
    assert.deepEqual(row.ud, [['caseId', '"C-77"']]);
    assert.equal(row.ru, im.REMOTES.bob.uri);

    // Every key of the store has an expiry within cluster.state_ttl_ms (the lease was set by hand).
    const all = await dump(redis);
    for (const [k, v] of Object.entries(all)) {
      if (k === `${PREFIX}lease:agent:agent1` || k === `${PREFIX}keycheck` || k.startsWith(`${PREFIX}login:`) ||
        k.startsWith(`${PREFIX}node:`)) continue; // not the store's (owner.c's, cluster.c's)
      assert.ok(v.pttl > 0 && v.pttl <= 3600000, `${k}: PTTL ${v.pttl}`);
    }
    assert.ok(all[hk], 'the agent hash exists');
    // No secret in clear anywhere: the password, the token, the cookies.
    const everything = JSON.stringify(all);
    assert.equal(everything.includes(cm.AGENTS.agent1), false, 'the password is in Redis in clear');
    assert.equal(everything.includes('cwt='), false, 'a UCWA token is in Redis in clear');
    assert.equal(everything.includes('Bearer'), false, 'a UCWA token is in Redis in clear');
    for (const c of cookies) if (c.length >= 8) assert.equal(everything.includes(c), false, 'a cookie is in Redis');

    // Memory per signed-in agent with one live session.
    const mem = Number(await redis.cli('MEMORY', 'USAGE', hk, 'SAMPLES', '0'));
    t.diagnostic(`Redis memory of agent1 with one session: ${mem} bytes`);
    assert.ok(mem > 0 && mem <= 4096, `MEMORY USAGE ${mem}`);

    // Fencing: another node holds the lease: nothing of agent1 changes any more.
    await redis.cli('SET', `${PREFIX}lease:agent:agent1`, 'gw2');
    const before = await redis.cli('HGETALL', hk);
    const from2 = d.im().length;
    const r2 = await d.op(`/me/im-sessions/${s.id}`, { operationName: 'SendMessage', text: 'while fenced' });
    assert.equal(r2.json.statusCode, 0);
    await d.next((n) => n.messageType === 'IMLogUpdateMessage', from2);
    await h.waitFor(() => /store: agent agent1 not written: lease agent:agent1 held by gw2/.test(env.gw.stderr),
      5000 * h.slow, 'the fenced write logged');
    await new Promise((r) => setTimeout(r, 300 * h.slow));
    assert.equal(await redis.cli('HGETALL', hk), before, 'a fenced write changed the state');

    // The lease back: the next write puts the whole state again (the missed changes too).
    await redis.cli('SET', `${PREFIX}lease:agent:agent1`, 'gw1');
    const from3 = d.im().length;
    await d.op(`/me/im-sessions/${s.id}`, { operationName: 'SendMessage', text: 'owner again' });
    await d.next((n) => n.messageType === 'IMLogUpdateMessage', from3);
    await h.waitFor(async () => (await redis.cli('HGETALL', hk)) !== before, 5000 * h.slow, 'written again');

    // Complete: the row goes; sign-out: the agent's keys go.
    await d.op(`/me/im-sessions/${s.id}`, { operationName: 'Complete' });
    await h.waitFor(async () => !(await agentHash(redis, 'agent1'))[`s:${s.id}`], 5000 * h.slow, 'the row deleted');
    await d.logout();
    env.desks = {};
    await h.waitFor(async () => (await redis.cli('EXISTS', hk)) === '0', 5000 * h.slow, 'the agent hash deleted at sign-out');
  } finally {
    await im.teardown(env);
    await redis.stop();
  }
});

test('CometD clients: stored with their subscriptions; unacknowledged notifications capped, acknowledged ones removed', async () => {
  const redis = await startRedis();
  const files = clusterFiles();
  const env = {};
  try {
    await redis.cli('SET', `${PREFIX}lease:agent:agent1`, 'gw1');
    env.sim = await im.startSim();
    env.gw = await startNode(env.sim.port,
      clusterArgs(redis, files, { 'cluster.node_id': 'gw1', 'cluster.max_unacked': 3 }));
    const d = await im.desktop(env.gw.port, 'agent1');
    env.desks = { agent1: d };
    // A second client that subscribes and never connects: nothing it is sent is acknowledged.
    const raw = await cm.rawHandshake(env.gw.port, 'agent1', { ack: true });
    const sub = await cm.bayeux(env.gw.port, [{ channel: '/meta/subscribe', clientId: raw, subscription: '/v2/me/*' }]);
    assert.equal(sub.json[0].successful, true, sub.body);
    const s = await im.talk(d);
    for (const text of ['one', 'two', 'three']) {
      const from = d.im().length;
      await d.op(`/me/im-sessions/${s.id}`, { operationName: 'SendMessage', text });
      await d.next((n) => n.messageType === 'IMLogUpdateMessage' && n.message === text, from);
    }
    const hk = `${PREFIX}agent:agent1`;
    const q = `${PREFIX}q:agent1:${raw}`;
    assert.equal(await redis.cli('HGET', hk, `c:${raw}`), '{"s":["/v2/me/*"]}');
    const official = d.client.getClientId();
    assert.equal(await redis.cli('HGET', hk, `c:${official}`), '{"s":["/v2/me/*"]}');
    // At least 5 notifications (Initiating, Talking, three messages) went to the raw client: 3 kept, the newest.
    assert.ok(d.im().length >= 5, `${d.im().length} notifications`);
    await h.waitFor(async () => (await redis.cli('LLEN', q)) === '3', 5000 * h.slow, 'the capped list');
    const items = (await redis.cli('LRANGE', q, '0', '-1')).split('\n');
    const ids = items.map((v) => Number(v.split(' ')[0]));
    assert.deepEqual(ids, [ids[0], ids[0] + 1, ids[0] + 2]);
    assert.ok(ids[0] >= 3, `ids ${ids}`);
    const last = JSON.parse(items[2].slice(items[2].indexOf(' ') + 1));
    assert.equal(last.channel, '/v2/me/im-sessions');
    assert.equal(last.data.message, 'three');
    assert.ok(Number(await redis.cli('PTTL', q)) > 0);
    // The desktop's own client acknowledges (ack extension): its list empties.
    await h.waitFor(async () => (await redis.cli('LLEN', `${PREFIX}q:agent1:${official}`)) === '0', 5000 * h.slow,
      'the acknowledged notifications removed');
    // A client that leaves: its field and list go.
    await cm.bayeux(env.gw.port, [{ channel: '/meta/disconnect', clientId: raw }]);
    await h.waitFor(async () => (await redis.cli('EXISTS', q)) === '0' && (await redis.cli('HEXISTS', hk, `c:${raw}`)) === '0',
      5000 * h.slow, 'the client removed');
  } finally {
    await im.teardown(env);
    await redis.stop();
  }
});

test('a restored client whose unacknowledged notifications were capped in Redis is told it fell behind, not given a hole', async () => {
  const redis = await startRedis();
  const files = clusterFiles();
  const env = {};
  try {
    env.sim = await im.startSim();
    env.gw = await startNode(env.sim.port,
      clusterArgs(redis, files, { 'cluster.node_id': 'gw1', 'cluster.max_unacked': 3 }));
    const d = await im.desktop(env.gw.port, 'agent1');
    // A client with the ack extension that subscribes and never connects: its notifications pile up.
    const raw = await cm.rawHandshake(env.gw.port, 'agent1', { ack: true });
    const sub = await cm.bayeux(env.gw.port, [{ channel: '/meta/subscribe', clientId: raw, subscription: '/v2/me/*' }]);
    assert.equal(sub.json[0].successful, true, sub.body);
    const s = await im.talk(d);
    for (const text of ['one', 'two', 'three']) {
      const from = d.im().length;
      await d.op(`/me/im-sessions/${s.id}`, { operationName: 'SendMessage', text });
      await d.next((n) => n.messageType === 'IMLogUpdateMessage' && n.message === text, from);
    }
    const q = `${PREFIX}q:agent1:${raw}`;
    await h.waitFor(async () => (await redis.cli('LLEN', q)) === '3', 5000 * h.slow, 'the capped list');
    const first = Number((await redis.cli('LINDEX', q, '0')).split(' ')[0]);
    assert.ok(first > 1, `the first stored id ${first}: some were dropped`);
    await cm.disconnect(d.client).catch(() => {});
    env.desks = {};
    env.gw.child.kill('SIGKILL');
    await env.gw.stop();
    env.gw = await startNode(env.sim.port,
      clusterArgs(redis, files, { 'cluster.node_id': 'gw2', 'cluster.max_unacked': 3 }));
    // The client's first connect, with the watermark it has (nothing received: batch 0), through
    // the new node once the lease has lapsed (503 + Retry-After before).
    const r = await h.waitFor(async () => {
      const x = await cm.bayeux(env.gw.port, [{ channel: '/meta/connect', clientId: raw,
        connectionType: 'long-polling', advice: { timeout: 0 }, ext: { ack: 0 } }], { suffix: '/connect' });
      return x.status === 200 ? x : null;
    }, 10000 * h.slow, 'the take-over');
    const reply = r.json.find((m) => m.channel === '/meta/connect');
    assert.equal(reply.successful, false, r.body);
    assert.equal(reply.error, '408::Too many pending messages', r.body);
    assert.equal(reply.advice.reconnect, 'handshake', r.body);
    assert.equal(r.json.filter((m) => m.channel !== '/meta/connect').length, 0, `no message after a hole: ${r.body}`);
    assert.match(env.gw.stderr, new RegExp(`restored messages 1 to ${first - 1} were not stored \\(cluster\\.max_unacked\\)`));
    // Told to handshake: it does, subscribes, and gets the session's current state again.
    const raw2 = await cm.rawHandshake(env.gw.port, 'agent1', { ack: true });
    await cm.bayeux(env.gw.port, [{ channel: '/meta/subscribe', clientId: raw2, subscription: '/v2/me/*' }]);
    const c2 = await h.waitFor(async () => {
      const x = await cm.bayeux(env.gw.port, [{ channel: '/meta/connect', clientId: raw2,
        connectionType: 'long-polling', advice: { timeout: 0 }, ext: { ack: 0 } }], { suffix: '/connect' });
      const st = (x.json || []).filter((m) => m.channel === '/v2/me/im-sessions' && m.data.imSession &&
        m.data.imSession.id === s.id);
      return st.length > 0 ? st : null;
    }, 5000 * h.slow, 'the state published again');
    assert.equal(c2[0].data.imSession.state, 'Talking');
  } finally {
    await im.teardown(env);
    await redis.stop();
  }
});

test('ordering: the sendMessage POST and the next event-channel GET wait for Redis', async () => {
  const redis = await startRedis();
  const files = clusterFiles();
  const env = {};
  const received = async () => ((await im.sim(env.sim.port, 'GET', '/remotes/agent3002@example.com/received')).json.received || [])
    .filter((e) => e.type === 'message').map((e) => e.text);
  try {
    await redis.cli('SET', `${PREFIX}lease:agent:agent1`, 'gw1');
    env.sim = await im.startSim();
    // A long Redis timeout: a stopped Redis is waited for, not declared stalled, during the
    // test, however loaded the machine (a command sent before the stop counts too).
    env.gw = await startNode(env.sim.port, clusterArgs(redis, files,
      { 'cluster.node_id': 'gw1', 'cluster.timeout_ms': 15000 * h.slow, 'cluster.lease_ms': 60000 * h.slow }));
    const d = await im.desktop(env.gw.port, 'agent1');
    env.desks = { agent1: d };
    const s = await im.talk(d);
    // The event channel's GET parked at ucwa-sim (its cursor stored) before Redis stops:
    // under load the last response of talk() may still be on its way.
    await h.waitFor(async () => {
      const st = (await im.sim(env.sim.port, 'GET', '/state')).json;
      return st.applications.some((a) => a.user === 'sip:agent5001@example.com' && a.parked);
    }, 5000 * h.slow, 'the event channel parked');
    redis.signal('SIGSTOP');
    let resumed = false;
    try {
      // SendMessage: the row with the operation id must be in Redis before the POST.
      const sending = d.op(`/me/im-sessions/${s.id}`, { operationName: 'SendMessage', text: 'after redis' });
      await new Promise((r) => setTimeout(r, 600 * h.slow));
      assert.deepEqual(await received(), [], 'sendMessage was posted before its row was stored');
      // The remote's first message comes on the P-GET parked already: its notification waits
      // for the write that carries it and the cursor (a new owner would send it again
      // otherwise); the next GET waits for the cursor.
      const from = d.im().length;
      await im.sim(env.sim.port, 'POST', '/remotes/agent3002@example.com/message', { to: 'agent1', text: 'm1' });
      await new Promise((r) => setTimeout(r, 600 * h.slow));
      assert.equal(d.im().slice(from).some((n) => n.message === 'm1'), false,
        'the notification went out before it and its cursor were stored');
      await im.sim(env.sim.port, 'POST', '/remotes/agent3002@example.com/message', { to: 'agent1', text: 'm2' });
      await new Promise((r) => setTimeout(r, 600 * h.slow));
      assert.equal(d.im().slice(from).some((n) => n.message === 'm2'), false,
        'the next event-channel GET went out before the cursor was stored');
      redis.signal('SIGCONT');
      resumed = true;
      assert.equal((await sending).json.statusCode, 0);
      await h.waitFor(async () => (await received()).includes('after redis'), 5000 * h.slow, 'the message posted');
      await d.next((n) => n.messageType === 'IMLogUpdateMessage' && n.message === 'm2', from);
      const order = d.im().slice(from).filter((n) => n.messageType === 'IMLogUpdateMessage' &&
        /^m[12]$/.test(n.message)).map((n) => n.message);
      assert.deepEqual(order, ['m1', 'm2'], 'each once, in order');
    } finally {
      if (!resumed) redis.signal('SIGCONT');
    }
  } finally {
    await im.teardown(env);
    await redis.stop();
  }
});

test('-t: cluster.state_ttl_ms must be at least three times cluster.lease_ms', async () => {
  const files = clusterFiles();
  const r = await h.run('ucgw', ['-t', ...args({ listen: ['http://127.0.0.1:0'], 'cluster.redis': 'redis://127.0.0.1:1',
    'cluster.key_file': files.key, 'cluster.lease_ms': 10000, 'cluster.state_ttl_ms': 20000 })]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /cluster\.state_ttl_ms \(20000\) must be at least three times cluster\.lease_ms \(10000\)/);
  const ok = await h.run('ucgw', ['-t', ...args({ listen: ['http://127.0.0.1:0'], 'cluster.redis': 'redis://127.0.0.1:1',
    'cluster.key_file': files.key, 'cluster.lease_ms': 10000, 'cluster.state_ttl_ms': 30000 })]);
  assert.equal(ok.code, 0, ok.stderr);
});

test('single node: no store, nothing written anywhere', async () => {
  const redis = await startRedis();
  const env = {};
  try {
    env.sim = await im.startSim();
    env.gw = await im.startGateway(env.sim.port);
    env.desks = { agent1: await im.desktop(env.gw.port, 'agent1') };
    await im.talk(env.desks.agent1);
    assert.equal(await redis.cli('DBSIZE'), '0');
    assert.equal(/store:/.test(env.gw.stderr), false);
  } finally {
    await im.teardown(env);
    await redis.stop();
  }
});

// The store driver: send lines, wait for lines.
function storeDrive(redis, files, node, o = {}) {
  const exe = path.join(h.builddir, 'tests', 'store-drive');
  const wrap = process.env.UCGW_WRAP ? process.env.UCGW_WRAP.split(/\s+/) : [];
  const argv = [...wrap, exe, ...clusterArgs(redis, files, { 'cluster.node_id': node, ...o })];
  const child = spawn(argv[0], argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
  const d = { lines: [], stderr: '', child };
  let partial = '';
  child.stdout.on('data', (b) => {
    partial += b;
    const parts = partial.split('\n');
    partial = parts.pop();
    d.lines.push(...parts);
  });
  child.stderr.on('data', (b) => { d.stderr += b; });
  d.exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  d.send = (l) => child.stdin.write(`${l}\n`);
  d.wait = (re, from = 0) => h.waitFor(() => d.lines.slice(from).find((l) => re.test(l)), 10000 * h.slow,
    () => `store-drive: no line ${re}; lines:\n${d.lines.join('\n')}\nstderr:\n${d.stderr.slice(-3000)}`);
  // Send a command and wait for its answer line.
  d.ask = async (l, re) => {
    const n = d.lines.length;
    d.send(l);
    return d.wait(re, n);
  };
  d.stop = async () => {
    child.stdin.end('quit\n');
    const t = setTimeout(() => child.kill('SIGKILL'), 10000 * h.slow);
    const r = await d.exited;
    clearTimeout(t);
    return r;
  };
  return d;
}

test('store-drive: load round trip, capped and acknowledged lists, corrupt values, Redis restarted empty, drop', async (t) => {
  const redis = await startRedis();
  const files = clusterFiles();
  const d = storeDrive(redis, files, 'n1', { 'cluster.max_unacked': 5 });
  try {
    await d.wait(/^ready$/);
    // Without the lease nothing is written.
    assert.match(await d.ask('cursor u1 http://x/events?ack=1', /^written u1 /), /^written u1 fenced lease agent:u1 not held$/);
    assert.equal(await redis.cli('EXISTS', `${PREFIX}agent:u1`), '0');
    await redis.cli('SET', `${PREFIX}lease:agent:u1`, 'n1');
    d.send('creds u1 s3cret pass word');
    d.send('token u1 1893456000000 http://ucwa/oauth/token cwt=TOKEN-abc123');
    d.send('app u1 http://ucwa/applications/42 0a0b0c0d-0000-4000-8000-000000000001');
    d.send('client u1 C1 /v2/me/*,/meta/x');
    for (let i = 1; i <= 8; i++) d.send(`push u1 C1 ${i} {"id":"${i}","data":{"n":${i}}}`);
    assert.match(await d.ask('session u1 S1 http://ucwa/applications/42/conversations/7 first message', /^written u1 /), /^written u1 ok$/);
    assert.match(await d.ask('cursor u1 http://ucwa/applications/42/events?ack=2', /^written u1 /), /^written u1 ok$/);
    // Hrefs under the application are stored relative to it, and read back absolute.
    assert.equal(await redis.cli('HGET', `${PREFIX}agent:u1`, 'next'), '~/events?ack=2');
    assert.equal(JSON.parse(await redis.cli('HGET', `${PREFIX}agent:u1`, 's:S1')).cv, '~/conversations/7');
    // Capped: the 5 newest remain.
    assert.equal(await redis.cli('LLEN', `${PREFIX}q:u1:C1`), '5');
    let st = JSON.parse((await d.ask('load u1', /^(state|none|load-error)/)).slice(6));
    assert.deepEqual(st, {
      user: 'u1', app: 'http://ucwa/applications/42', endpointId: '0a0b0c0d-0000-4000-8000-000000000001',
      token: 'cwt=TOKEN-abc123', tokenExpires: 1893456000000, tokenUrl: 'http://ucwa/oauth/token',
      password: 's3cret pass word', next: 'http://ucwa/applications/42/events?ack=2',
      sessions: [{ id: 'S1', state: 2, conversation: 'http://ucwa/applications/42/conversations/7',
        userData: { case: { n: 42 }, note: 'a b' }, out: [['op-S1', 'first message']] }],
      clients: [{ id: 'C1', subs: ['/v2/me/*', '/meta/x'], notes: [4, 5, 6, 7, 8] }],
    });
    // A row changed three times in one loop turn: read and written once, at the flush.
    let from = d.lines.length;
    d.send('mark u1 S2 3 http://ucwa/applications/42/conversations/8 marked');
    assert.match(await d.wait(/^written u1 /, from), /^written u1 ok$/);
    assert.deepEqual(d.lines.slice(from).filter((l) => l.startsWith('row ')), ['row u1 S2']);
    // Write version 5: the unconfirmed messages in a field of their own, not in the row.
    assert.equal(JSON.parse(await redis.cli('HGET', `${PREFIX}agent:u1`, 's:S2')).out, undefined);
    assert.deepEqual(JSON.parse(await redis.cli('HGET', `${PREFIX}agent:u1`, 'o:S2')), [['op-S2', null, 'marked', null]]);
    // Marked, then deleted in the same turn: nothing read, nothing left.
    from = d.lines.length;
    d.send('mark u1 S2 1 http://ucwa/applications/42/conversations/8 again\nsdel u1 S2'); // one read
    await d.ask('sync u1', /^written u1 ok$/);
    assert.deepEqual(d.lines.slice(from).filter((l) => l.startsWith('row ')), []);
    assert.equal(await redis.cli('HEXISTS', `${PREFIX}agent:u1`, 's:S2'), '0');
    assert.equal(await redis.cli('HEXISTS', `${PREFIX}agent:u1`, 'o:S2'), '0');
    // A SendMessage's writes at version 5: the messages only (the row untouched), in order; one
    // confirmed goes.
    const hk = `${PREFIX}agent:u1`;
    const outsOf = async (sid) => JSON.parse((await d.ask('load u1', /^state/)).slice(6)).sessions.find((x) => x.id === sid).out;
    assert.match(await d.ask('outs u1 S3 1 m1', /^written u1 /), /^written u1 ok$/);
    const row3 = await redis.cli('HGET', hk, 's:S3');
    assert.match(await d.ask('outs u1 S3 0 m1,m2,m3', /^written u1 /), /^written u1 ok$/);
    assert.match(await d.ask('outs u1 S3 0 m2,m3,m4', /^written u1 /), /^written u1 ok$/);
    assert.equal(await redis.cli('HGET', hk, 's:S3'), row3, 'the row was written again');
    assert.deepEqual(JSON.parse(await redis.cli('HGET', hk, 'o:S3')).map((m) => m[0]), ['m2', 'm3', 'm4']);
    assert.deepEqual(await outsOf('S3'), [['m2', 'text m2'], ['m3', 'text m3'], ['m4', 'text m4']]);
    // Version 4 (a node of stop 25 reads it): the messages back in the row, their fields deleted
    // in the same write; back at 5, the first write of the messages only rewrites the row too.
    d.send('version 4');
    assert.match(await d.ask('outs u1 S3 0 m3,m4', /^written u1 /), /^written u1 ok$/);
    assert.deepEqual(JSON.parse(await redis.cli('HGET', hk, 's:S3')).out, [['m3', null, 'text m3'], ['m4', null, 'text m4']]);
    assert.equal(await redis.cli('HEXISTS', hk, 'o:S3'), '0');
    assert.deepEqual(await outsOf('S3'), [['m3', 'text m3'], ['m4', 'text m4']]);
    d.send('version 5');
    assert.match(await d.ask('outs u1 S3 0 m4,m5', /^written u1 /), /^written u1 ok$/);
    assert.equal(await redis.cli('HGET', hk, 's:S3'), row3);
    assert.deepEqual(await outsOf('S3'), [['m4', 'text m4'], ['m5', 'text m5']]);
    // The UCWA snapshot at version 5: its head in u, the rest in um (a message writes um only);
    // read back as one document. At version 4 one field, um deleted.
    const head = '{"v":5,"user":"u1","conversations":[{"href":"~/c/1"}]';
    const snap = (marks) => `${head},"marks":"${marks}","msgs":[{"sent":[]}]}`;
    d.send(`ucwa u1 ${head.length} ${snap('AAAA')}`);
    await d.ask('sync u1', /^written u1 ok$/);
    assert.equal(await redis.cli('HGET', hk, 'u'), `${head}}`);
    assert.equal(await redis.cli('HGET', hk, 'um'), '{"marks":"AAAA","msgs":[{"sent":[]}]}');
    d.send(`ucwa u1 ${head.length} ${snap('BBBB')}`);
    await d.ask('sync u1', /^written u1 ok$/);
    assert.equal(JSON.parse((await d.ask('load u1', /^state/)).slice(6)).ucwa, snap('BBBB'));
    d.send('version 4');
    const v4 = snap('CCCC').replace('"v":5', '"v":4');
    d.send(`ucwa u1 ${head.length} ${v4}`);
    await d.ask('sync u1', /^written u1 ok$/);
    assert.equal(await redis.cli('HGET', hk, 'u'), v4);
    assert.equal(await redis.cli('HEXISTS', hk, 'um'), '0');
    assert.equal(JSON.parse((await d.ask('load u1', /^state/)).slice(6)).ucwa, v4);
    d.send('version 5');
    // The session's deletion takes its messages.
    d.send('sdel u1 S3');
    await d.ask('sync u1', /^written u1 ok$/);
    assert.equal((await redis.cli('HKEYS', hk)).split('\n').filter((k) => /^[so]:/.test(k)).sort().join(' '), 'o:S1 s:S1');
    // Acknowledged up to 6: 7 and 8 remain.
    d.send('ack u1 C1 6');
    await d.ask('sync u1', /^written u1 ok$/);
    st = JSON.parse((await d.ask('load u1', /^state/)).slice(6));
    assert.deepEqual(st.clients[0].notes, [7, 8]);
    // Sealed values: the token and password are nowhere in clear.
    const everything = JSON.stringify(await dump(redis));
    for (const s of ['TOKEN-abc123', 's3cret']) assert.equal(everything.includes(s), false, `${s} in Redis`);
    const ttl = Number(await redis.cli('PTTL', `${PREFIX}q:u1:C1`));
    assert.ok(ttl > 0, `list PTTL ${ttl}`);
    t.diagnostic(`MEMORY USAGE agent hash: ${await redis.cli('MEMORY', 'USAGE', `${PREFIX}agent:u1`, 'SAMPLES', '0')}`);

    // A corrupt row, and a sealed value moved to another agent: clear errors.
    await redis.cli('HSET', `${PREFIX}agent:u2`, 's:S9', '{"id":');
    assert.match(await d.ask('load u2', /^load-error/), /^load-error st:agent:u2: field s:S9: session row: not a JSON object$/);
    await redis.cli('DEL', `${PREFIX}agent:u2`);
    await redis.cli('EVAL', "return redis.call('HSET', KEYS[2], 'tok', redis.call('HGET', KEYS[1], 'tok'))", '2',
      `${PREFIX}agent:u1`, `${PREFIX}agent:u2`);
    assert.match(await d.ask('load u2', /^load-error/), /^load-error st:agent:u2: field tok: /);
    // A token sealed as its text (as earlier nodes stored every token) is read as it is.
    const old = 'Bearer cwt=AAEB+/re'; // base64 that the binary form would take
    const iv = crypto.randomBytes(12);
    const c = crypto.createCipheriv('aes-256-gcm', files.keyBytes, iv);
    c.setAAD(Buffer.from(`\x01${PREFIX}agent:u2#tok`, 'latin1'));
    const sealed = Buffer.concat([Buffer.from([1]), iv, c.update(old, 'latin1'), c.final(), c.getAuthTag()]);
    await redis.cli('EVAL', "local h, s = ARGV[1], '' for i = 1, #h, 2 do s = s .. string.char(tonumber(h:sub(i, i + 1), 16)) end " +
      "return redis.call('HSET', KEYS[1], 'tok', s)", '1', `${PREFIX}agent:u2`, sealed.toString('hex'));
    assert.equal(JSON.parse((await d.ask('load u2', /^(state|load-error)/)).slice(6)).token, old);
    assert.equal(await d.ask('load nobody', /^(state|none|load-error)/), 'none');

    // Redis restarted empty: once the lease is back, the whole state is written again.
    const n = d.lines.length;
    await redis.kill();
    await d.wait(/^unavailable /, n);
    await redis.start();
    await d.wait(/^ready$/, n);
    await redis.cli('SET', `${PREFIX}lease:agent:u1`, 'n1');
    d.send('resync u1');
    await d.ask('sync u1', /^written u1 ok$/);
    const again = JSON.parse((await d.ask('load u1', /^state/)).slice(6));
    assert.deepEqual(again, st);

    // Another node's lease: refused and untouched.
    await redis.cli('SET', `${PREFIX}lease:agent:u1`, 'n2');
    const before = await redis.cli('HGETALL', `${PREFIX}agent:u1`);
    assert.match(await d.ask('cursor u1 http://ucwa/events?ack=99', /^written u1 /), /^written u1 fenced lease agent:u1 held by n2$/);
    assert.equal(await redis.cli('HGETALL', `${PREFIX}agent:u1`), before);
    // Dropped by a node that does not hold the lease: nothing deleted; by the holder: all gone.
    d.send('drop u1');
    await new Promise((r) => setTimeout(r, 200 * h.slow));
    assert.equal(await redis.cli('EXISTS', `${PREFIX}agent:u1`), '1');
    await redis.cli('SET', `${PREFIX}lease:agent:u1`, 'n1');
    d.send('client u1 C1 /v2/me/*');
    d.send('resync u1');
    await d.ask('sync u1', /^written u1 ok$/);
    d.send('drop u1');
    await h.waitFor(async () => (await redis.cli('EXISTS', `${PREFIX}agent:u1`, `${PREFIX}q:u1:C1`)) === '0',
      5000 * h.slow, 'keys deleted by drop');
  } finally {
    const r = await d.stop();
    await redis.stop();
    assert.equal(r.code, 0, d.stderr.slice(-3000));
  }
});
