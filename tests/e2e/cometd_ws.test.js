// cometd_ws.test.js: CometD over WebSocket against the real ucgw, with
// clients nobody here wrote: the official CometD client (npm cometd +
// cometd-nodejs-client, whose WebSocket is the ws package) and faye's
// client; the long-poll checks repeated on the socket (subscribe, wildcard,
// ack with a lost frame, agents kept apart, SIGHUP, SIGTERM drain), the
// upgrade's Origin and authentication, and raw frames no client should send,
// each closed with its code while the gateway stays up.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');
const cd = require('./lib/cometd');
const raw = require('./lib/wsraw');

const IM = '/v2/me/im-sessions';
const HS = { id: '1', channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['websocket'] };

// Run fn with a gateway and close every client and the gateway afterwards.
async function withGateway(extra, fn, args = []) {
  const gw = await cd.startGateway(extra, args);
  const clients = [];
  try {
    await fn(gw, clients);
  } finally {
    for (const c of clients) await Promise.race([cd.disconnect(c), new Promise((r) => setTimeout(r, 2000))]);
    await cd.stopClean(gw);
  }
  return gw;
}

// An official client over WebSocket, handshaken and subscribed to channels.
async function wsClient(port, user, channels, opts = {}) {
  const c = await cd.newClient(port, user, { websocket: true, ...opts });
  await cd.handshake(c);
  assert.equal(c.getTransport().type, 'websocket');
  for (const ch of channels) await cd.subscribe(c, ch);
  await cd.connected(c);
  return c;
}

// A raw socket, handshaken (ack optional), subscribed to IM, its connect parked.
async function rawBayeux(port, { user = 'agent1', ack = false, sub = IM } = {}) {
  const s = await raw.connect(port, { headers: { Authorization: cd.basic(user) } });
  assert.equal(s.status, 101);
  s.json([{ ...HS, ext: ack ? { ack: true } : undefined }]);
  const hs = JSON.parse((await s.waitFrame((f) => f.opcode === 1)).text)[0];
  assert.equal(hs.successful, true, JSON.stringify(hs));
  s.clientId = hs.clientId;
  s.json([{ id: '2', channel: '/meta/subscribe', clientId: s.clientId, subscription: sub }]);
  await h.waitFor(() => s.messages().some((m) => m.id === '2'));
  s.connects = 0;
  s.connect = (ackN) => s.json([{ id: `c${++s.connects}`, channel: '/meta/connect', clientId: s.clientId,
    connectionType: 'websocket', ext: ackN === undefined ? undefined : { ack: ackN } }]);
  return s;
}

const until = (ms) => new Promise((r) => setTimeout(r, ms));

test('the official client takes WebSocket: one upgrade, exact and wildcard subscriptions, a burst in order', async () => {
  await withGateway({}, async (gw, clients) => {
    const proxy = await cd.cuttingProxy(gw.port);
    try {
      const exact = await wsClient(proxy.port, 'agent1', [IM]);
      const wild = await wsClient(gw.port, 'agent1', ['/v2/me/*']);
      const deep = await wsClient(gw.port, 'agent1', ['/v2/**']);
      clients.push(exact, wild, deep);
      const hs = exact.handshakes.find((m) => m.successful);
      assert.deepEqual(hs.supportedConnectionTypes, ['websocket', 'long-polling']);
      // Everything went over the one socket: a GET upgrade, no POST.
      assert.deepEqual(proxy.requests, ['GET /api/v2/notifications']);
      const burst = Array.from({ length: 50 }, (_, i) => ({ channel: IM, data: { n: i } }));
      assert.equal(await cd.publish(gw.port, 'agent1', burst), 150);
      assert.equal(await cd.publish(gw.port, 'agent1', [{ channel: '/v2/me/calls', data: { n: 'calls' } },
        { channel: '/v2/me/calls/x', data: { n: 'deeper' } }]), 3);
      await h.waitFor(() => exact.received.length === 50 && wild.received.length === 51 &&
        deep.received.length === 52, 10000 * h.slow, 'every notification');
      assert.deepEqual(exact.received.map((m) => m.data.n), burst.map((m) => m.data.n));
      assert.deepEqual(wild.received.map((m) => m.data.n), [...burst.map((m) => m.data.n), 'calls']);
      assert.deepEqual(deep.received.slice(50).map((m) => m.data.n), ['calls', 'deeper']);
      assert.equal((gw.stderr.match(/cometd: websocket of agent1/g) || []).length, 3);
    } finally {
      await proxy.close();
    }
  });
});

// Lose the frame carrying marker on its way to an official WebSocket client.
async function loseOneFrame(ack) {
  let result;
  await withGateway({}, async (gw, clients) => {
    const proxy = await cd.cuttingProxy(gw.port, (text) => proxy.cuts === 0 && text.includes('"lost-1"'));
    try {
      const c = await wsClient(proxy.port, 'agent1', [IM], { ack });
      clients.push(c);
      assert.equal(await cd.publish(gw.port, 'agent1', [{ channel: IM, data: { n: 'lost-1' } }]), 1);
      await h.waitFor(() => proxy.cuts === 1, 5000 * h.slow, 'the proxy to cut the frame');
      // The client opens a new socket, sends its connect again and keeps going.
      await h.waitFor(() => (gw.stderr.match(/cometd: websocket of agent1/g) || []).length === 2,
        10000 * h.slow, 'a second socket');
      await h.waitFor(async () => (await cd.publish(gw.port, 'agent1', [{ channel: IM, data: { n: 'next-2' } }])) === 1 &&
        true, 5000 * h.slow);
      await h.waitFor(() => c.received.some((m) => m.data.n === 'next-2'), 10000 * h.slow, 'the next notification');
      assert.equal(c.getTransport().type, 'websocket');
      result = c.received.map((m) => m.data.n);
      if (ack) assert.match(gw.stderr, /resending unacknowledged messages/);
    } finally {
      await proxy.close();
    }
  });
  return result;
}

test('a frame lost on the way is delivered again with the ack extension', async () => {
  assert.deepEqual(await loseOneFrame(true), ['lost-1', 'next-2']);
});

test('without the ack extension the same lost frame stays lost (the test can fail)', async () => {
  assert.deepEqual(await loseOneFrame(false), ['next-2']);
});

test('two sockets of one agent both receive; another agent receives nothing of it', async () => {
  await withGateway({}, async (gw, clients) => {
    const a1 = await wsClient(gw.port, 'agent1', ['/**']);
    const a1b = await wsClient(gw.port, 'agent1', ['/**']);
    const b = await wsClient(gw.port, 'agent2', ['/**']);
    clients.push(a1, a1b, b);
    assert.equal(await cd.publish(gw.port, 'agent1', [{ channel: IM, data: { n: 'for-1' } }]), 2);
    assert.equal(await cd.publish(gw.port, 'agent2', [{ channel: IM, data: { n: 'for-2' } }]), 1);
    await h.waitFor(() => a1.received.length && a1b.received.length && b.received.length);
    assert.deepEqual(a1.received.map((m) => m.data.n), ['for-1']);
    assert.deepEqual(a1b.received.map((m) => m.data.n), ['for-1']);
    assert.deepEqual(b.received.map((m) => m.data.n), ['for-2']);
    // A clientId of agent1 sent on agent2's socket is unknown there.
    const s = await raw.connect(gw.port, { headers: { Authorization: cd.basic('agent2') } });
    s.json([{ id: 'x', channel: '/meta/connect', clientId: a1.getClientId(), connectionType: 'websocket' }]);
    const m = JSON.parse((await s.waitFrame((f) => f.opcode === 1)).text)[0];
    assert.equal(m.error, '402::Unknown client');
    s.destroy();
  });
});

test('the upgrade: same authentication as long-polling, Origin checked before it', async () => {
  await withGateway({}, async (gw, clients) => {
    // No credentials: 401, as for a long-poll.
    const anon = await raw.connect(gw.port);
    assert.equal(anon.status, 401);
    assert.match(anon.headers['www-authenticate'], /^Basic/);
    // A foreign origin is refused before anything else, credentials or not.
    for (const auth of [undefined, cd.basic('agent1')]) {
      const foreign = await raw.connect(gw.port, { headers: { Origin: 'https://evil.example.org',
        Authorization: auth } });
      assert.equal(foreign.status, 403);
      assert.equal(JSON.parse(foreign.body).statusCode, 3);
    }
    assert.match(gw.stderr, /origin not allowed/);
    // A listed origin and the gateway's own are accepted.
    const listed = await raw.connect(gw.port, { headers: { Origin: 'https://desk.example.com',
      Authorization: cd.basic('agent1') } });
    assert.equal(listed.status, 101);
    assert.equal(listed.headers['access-control-allow-origin'], 'https://desk.example.com');
    listed.destroy();
    const own = await raw.connect(gw.port, { headers: { Origin: `http://127.0.0.1:${gw.port}`,
      Authorization: cd.basic('agent1') } });
    assert.equal(own.status, 101);
    const crypto = require('node:crypto');
    const accept = crypto.createHash('sha1').update(own.key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
    assert.equal(own.headers['sec-websocket-accept'], accept);
    assert.equal(own.headers['content-length'], undefined);
    own.destroy();
    // Bad upgrades get precise refusals.
    const v8 = await raw.connect(gw.port, { headers: { 'Sec-WebSocket-Version': '8', Authorization: cd.basic('agent1') } });
    assert.equal(v8.status, 426);
    assert.equal(v8.headers['sec-websocket-version'], '13');
    const badKey = await raw.connect(gw.port, { key: 'c2hvcnQ=', headers: { Authorization: cd.basic('agent1') } });
    assert.equal(badKey.status, 400);
    // The session cookie of an earlier request is enough, as in a browser.
    const login = await h.request({ port: gw.port, path: '/api/v2/diagnostics/session',
      headers: { Authorization: cd.basic('agent2') } });
    const cookie = login.headers['set-cookie'][0].split(';')[0];
    const c = await wsClient(gw.port, 'agent2', [IM], { cookie });
    clients.push(c);
    assert.equal(await cd.publish(gw.port, 'agent2', [{ channel: IM, data: { n: 'cookie' } }]), 1);
    await h.waitFor(() => c.received.length === 1);
    assert.doesNotMatch(gw.stderr, new RegExp(cookie.split('=')[1]));
  }, ['-o', 'auth.cors_origins=["https://desk.example.com"]']);
});

test('the connect is held on the socket with its advice; the queue bound holds there too', async () => {
  await withGateway({ cometd: { timeout_ms: 300, max_queue: 3 } }, async (gw) => {
    const s = await rawBayeux(gw.port);
    const t0 = Date.now();
    s.connect();
    const r = await s.waitFrame((f) => f.opcode === 1 && f.text.includes('"c1"'));
    assert.ok(Date.now() - t0 >= 250, `held ${Date.now() - t0} ms`);
    assert.deepEqual(JSON.parse(r.text)[0].advice, { reconnect: 'retry', interval: 0, timeout: 300, maxInterval: 10000 });
    // Other replies of a batch with a held connect leave at once, in a frame of their own.
    s.json([{ id: 's2', channel: '/meta/subscribe', clientId: s.clientId, subscription: '/v2/me/x' },
      { id: 'c9', channel: '/meta/connect', clientId: s.clientId, connectionType: 'websocket' }]);
    const sub = await s.waitFrame((f) => f.opcode === 1 && f.text.includes('"s2"'));
    assert.deepEqual(JSON.parse(sub.text).map((m) => m.id), ['s2']);
    const held = await s.waitFrame((f) => f.opcode === 1 && f.text.includes('"c9"'));
    assert.deepEqual(JSON.parse(held.text).map((m) => m.id), ['c9']);
    // Four messages for a client that may hold three: it is disconnected.
    assert.equal(await cd.publish(gw.port, 'agent1', [1, 2, 3, 4].map((n) => ({ channel: IM, data: { n } }))), 3);
    s.connect();
    const gone = await s.waitFrame((f) => f.opcode === 1 && f.text.includes('"c2"'));
    const m = JSON.parse(gone.text)[0];
    assert.equal(m.successful, false);
    assert.equal(m.advice.reconnect, 'handshake');
    assert.match(gw.stderr, /fell behind \(.*cometd\.max_queue\)/);
    s.destroy();
  });
});

test('without ack a notification is one frame and the connect stays held; with ack it rides the connect reply', async () => {
  await withGateway({ cometd: { timeout_ms: 3000 } }, async (gw) => {
    const plain = await rawBayeux(gw.port);
    const acked = await rawBayeux(gw.port, { ack: true });
    plain.connect();
    acked.connect(0);
    await until(100);
    assert.equal(await cd.publish(gw.port, 'agent1', [{ channel: IM, data: { n: 'p1' } }, { channel: IM, data: { n: 'p2' } }]), 4);
    const pushed = await plain.waitFrame((f) => f.opcode === 1 && f.text.includes('"p1"'));
    assert.deepEqual(JSON.parse(pushed.text).map((m) => m.channel), [IM, IM]); // one frame, no connect reply
    const withReply = await acked.waitFrame((f) => f.opcode === 1 && f.text.includes('"p1"'));
    const msgs = JSON.parse(withReply.text);
    assert.deepEqual(msgs.map((m) => m.channel), [IM, IM, '/meta/connect']);
    assert.equal(typeof msgs[2].ext.ack, 'number');
    // The plain client's connect is still held: answered only at its deadline.
    await until(300);
    assert.ok(!plain.messages().some((m) => m.id === 'c1'), 'the connect stayed held');
    await plain.waitFrame((f) => f.opcode === 1 && f.text.includes('"c1"'), 5000 * h.slow, 'the connect reply');
    plain.destroy();
    acked.destroy();
  });
});

test('over TLS (wss): the upgrade, a held connect and a pushed notification', async () => {
  const fs = require('node:fs');
  const WebSocket = require('ws');
  const pki = h.makeCA(h.tmpdir());
  await withGateway({}, async (gw) => {
    const sock = new WebSocket(`wss://localhost:${gw.port}/api/v2/notifications`, {
      ca: fs.readFileSync(pki.ca), headers: { Authorization: cd.basic('agent1') }, perMessageDeflate: false });
    const got = [];
    sock.on('message', (d) => got.push(...JSON.parse(d)));
    await new Promise((resolve, reject) => { sock.once('open', resolve); sock.once('error', reject); });
    sock.send(JSON.stringify([HS]));
    await h.waitFor(() => got.some((m) => m.channel === '/meta/handshake'));
    const clientId = got[0].clientId;
    sock.send(JSON.stringify([{ id: '2', channel: '/meta/subscribe', clientId, subscription: IM },
      { id: '3', channel: '/meta/connect', clientId, connectionType: 'websocket' }]));
    await h.waitFor(() => got.some((m) => m.id === '2'));
    assert.equal(await cd.publish(gw.port, 'agent1', [{ channel: IM, data: { n: 'tls' } }], { tls: true, ca: pki.ca }), 1);
    await h.waitFor(() => got.some((m) => m.data && m.data.n === 'tls'));
    const closed = new Promise((resolve) => sock.once('close', (code) => resolve(code)));
    sock.close(1000);
    assert.equal(await closed, 1000);
  }, ['-o', 'listen=["https://127.0.0.1:0"]', '-o', `tls.cert_file=${pki.cert}`, '-o', `tls.key_file=${pki.key}`]);
});

test('faye\'s client talks Bayeux over the socket', async () => {
  const faye = require('faye');
  await withGateway({}, async (gw) => {
    const client = new faye.Client(`http://127.0.0.1:${gw.port}/api/v2/notifications`, { timeout: 20 });
    client.setHeader('Authorization', cd.basic('agent1'));
    const got = [];
    try {
      await client.subscribe(IM, (data) => got.push(data.n));
      await h.waitFor(() => /cometd: websocket of agent1/.test(gw.stderr), 10000 * h.slow, 'faye to open a socket');
      await h.waitFor(async () => (await cd.publish(gw.port, 'agent1', [{ channel: IM, data: { n: 'f1' } },
        { channel: IM, data: { n: 'f2' } }])) === 2, 5000 * h.slow);
      await h.waitFor(() => got.length >= 2, 10000 * h.slow, 'faye to receive');
      assert.deepEqual(got.slice(0, 2), ['f1', 'f2']);
      assert.match(gw.stderr, /handshake from .*\(websocket\)|connect parked|websocket of agent1/);
    } finally {
      client.disconnect();
      await until(200);
    }
  });
});

test('SIGHUP leaves sockets open; SIGTERM closes them with 1001 after the last queued message', async () => {
  const gw = await cd.startGateway();
  try {
    const s = await rawBayeux(gw.port);
    s.connect();
    gw.signal_('SIGHUP');
    await h.waitFor(() => /reload done|configuration reloaded|reloaded/.test(gw.stderr), 5000 * h.slow, 'the reload');
    assert.equal(await cd.publish(gw.port, 'agent1', [{ channel: IM, data: { n: 'after-hup' } }]), 1);
    await h.waitFor(() => s.messages().some((m) => m.data && m.data.n === 'after-hup'));
    assert.equal(s.closed, false);
    // Messages queued, then SIGTERM at once: they come first, then the close.
    s.connect();
    assert.equal(await cd.publish(gw.port, 'agent1', [{ channel: IM, data: { n: 'last-1' } },
      { channel: IM, data: { n: 'last-2' } }]), 2);
    const r = await gw.stop();
    assert.equal(r.code, 0, gw.stderr.slice(-2000));
    assert.doesNotMatch(gw.stderr, /Sanitizer|runtime error/);
    const close = s.frames.findIndex((f) => f.opcode === 8);
    assert.ok(close >= 0, 'a close frame');
    assert.equal(s.frames[close].code, 1001);
    assert.equal(close, s.frames.length - 1);
    const texts = s.frames.slice(0, close).filter((f) => f.opcode === 1).map((f) => f.text).join('');
    assert.ok(texts.indexOf('last-1') > 0 && texts.indexOf('last-2') > texts.indexOf('last-1'), texts);
    s.destroy();
  } finally {
    await gw.stop();
  }
});

test('bad frames are each closed with their code; the gateway stays up', async () => {
  await withGateway({ cometd: { ws_max_frame_bytes: 1024, ws_max_message_bytes: 4096 } }, async (gw) => {
    const text = (s) => Buffer.from(s);
    const cases = [
      ['an unmasked client frame', [raw.frame(1, '[]', { mask: false })], 1002],
      ['reserved bits set', [raw.frame(1, '[]', { rsv: 4 })], 1002],
      ['a frame over ws_max_frame_bytes', [raw.frame(1, 'x'.repeat(2000))], 1009],
      ['a message over ws_max_message_bytes', [0, 1, 2, 3, 4].map((i) =>
        raw.frame(i === 0 ? 1 : 0, 'y'.repeat(1000), { fin: i === 4 })), 1009],
      ['bad UTF-8 in a text frame', [raw.frame(1, Buffer.from([0x5b, 0xc3, 0x28, 0x5d]))], 1007],
      ['an overlong UTF-8 form', [raw.frame(1, Buffer.from([0xc0, 0xaf]))], 1007],
      ['a binary message', [raw.frame(2, text('[]'))], 1003],
      ['a continuation without a start', [raw.frame(0, '[]')], 1002],
      // wslay's parser refuses this one itself and sends a close without a code.
      ['a fragmented ping', [raw.frame(9, 'p', { fin: false })], [1002, 1005]],
      ['a close in the middle of a fragmented message', [raw.frame(1, '[{"id":', { fin: false }),
        raw.frame(8, Buffer.from([0x03, 0xe8]))], 1000],
    ];
    for (const [what, frames, code] of cases) {
      const s = await raw.connect(gw.port, { headers: { Authorization: cd.basic('agent1') } });
      assert.equal(s.status, 101, what);
      for (const f of frames) s.send(f);
      const close = await s.waitFrame((f) => f.opcode === 8, 5000 * h.slow, `the close of ${what}`);
      if (Array.isArray(code)) assert.ok(code.includes(close.code), `${what}: ${close.code}`);
      else assert.equal(close.code, code, what);
      await s.waitClosed();
      assert.equal(s.frames.filter((f) => f.opcode === 1).length, 0, what);
    }
    // A bad Bayeux batch is answered on the socket, which stays open.
    const s = await raw.connect(gw.port, { headers: { Authorization: cd.basic('agent1') } });
    s.text('{not json');
    const err = JSON.parse((await s.waitFrame((f) => f.opcode === 1)).text)[0];
    assert.equal(err.successful, false);
    assert.match(err.error, /^400::/);
    s.json([HS]);
    await h.waitFor(() => s.messages().some((m) => m.channel === '/meta/handshake' && m.successful));
    s.destroy();
    const health = await h.request({ port: gw.port, path: '/healthz' });
    assert.equal(health.status, 200);
  });
});

test('pings at the configured interval; a peer that never answers is dropped', async () => {
  await withGateway({ cometd: { ws_ping_interval_ms: 200 } }, async (gw, clients) => {
    const c = await wsClient(gw.port, 'agent1', [IM]); // the ws package answers pings
    clients.push(c);
    const s = await raw.connect(gw.port, { headers: { Authorization: cd.basic('agent1') } });
    await s.waitFrame((f) => f.opcode === 9, 3000 * h.slow, 'a ping');
    await s.waitClosed(3000 * h.slow);
    assert.match(gw.stderr, /no answer to a ping/);
    await until(600);
    assert.equal((gw.stderr.match(/no answer to a ping/g) || []).length, 1);
    assert.equal(await cd.publish(gw.port, 'agent1', [{ channel: IM, data: { n: 'alive' } }]), 1);
    await h.waitFor(() => c.received.length === 1);
  });
});

test('a reader that falls behind the write threshold is dropped, not buffered', async () => {
  await withGateway({ cometd: { ws_write_threshold_bytes: 65536 } }, async (gw) => {
    const s = await rawBayeux(gw.port);
    s.sock.pause(); // reads nothing more; its connects still go out
    const big = 'z'.repeat(900000);
    for (let i = 0; i < 40 && !/over the write threshold/.test(gw.stderr); i++) {
      s.connect();
      await cd.publish(gw.port, 'agent1', [{ channel: IM, data: { big } }]);
      await until(20);
    }
    assert.match(gw.stderr, /bytes not taken by the reader \(over the write threshold\)/);
    s.destroy();
    assert.equal((await h.request({ port: gw.port, path: '/healthz' })).status, 200);
  });
});
