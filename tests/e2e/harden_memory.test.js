// harden_memory.test.js: memory one agent can pin (issue 14, item 2) and what
// a CometD client that falls behind is told (item 6). Notifications are
// serialised once per agent and shared by its clients; queues are bounded in
// bytes per client (cometd.max_queue_bytes) and per agent
// (cometd.max_agent_bytes); user data is bounded per session. The attack of
// the issue (UpdateUserData of 900 KB with many non-polling clients) leaves
// the gateway's RSS under a stated ceiling. A client dropped for falling
// behind gets "408::Too many pending messages" with handshake advice, and
// after its next handshake and subscribe it gets the session's current state.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const h = require('./lib/harness');
const im = require('./lib/im');
const cd = require('./lib/cometd');

const IM = '/v2/me/im-sessions';
const CEILING_MB = 64; // RSS growth allowed under the attack (the old code: over 500 MB)

const connectMsg = (clientId, id = '2') =>
  ({ id, channel: '/meta/connect', clientId, connectionType: 'long-polling', advice: { timeout: 0 } });

// Resident set size of a process in MiB.
function rssMb(pid) {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m[1]) / 1024;
}

// A Bayeux client that handshakes and subscribes, then never polls.
async function idleClient(port) {
  const id = await cd.rawHandshake(port, 'agent1');
  const r = await cd.bayeux(port, [{ id: '2', channel: '/meta/subscribe', clientId: id, subscription: IM }]);
  assert.equal(r.json[0].successful, true);
  return id;
}

// Under AddressSanitizer freed memory waits in a quarantine: keep it small so RSS shows live memory.
const asanEnv = { ASAN_OPTIONS: [process.env.ASAN_OPTIONS, 'quarantine_size_mb=8'].filter(Boolean).join(':') };

test('UpdateUserData with 15 non-polling clients: bounded in bytes, RSS under the ceiling, the desktop keeps up', async (t) => {
  const sim = await im.startSim();
  const gw = await h.start('ucgw', ['-o', 'listen=["http://127.0.0.1:0"]',
    '-o', `upstream.discovery_url=http://127.0.0.1:${sim.port}/`, '-o', 'cometd.max_interval_ms=600000'],
  { env: asanEnv });
  const env = { sim, gw, desks: {} };
  try {
    const d = env.desks.agent1 = await im.desktop(gw.port, 'agent1');
    const s = await im.talk(d);
    const sp = `/me/im-sessions/${s.id}`;
    const idle = [];
    for (let i = 0; i < 15; i++) idle.push(await idleClient(gw.port));
    const rss0 = rssMb(gw.child.pid);
    let peak = rss0;
    const sampler = setInterval(() => { peak = Math.max(peak, rssMb(gw.child.pid)); }, 20);
    try {
      // The attack of the issue: refused at the user-data bounds, nothing queued.
      for (let i = 0; i < 40; i++) {
        const r = await d.op(sp, { operationName: 'UpdateUserData', userData: { [`k${i}`]: 'x'.repeat(900 * 1024) } });
        assert.equal(r.json.statusCode, 10);
      }
      // The same at the bounds: a session of 64 KB, rewritten 300 times (about 20 MB of notifications
      // per client); each client may hold 4 MB, the agent 16 MB.
      for (let i = 0; i < 300; i++) {
        const r = await d.op(sp, { operationName: 'UpdateUserData',
          userData: { a: `${i}`.padEnd(16000, 'a'), b: 'b'.repeat(16000), c: 'c'.repeat(16000), e: 'e'.repeat(15000) } });
        assert.equal(r.json.statusCode, 0, r.body);
      }
    } finally {
      clearInterval(sampler);
    }
    const grew = peak - rss0;
    t.diagnostic(`RSS ${rss0.toFixed(1)} MB before, peak ${peak.toFixed(1)} MB: grew ${grew.toFixed(1)} MB`);
    if (!process.env.UCGW_WRAP) assert.ok(grew < CEILING_MB, `RSS grew by ${grew.toFixed(1)} MB (ceiling ${CEILING_MB})`);
    assert.match(gw.stderr, /fell behind \(\d+ messages, \d+ bytes; cometd\.max_queue_bytes\): disconnecting it/);
    // The polling desktop got the last state; the idle clients are told they fell behind.
    await d.next((n) => n.notificationType === 'AttachedDataChanged' && n.imSession.userData.a.startsWith('299a'));
    for (const id of idle) {
      const r = await cd.bayeux(gw.port, [connectMsg(id)]);
      assert.equal(r.json[0].successful, false);
      assert.equal(r.json[0].error, '408::Too many pending messages');
      assert.equal(r.json[0].advice.reconnect, 'handshake');
    }
  } finally {
    await im.teardown(env);
  }
});

test('a client that fell behind is told, and after a new handshake gets the current state', async () => {
  const env = await im.setup(['agent1'], { gwArgs: ['-o', 'cometd.max_queue=5', '-o', 'cometd.max_interval_ms=600000'] });
  const d = env.desks.agent1;
  try {
    const s = await im.talk(d, im.REMOTES.bob, { topic: 'billing' });
    const lagging = await idleClient(env.gw.port);
    // The desktop polls and keeps up; the lagging client overflows at its sixth message.
    for (let i = 0; i < 7; i++) {
      const r = await im.sim(env.sim.port, 'POST', '/remotes/agent3002@example.com/message', { to: 'agent1', text: `m${i}` });
      assert.equal(r.status, 200);
      await d.next((n) => n.notificationType === 'NewMessage' && n.message === `m${i}`);
    }
    assert.match(env.gw.stderr, /fell behind \(5 messages, \d+ bytes; cometd\.max_queue\)/);
    const told = await cd.bayeux(env.gw.port, [connectMsg(lagging)]);
    assert.deepEqual(told.json[0], { id: '2', channel: '/meta/connect', successful: false,
      error: '408::Too many pending messages', advice: { reconnect: 'handshake', interval: 0 } });
    // The desktop handshakes again: its first connect brings the session as it is now.
    const again = await idleClient(env.gw.port);
    let got = [];
    await h.waitFor(async () => {
      got = got.concat((await cd.bayeux(env.gw.port, [connectMsg(again)])).json.filter((m) => m.channel === IM));
      return got.length > 0;
    }, 5000 * h.slow, 'the current state');
    assert.equal(got[0].data.notificationType, 'StatusChange');
    assert.equal(got[0].data.imSession.id, s.id);
    assert.equal(got[0].data.imSession.state, 'Talking');
    assert.deepEqual(got[0].data.imSession.userData, { topic: 'billing' });
  } finally {
    await im.teardown(env);
  }
});

test('HTTP/2: an answer held back by a shut flow-control window is reset at the write timeout', async () => {
  const http2 = require('node:http2');
  const gw = await h.start('ucgw', ['-o', 'listen=["http://127.0.0.1:0"]', '-o', 'limits.write_timeout_ms=400',
    '-o', 'limits.idle_timeout_ms=60000']);
  // The client never opens its stream windows: no DATA frame can be sent to it.
  const session = http2.connect(`http://127.0.0.1:${gw.port}`, { settings: { initialWindowSize: 0 } });
  session.on('error', () => {});
  try {
    const t0 = Date.now();
    const outcome = await new Promise((resolve) => {
      const s = session.request({ ':method': 'GET', ':path': '/api/v2/diagnostics/version' });
      let status;
      s.on('response', (hd) => { status = hd[':status']; });
      s.on('data', () => resolve({ data: true }));
      s.on('close', () => resolve({ status, code: s.rstCode }));
      s.on('error', () => {});
    });
    const ms = Date.now() - t0;
    assert.equal(outcome.status, 200, 'the headers went out');
    assert.equal(outcome.code, http2.constants.NGHTTP2_CANCEL);
    assert.ok(ms >= 350 && ms < 3000 * h.slow, `reset after ${ms} ms`);
    await h.waitFor(() => /answer\(s\) stalled by flow control for 400 ms: reset/.test(gw.stderr), 2000 * h.slow, 'the log line');
    // The connection itself still serves requests (its own window is open).
    const ok = await new Promise((resolve) => {
      const s = session.request({ ':method': 'HEAD', ':path': '/healthz' });
      s.on('response', (hd) => resolve(hd[':status']));
      s.on('error', () => resolve(0));
      s.end();
    });
    assert.equal(ok, 200);
  } finally {
    session.destroy();
    assert.equal((await gw.stop()).code, 0);
  }
});
