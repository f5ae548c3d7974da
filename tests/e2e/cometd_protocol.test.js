// cometd_protocol.test.js: the Bayeux endpoint and desktop authentication
// byte by byte, with raw HTTP: suffixes and methods, array and single-object
// bodies, malformed bodies, handshake checks, unknown and foreign clientIds,
// the hold and advice.timeout:0, one copy per client, publish and subscribe
// refusals, disconnect waking the parked connect, the queue limit, SIGTERM
// answering parked connects, multiple-clients advice, 401, the JSESSIONID
// cookie, CSRF and CORS, and logs without secrets.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');
const cd = require('./lib/cometd');

const IM = '/v2/me/im-sessions';
const HS = { id: '1', channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['long-polling'] };

function connectMsg(clientId, id = '2', advice) {
  const m = { id, channel: '/meta/connect', clientId, connectionType: 'long-polling' };
  if (advice) m.advice = advice;
  return m;
}

async function withGateway(extra, fn) {
  const gw = await cd.startGateway(extra);
  try {
    await fn(gw);
  } finally {
    await cd.stopClean(gw);
  }
  return gw;
}

test('the endpoint answers on the bare path, "/" and every message-type suffix', async () => {
  await withGateway({}, async (gw) => {
    for (const suffix of ['', '/', '/handshake', '/connect', '/subscribe', '/unsubscribe', '/disconnect']) {
      const r = await cd.bayeux(gw.port, [HS], { suffix });
      assert.equal(r.status, 200, suffix);
      assert.equal(r.headers['content-type'], 'application/json');
      assert.equal(r.json[0].successful, true, suffix);
      assert.equal(r.json[0].channel, '/meta/handshake');
      assert.equal(r.json[0].id, '1');
    }
    const deeper = await cd.bayeux(gw.port, [HS], { suffix: '/a/b' });
    assert.equal(deeper.status, 404);
    const other = await cd.bayeux(gw.port, [HS], { suffix: 'x' });
    assert.equal(other.status, 404);
    const get = await h.request({ port: gw.port, path: '/api/v2/notifications',
      headers: { Authorization: cd.basic('agent1') } });
    assert.equal(get.status, 405);
    assert.equal(get.headers.allow, 'POST');
  });
});

test('handshake: version, long-polling, a fresh unguessable clientId, advice, ack ext', async () => {
  await withGateway({ cometd: { timeout_ms: 25000 } }, async (gw) => {
    const ids = new Set();
    for (let i = 0; i < 3; i++) {
      const r = await cd.bayeux(gw.port, { ...HS, ext: { ack: true, unknownExt: { x: 1 } } });
      const m = r.json[0];
      assert.equal(r.json.length, 1);
      assert.equal(m.version, '1.0');
      assert.deepEqual(m.supportedConnectionTypes, ['websocket', 'long-polling']);
      assert.match(m.clientId, /^[0-9A-Za-z]{32}$/); // 32 base62 characters: > 128 bits
      ids.add(m.clientId);
      assert.deepEqual(m.advice, { reconnect: 'retry', interval: 0, timeout: 25000, maxInterval: 10000 });
      assert.deepEqual(m.ext, { ack: true });
    }
    assert.equal(ids.size, 3);
    const noAck = await cd.bayeux(gw.port, [HS]);
    assert.equal(noAck.json[0].ext, undefined);
    const noLp = await cd.bayeux(gw.port, [{ ...HS, supportedConnectionTypes: ['websocket'] }]);
    assert.equal(noLp.json[0].successful, false);
    assert.match(noLp.json[0].error, /^400:/);
    assert.equal(noLp.json[0].advice.reconnect, 'none');
    const noVersion = await cd.bayeux(gw.port, [{ id: '1', channel: '/meta/handshake',
      supportedConnectionTypes: ['long-polling'] }]);
    assert.equal(noVersion.json[0].successful, false);
    // Other messages in a handshake request are ignored.
    const mixed = await cd.bayeux(gw.port, [HS, { id: '2', channel: '/meta/subscribe', clientId: 'x', subscription: IM }]);
    assert.equal(mixed.json.length, 1);
    assert.equal(mixed.json[0].successful, true);
  });
});

test('malformed bodies get HTTP 400 with a non-empty JSON array', async () => {
  await withGateway({}, async (gw) => {
    for (const body of ['[]', '{not json', '42', '"x"', '[1]']) {
      const r = await cd.bayeux(gw.port, body);
      assert.ok(Array.isArray(r.json) && r.json.length > 0, `${body}: ${r.body}`);
      assert.equal(r.headers['content-type'], 'application/json');
      assert.equal(r.json[0].successful, false, body);
      assert.match(r.json[0].error, /^400:/, body);
      if (body !== '[1]') assert.equal(r.status, 400, body);
    }
  });
});

test('odd message shapes get error replies and change nothing', async () => {
  await withGateway({ cometd: { timeout_ms: 200 } }, async (gw) => {
    const id = await cd.rawHandshake(gw.port);
    const odd = [
      [{ channel: 7, clientId: id }],
      [{ id: { x: 1 }, channel: '/meta/connect', clientId: id, advice: { timeout: 'soon' } }],
      [{ channel: '/meta/subscribe', clientId: id, subscription: [[IM]] }],
      [{ channel: '/meta/subscribe', clientId: id, subscription: Array(65).fill(IM) }],
      [{ channel: '/meta/subscribe', clientId: id, subscription: '/' + 'x'.repeat(300) }],
      [{ channel: '/meta/connect', clientId: 12345 }],
      [{ channel: '/meta/handshake', version: 1, supportedConnectionTypes: 'long-polling' }],
      [connectMsg(id, 'a', { timeout: 0 }), connectMsg(id, 'b', { timeout: 0 })],
      [null, true, 'x'],
      [{ channel: '/meta/connect', clientId: id, ext: { ack: 'x' }, advice: { timeout: -5 } }],
    ];
    for (const body of odd) {
      const r = await cd.bayeux(gw.port, body, { timeoutMs: 5000 });
      assert.ok([200, 400].includes(r.status), `${JSON.stringify(body)}: ${r.status}`);
      assert.ok(Array.isArray(r.json) && r.json.length > 0, `${JSON.stringify(body)}: ${r.body}`);
    }
    // Two connects in one request: one is refused.
    const two = await cd.bayeux(gw.port, [connectMsg(id, 'a', { timeout: 0 }), connectMsg(id, 'b', { timeout: 0 })]);
    assert.deepEqual(two.json.map((m) => [m.id, m.successful]).sort(), [['a', true], ['b', false]]);
    // Nothing was subscribed by the refused subscribes.
    assert.equal(await cd.publish(gw.port, 'agent1', [{ channel: IM, data: {} }]), 0);
  });
});

test('unknown, expired-looking and foreign clientIds get 402 with handshake advice', async () => {
  await withGateway({}, async (gw) => {
    const id = await cd.rawHandshake(gw.port, 'agent1');
    for (const [user, cid] of [['agent1', 'x'.repeat(32)], ['agent1', undefined], ['agent2', id]]) {
      for (const m of [connectMsg(cid), { id: '3', channel: '/meta/subscribe', clientId: cid, subscription: IM }]) {
        const r = await cd.bayeux(gw.port, [m], { user });
        assert.equal(r.status, 200);
        assert.equal(r.json[0].successful, false);
        assert.equal(r.json[0].id, m.id);
        assert.equal(r.json[0].channel, m.channel);
        assert.match(r.json[0].error, /^402::/);
        assert.equal(r.json[0].advice.reconnect, 'handshake');
      }
    }
    assert.match(gw.stderr, /presented by agent2: treated as unknown/);
    // The owner still can use it.
    const ok = await cd.bayeux(gw.port, [connectMsg(id, '5', { timeout: 0 })]);
    assert.equal(ok.json[0].successful, true);
  });
});

test('connect: timeout 0 answers at once; otherwise held until the hold time', async () => {
  await withGateway({ cometd: { timeout_ms: 1500 } }, async (gw) => {
    const id = await cd.rawHandshake(gw.port);
    let t = Date.now();
    const now = await cd.bayeux(gw.port, connectMsg(id, '2', { timeout: 0 }), { suffix: '/connect' });
    assert.ok(Date.now() - t < 1000);
    assert.equal(now.json[0].successful, true);
    t = Date.now();
    const held = await cd.bayeux(gw.port, [connectMsg(id, '3')], { suffix: '/connect' });
    const took = Date.now() - t;
    assert.ok(took >= 1400, `held ${took} ms`);
    assert.equal(held.json.length, 1);
    assert.deepEqual(held.json[0], { id: '3', channel: '/meta/connect', successful: true,
      advice: { reconnect: 'retry', interval: 0, timeout: 1500, maxInterval: 10000 } });
    // A client may ask for a shorter hold.
    t = Date.now();
    await cd.bayeux(gw.port, [connectMsg(id, '4', { timeout: 200 })]);
    assert.ok(Date.now() - t < 1200);
  });
});

test('a parked connect whose connection dies is unparked; messages wait for the next connect', async () => {
  await withGateway({ log: { level: 'debug' } }, async (gw) => {
    const id = await cd.rawHandshake(gw.port);
    await cd.bayeux(gw.port, [{ id: '2', channel: '/meta/subscribe', clientId: id, subscription: IM }]);
    const raw = await h.rawConnect(gw.port);
    const body = JSON.stringify([connectMsg(id, '3')]);
    raw.write(`POST /api/v2/notifications/connect HTTP/1.1\r\nHost: x\r\nAuthorization: ${cd.basic('agent1')}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    await h.waitFor(() => /connect parked/.test(gw.stderr), 5000 * h.slow, 'the connect to park');
    raw.end();
    await h.waitFor(() => /parked connect aborted/.test(gw.stderr), 5000 * h.slow, 'the abort');
    assert.equal(await cd.publish(gw.port, 'agent1', [{ channel: IM, data: { n: 1 } }]), 1);
    const r = await cd.bayeux(gw.port, [connectMsg(id, '4')]);
    assert.deepEqual(r.json.map((m) => m.id || m.data.n), [1, '4']);
  });
});

test('a second connect answers the parked one at once and is held itself', async () => {
  await withGateway({ log: { level: 'debug' } }, async (gw) => {
    const id = await cd.rawHandshake(gw.port);
    await cd.bayeux(gw.port, [{ id: '2', channel: '/meta/subscribe', clientId: id, subscription: IM }]);
    const first = cd.bayeux(gw.port, [connectMsg(id, '3')]);
    await h.waitFor(() => (gw.stderr.match(/connect parked/g) || []).length === 1, 5000 * h.slow);
    const second = cd.bayeux(gw.port, [connectMsg(id, '4')]);
    const r1 = await first;
    assert.deepEqual(r1.json.map((m) => [m.id, m.channel, m.successful]), [['3', '/meta/connect', true]]);
    await h.waitFor(() => (gw.stderr.match(/connect parked/g) || []).length === 2, 5000 * h.slow);
    assert.equal(await cd.publish(gw.port, 'agent1', [{ channel: IM, data: { n: 1 } }]), 1);
    const r2 = await second;
    assert.deepEqual(r2.json.map((m) => m.id || m.data.n), [1, '4']);
  });
});

test('a notification reaches a client once even when several subscriptions match', async () => {
  await withGateway({}, async (gw) => {
    const id = await cd.rawHandshake(gw.port);
    const sub = await cd.bayeux(gw.port, [{ id: '2', channel: '/meta/subscribe', clientId: id,
      subscription: [IM, '/v2/me/*', '/v2/me/**', '/**'] }], { suffix: '/' });
    assert.equal(sub.json[0].successful, true);
    assert.deepEqual(sub.json[0].subscription, [IM, '/v2/me/*', '/v2/me/**', '/**']);
    assert.equal(await cd.publish(gw.port, 'agent1', [{ channel: IM, data: { n: 1 } },
      { channel: '/v2/me/calls/x', data: { n: 2 } }]), 2);
    const r = await cd.bayeux(gw.port, [connectMsg(id, '3', { timeout: 0 })]);
    assert.deepEqual(r.json.map((m) => m.channel), [IM, '/v2/me/calls/x', '/meta/connect']);
    assert.deepEqual(r.json[0], { channel: IM, data: { n: 1 } });
    // Unsubscribing the deep patterns leaves /v2/me/calls/x unmatched ("/*" is one segment).
    const uns = await cd.bayeux(gw.port, [{ id: '4', channel: '/meta/unsubscribe', clientId: id,
      subscription: ['/v2/me/**', '/**'] }], { suffix: '/unsubscribe' });
    assert.equal(uns.json[0].successful, true);
    assert.equal(await cd.publish(gw.port, 'agent1', [{ channel: '/v2/me/calls/x', data: {} }]), 0);
    assert.equal(await cd.publish(gw.port, 'agent1', [{ channel: '/v2/me/calls', data: {} }]), 1);
  });
});

test('subscribe refuses /meta and bad channels; client publishes only to /service', async () => {
  await withGateway({}, async (gw) => {
    const id = await cd.rawHandshake(gw.port);
    const r = await cd.bayeux(gw.port, [
      { id: '2', channel: '/meta/subscribe', clientId: id, subscription: '/meta/*' },
      { id: '3', channel: '/meta/subscribe', clientId: id, subscription: [IM, '/v2/*/x'] },
      { id: '4', channel: '/meta/subscribe', clientId: id, subscription: 7 },
      { id: '5', channel: '/v2/me/im-sessions', clientId: id, data: { x: 1 } },
      { id: '6', channel: '/service/echo', clientId: id, data: { x: 1 } },
      { id: '7', channel: '/meta/nonsense', clientId: id },
    ], { suffix: '/' });
    const byId = Object.fromEntries(r.json.map((m) => [m.id, m]));
    assert.equal(byId['2'].successful, false);
    assert.equal(byId['2'].error, '403:/meta/*:subscribe_denied');
    assert.equal(byId['3'].successful, false);
    assert.match(byId['3'].error, /^400:\/v2\/\*\/x:/);
    assert.equal(byId['4'].successful, false);
    assert.equal(byId['5'].successful, false);
    assert.equal(byId['5'].error, '403:/v2/me/im-sessions:publish_denied');
    assert.equal(byId['6'].successful, true);
    assert.equal(byId['7'].successful, false);
    // The refused subscribe of [IM, bad] changed nothing.
    assert.equal(await cd.publish(gw.port, 'agent1', [{ channel: IM, data: {} }]), 0);
  });
});

test('disconnect wakes the parked connect and removes the client', async () => {
  await withGateway({ log: { level: 'debug' } }, async (gw) => {
    const id = await cd.rawHandshake(gw.port);
    const t = Date.now();
    const parked = cd.bayeux(gw.port, [connectMsg(id, '2')], { suffix: '/connect' });
    await h.waitFor(() => /connect parked/.test(gw.stderr), 5000 * h.slow, 'the connect to park');
    const d = await cd.bayeux(gw.port, [{ id: '3', channel: '/meta/disconnect', clientId: id }],
      { suffix: '/disconnect' });
    assert.equal(d.json[0].successful, true);
    const p = await parked;
    assert.ok(Date.now() - t < 5000, 'answered long before the 30 s hold');
    assert.deepEqual(p.json.map((m) => [m.channel, m.successful]), [['/meta/connect', true]]);
    assert.equal(p.json[0].advice.reconnect, 'none');
    const again = await cd.bayeux(gw.port, [connectMsg(id, '4', { timeout: 0 })]);
    assert.equal(again.json[0].advice.reconnect, 'handshake');
  });
});

test('a client over the queue limit is disconnected with handshake advice and logged', async () => {
  await withGateway({ cometd: { max_queue: 5 } }, async (gw) => {
    const id = await cd.rawHandshake(gw.port, 'agent1', { ack: true });
    await cd.bayeux(gw.port, [{ id: '2', channel: '/meta/subscribe', clientId: id, subscription: IM }]);
    const msgs = Array.from({ length: 5 }, (_, i) => ({ channel: IM, data: { i } }));
    assert.equal(await cd.publish(gw.port, 'agent1', msgs), 5);
    // Delivered but not acknowledged: still counted against the limit.
    const r = await cd.bayeux(gw.port, [connectMsg(id, '3', { timeout: 0 })]);
    assert.equal(r.json.length, 6);
    assert.equal(await cd.publish(gw.port, 'agent1', [{ channel: IM, data: { i: 5 } }]), 0);
    await h.waitFor(() => /fell behind \(5 messages, \d+ bytes; cometd\.max_queue\): disconnecting it/.test(gw.stderr),
      5000 * h.slow, 'the overflow log line');
    const after = await cd.bayeux(gw.port, [connectMsg(id, '4', { timeout: 0 })]);
    assert.equal(after.json[0].successful, false);
    assert.equal(after.json[0].error, '408::Too many pending messages');
    assert.equal(after.json[0].advice.reconnect, 'handshake');
  });
});

test('overflow while a connect is parked answers it with handshake advice', async () => {
  await withGateway({ cometd: { max_queue: 5 }, log: { level: 'debug' } }, async (gw) => {
    const id = await cd.rawHandshake(gw.port, 'agent1');
    await cd.bayeux(gw.port, [{ id: '2', channel: '/meta/subscribe', clientId: id, subscription: IM }]);
    const parked = cd.bayeux(gw.port, [connectMsg(id, '3')]);
    await h.waitFor(() => /connect parked/.test(gw.stderr), 5000 * h.slow, 'the connect to park');
    // Six in one loop turn: the sixth finds five waiting.
    const msgs = Array.from({ length: 6 }, (_, i) => ({ channel: IM, data: { i } }));
    assert.equal(await cd.publish(gw.port, 'agent1', msgs), 5);
    const r = await parked;
    assert.deepEqual(r.json, [{ id: '3', channel: '/meta/connect', successful: false,
      error: '408::Too many pending messages', advice: { reconnect: 'handshake', interval: 0 } }]);
  });
});

test('at cometd.max_clients_per_agent a new handshake ends the oldest client', async () => {
  await withGateway({ cometd: { max_clients_per_agent: 2 } }, async (gw) => {
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push(await cd.rawHandshake(gw.port, 'agent1'));
    const other = await cd.rawHandshake(gw.port, 'agent2');
    const state = async (id, user = 'agent1') =>
      (await cd.bayeux(gw.port, [connectMsg(id, '9', { timeout: 0 })], { user })).json[0].successful;
    assert.deepEqual([await state(ids[0]), await state(ids[1]), await state(ids[2])], [false, true, true]);
    assert.equal(await state(other, 'agent2'), true);
    assert.match(gw.stderr, /replaced: cometd\.max_clients_per_agent reached/);
  });
});

test('ack: unacknowledged batches are resent, acknowledged ones are not', async () => {
  await withGateway({}, async (gw) => {
    const id = await cd.rawHandshake(gw.port, 'agent1', { ack: true });
    await cd.bayeux(gw.port, [{ id: '2', channel: '/meta/subscribe', clientId: id, subscription: IM }]);
    await cd.publish(gw.port, 'agent1', [{ channel: IM, data: { n: 1 } }]);
    const first = await cd.bayeux(gw.port, [{ ...connectMsg(id, '3', { timeout: 0 }), ext: { ack: 0 } }]);
    const batch = first.json[1].ext.ack;
    assert.equal(first.json[0].data.n, 1);
    // The client never saw that batch: it acks the previous one.
    const again = await cd.bayeux(gw.port, [{ ...connectMsg(id, '4', { timeout: 0 }), ext: { ack: batch - 1 } }]);
    assert.equal(again.json[0].data.n, 1);
    const b2 = again.json[1].ext.ack;
    assert.ok(b2 > batch);
    const done = await cd.bayeux(gw.port, [{ ...connectMsg(id, '5', { timeout: 0 }), ext: { ack: b2 } }]);
    assert.equal(done.json.length, 1);
    assert.equal(done.json[0].channel, '/meta/connect');
  });
});

test('SIGTERM answers every parked connect at once', async () => {
  const gw = await cd.startGateway({ cometd: { timeout_ms: 60000 }, shutdown: { drain_ms: 20000 },
    log: { level: 'debug' } });
  try {
    const ids = [await cd.rawHandshake(gw.port), await cd.rawHandshake(gw.port, 'agent2')];
    const parked = ids.map((id, i) => cd.bayeux(gw.port, [connectMsg(id, '2')],
      { user: i ? 'agent2' : 'agent1', timeoutMs: 30000 }));
    await h.waitFor(() => (gw.stderr.match(/connect parked/g) || []).length === 2, 5000 * h.slow,
      'both connects to park');
    const t = Date.now();
    gw.signal_('SIGTERM');
    const replies = await Promise.all(parked);
    for (const r of replies) assert.equal(r.json[0].successful, true);
    const ex = await gw.exited;
    assert.equal(ex.code, 0);
    assert.ok(Date.now() - t < 10000, 'exited well before drain_ms');
    assert.match(gw.stderr, /answered 2 parked connect/);
  } finally {
    await cd.stopClean(gw);
  }
});

test('multiple-clients advice only where a per-browser limit is configured', async () => {
  for (const limit of [0, 1]) {
    await withGateway({ cometd: { max_connects_per_browser: limit, timeout_ms: 3000 },
      log: { level: 'debug' } }, async (gw) => {
      const hs = await cd.bayeux(gw.port, [HS]);
      const cookie = (hs.headers['set-cookie'] || []).map((c) => c.split(';')[0]);
      assert.equal(cookie.some((c) => c.startsWith('BAYEUX_BROWSER=')), limit > 0);
      const a = hs.json[0].clientId;
      const b = (await cd.bayeux(gw.port, [HS], { headers: { Cookie: cookie.join('; ') } })).json[0].clientId;
      const parked = cd.bayeux(gw.port, [connectMsg(a, '2')], { headers: { Cookie: cookie.join('; ') } });
      await h.waitFor(() => /connect parked/.test(gw.stderr), 5000 * h.slow, 'the first connect to park');
      const t = Date.now();
      const second = await cd.bayeux(gw.port, [connectMsg(b, '3', { timeout: 1500 })],
        { headers: { Cookie: cookie.join('; ') } });
      const adv = second.json[0].advice;
      if (limit) {
        assert.equal(adv['multiple-clients'], true);
        assert.equal(adv.interval, 2000);
        assert.ok(Date.now() - t < 1200, 'answered at once, not held');
      } else {
        assert.equal(adv['multiple-clients'], undefined);
        assert.ok(Date.now() - t >= 1450, 'the second connect was held');
      }
      await parked;
    });
  }
});

test('401 with the GWS body and a Basic challenge when not authenticated', async () => {
  await withGateway({}, async (gw) => {
    const cases = [
      {},
      { Authorization: cd.basic('agent1', 'wrong') },
      { Authorization: cd.basic('nobody', 'pw-one') },
      { Authorization: 'Basic !!!' },
      { Authorization: 'Bearer abc' },
      { Cookie: 'JSESSIONID=' + 'A'.repeat(32) },
    ];
    for (const headers of cases) {
      const r = await cd.bayeux(gw.port, [HS], { user: null, headers });
      assert.equal(r.status, 401, JSON.stringify(headers));
      assert.deepEqual(r.json, { statusCode: 20, statusMessage: 'Access denied' });
      assert.equal(r.headers['www-authenticate'], 'Basic realm="ucgw"');
      assert.equal(r.headers['content-type'], 'application/json');
    }
  });
});

test('JSESSIONID: issued once, HttpOnly, then enough on its own; another agent cannot use it', async () => {
  const gw = await withGateway({}, async (gw) => {
    const hs = await cd.bayeux(gw.port, [HS]);
    const set = hs.headers['set-cookie'][0];
    assert.match(set, /^JSESSIONID=[0-9A-Za-z]{32}; Path=\/; HttpOnly; SameSite=Lax$/);
    const cookie = set.split(';')[0];
    const id = hs.json[0].clientId;
    const c = await cd.bayeux(gw.port, [connectMsg(id, '2', { timeout: 0 })], { user: null, headers: { Cookie: cookie } });
    assert.equal(c.status, 200);
    assert.equal(c.json[0].successful, true);
    assert.equal(c.headers['set-cookie'], undefined, 'no new session for a valid cookie');
    const again = await cd.bayeux(gw.port, [connectMsg(id, '3', { timeout: 0 })], { headers: { Cookie: `x=1; ${cookie}` } });
    assert.equal(again.headers['set-cookie'], undefined, 'Basic of the same user keeps the session');
    const other = await cd.bayeux(gw.port, [connectMsg(id, '4', { timeout: 0 })], { user: 'agent2', headers: { Cookie: cookie } });
    assert.equal(other.json[0].successful, false, 'agent2 Basic wins over agent1 cookie');
    assert.match(other.headers['set-cookie'][0], /^JSESSIONID=/);
    const who = await h.request({ port: gw.port, path: '/api/v2/diagnostics/session', headers: { Cookie: cookie } });
    assert.equal(who.json.user, 'agent1');
    // A stale JSESSIONID before the live one (another path or gateway on this host) is skipped.
    const stale = await h.request({ port: gw.port, path: '/api/v2/diagnostics/session',
      headers: { Cookie: `JSESSIONID=${'C'.repeat(32)}; other=1; ${cookie}` } });
    assert.equal(stale.json.user, 'agent1');
  });
  // Nothing secret in the log.
  for (const secret of Object.values(cd.AGENTS)) assert.ok(!gw.stderr.includes(secret));
  assert.ok(!/JSESSIONID=|Authorization|Basic [A-Za-z0-9+/=]{8}/.test(gw.stderr));
});

test('sessions expire when idle', async () => {
  const gw = await cd.startGateway({ log: { level: 'debug' } }, ['-o', 'auth.session_idle_ms=1000']);
  try {
    const hs = await cd.bayeux(gw.port, [HS]);
    const cookie = hs.headers['set-cookie'][0].split(';')[0];
    const ok = await h.request({ port: gw.port, path: '/api/v2/diagnostics/session', headers: { Cookie: cookie } });
    assert.equal(ok.status, 200);
    // Requests of another agent (which do not touch agent1's session) run the expiry.
    await h.waitFor(async () => {
      await h.request({ port: gw.port, path: '/api/v2/diagnostics/session',
        headers: { Authorization: cd.basic('agent2') } });
      return /session of agent1 expired/.test(gw.stderr);
    }, 5000 * h.slow, 'the session to expire');
    const gone = await h.request({ port: gw.port, path: '/api/v2/diagnostics/session', headers: { Cookie: cookie } });
    assert.equal(gone.status, 401);
  } finally {
    await cd.stopClean(gw);
  }
});

test('a user without cookie support only ever ends its own oldest sessions', async () => {
  const gw = await cd.startGateway({}, ['-o', 'auth.max_sessions_per_user=2']);
  try {
    const session = (headers) => h.request({ port: gw.port, path: '/api/v2/diagnostics/session', headers });
    const other = (await session({ Authorization: cd.basic('agent2') })).headers['set-cookie'][0].split(';')[0];
    const mine = [];
    for (let i = 0; i < 3; i++) {
      mine.push((await session({ Authorization: cd.basic('agent1') })).headers['set-cookie'][0].split(';')[0]);
    }
    const st = async (cookie) => (await session({ Cookie: cookie })).status;
    assert.deepEqual([await st(mine[0]), await st(mine[1]), await st(mine[2]), await st(other)],
      [401, 200, 200, 200]);
  } finally {
    await cd.stopClean(gw);
  }
});

test('CSRF: GET responses name the token; enforcement refuses POSTs without it', async () => {
  const gw = await cd.startGateway({}, ['-o', 'auth.csrf_enforce=true']);
  try {
    const who = await h.request({ port: gw.port, path: '/api/v2/diagnostics/session',
      headers: { Authorization: cd.basic('agent1') } });
    assert.equal(who.status, 200);
    assert.equal(who.headers['x-csrf-header'], 'X-CSRF-TOKEN');
    const token = who.headers['x-csrf-token'];
    assert.match(token, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-a[0-9a-f]{3}-[0-9a-f]{12}$/);
    const cookie = who.headers['set-cookie'][0].split(';')[0];
    const body = JSON.stringify({ channel: IM, data: {} });
    const post = (headers) => h.request({ port: gw.port, method: 'POST', path: '/api/v2/diagnostics/publish',
      headers: { 'Content-Type': 'application/json', ...headers }, body });
    for (const headers of [{ Authorization: cd.basic('agent1') }, { Cookie: cookie },
      { Cookie: cookie, 'X-CSRF-TOKEN': token.replace(/.$/, (c) => (c === '0' ? '1' : '0')) },
      { Authorization: cd.basic('agent1'), 'X-CSRF-TOKEN': token }]) {
      const r = await post(headers);
      assert.equal(r.status, 403, JSON.stringify(Object.keys(headers)));
      assert.deepEqual(r.json, { statusCode: 3, statusMessage: 'Missing or invalid Csrf token' });
    }
    const good = await post({ Cookie: cookie, 'X-CSRF-TOKEN': token });
    assert.equal(good.status, 200);
    // The Bayeux endpoint itself is not subject to CSRF (JSON POSTs need CORS anyway).
    const hs = await cd.bayeux(gw.port, [HS], { user: null, headers: { Cookie: cookie } });
    assert.equal(hs.json[0].successful, true);
  } finally {
    await cd.stopClean(gw);
  }
});

test('CORS: preflight and credentials for configured origins only, never "*"', async () => {
  const gw = await cd.startGateway({}, ['-o', 'auth.cors_origins=["https://desk.example"]']);
  try {
    const pre = (origin) => h.request({ port: gw.port, method: 'OPTIONS', path: '/api/v2/notifications/handshake',
      headers: { Origin: origin, 'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'content-type,authorization' } });
    const ok = await pre('https://desk.example');
    assert.equal(ok.status, 204);
    assert.equal(ok.headers['access-control-allow-origin'], 'https://desk.example');
    assert.equal(ok.headers['access-control-allow-credentials'], 'true');
    assert.match(ok.headers['access-control-allow-methods'], /POST/);
    assert.match(ok.headers['access-control-allow-headers'], /Authorization/);
    assert.match(ok.headers['access-control-allow-headers'], /X-CSRF-TOKEN/);
    const bad = await pre('https://evil.example');
    assert.equal(bad.status, 403);
    assert.equal(bad.headers['access-control-allow-origin'], undefined);
    const r = await cd.bayeux(gw.port, [HS], { headers: { Origin: 'https://desk.example' } });
    assert.equal(r.headers['access-control-allow-origin'], 'https://desk.example');
    assert.equal(r.headers['access-control-allow-credentials'], 'true');
    assert.match(r.headers['access-control-expose-headers'], /X-CSRF-TOKEN/);
    const r2 = await cd.bayeux(gw.port, [HS], { headers: { Origin: 'https://evil.example' } });
    assert.equal(r2.headers['access-control-allow-origin'], undefined);
    const star = await h.run('ucgw', ['-t', '-o', 'auth.cors_origins=["*"]']);
    assert.equal(star.code, 1);
    assert.match(star.stderr, /no wildcard/);
  } finally {
    await cd.stopClean(gw);
  }
});

test('the publish diagnostics endpoint is off by default and checks its input', async () => {
  const off = await h.start('ucgw', ['-o', 'listen=["http://127.0.0.1:0"]']);
  try {
    const r = await h.request({ port: off.port, method: 'POST', path: '/api/v2/diagnostics/publish',
      headers: { Authorization: cd.basic('agent1') }, body: '{}' });
    assert.equal(r.status, 404);
  } finally {
    await cd.stopClean(off);
  }
  await withGateway({}, async (gw) => {
    for (const body of ['{', '{}', '{"channel":"/v2/x"}', '{"channel":"bad","data":{}}',
      '{"channel":"/meta/connect","data":{}}', '{"channel":"/v2/x","data":1}', '[]']) {
      const r = await h.request({ port: gw.port, method: 'POST', path: '/api/v2/diagnostics/publish',
        headers: { Authorization: cd.basic('agent1'), 'Content-Type': 'application/json' }, body });
      assert.equal(r.status, 400, body);
      assert.ok(r.json.statusCode > 0 && r.json.statusMessage, body);
    }
  });
});

test('ucgw -t checks auth.users and the notification keys', async () => {
  const fs = require('node:fs');
  const path = require('node:path');
  const f = path.join(h.tmpdir(), 'bad.conf');
  fs.writeFileSync(f, '{\n "auth": {"users": [{"user": "a", "salt": "s", "password_sha256": "xyz"}]},\n' +
    ' "cometd": {"max_queue": 0}\n}\n');
  const r = await h.run('ucgw', ['-t', '-c', f]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`^${f}:2:\\d+: auth\\.users: entry 1 \\(a\\): password_sha256 must be 64`, 'm'));
  assert.match(r.stderr, new RegExp(`^${f}:3:\\d+: cometd\\.max_queue: 0 is out of range`, 'm'));
  assert.ok(!r.stderr.includes('xyz'), 'the hash value is not echoed');
});

test('SIGHUP takes new auth.users and cometd limits; clients and sessions stay', async () => {
  const fs = require('node:fs');
  const path = require('node:path');
  const crypto = require('node:crypto');
  const gw = await cd.startGateway({ log: { level: 'info' } });
  try {
    const id = await cd.rawHandshake(gw.port, 'agent1');
    const hs = await cd.bayeux(gw.port, [HS]);
    const cookie = hs.headers['set-cookie'][0].split(';')[0];
    const file = path.join(gw.confDir, 'ucgw.conf');
    const cfg = JSON.parse(fs.readFileSync(file, 'utf8'));
    const salt = 'new-salt';
    cfg.auth.users[0].salt = salt;
    cfg.auth.users[0].password_sha256 = crypto.createHash('sha256').update(salt + 'changed').digest('hex');
    cfg.cometd = { timeout_ms: 1234 };
    fs.writeFileSync(file, JSON.stringify(cfg));
    gw.signal_('SIGHUP');
    await h.waitFor(() => /reload done/.test(gw.stderr), 5000 * h.slow, 'the reload');
    const old = await cd.bayeux(gw.port, [HS]);
    assert.equal(old.status, 401, 'the old password no longer works');
    const auth = { Authorization: 'Basic ' + Buffer.from('agent1:changed').toString('base64') };
    const fresh = await cd.bayeux(gw.port, [HS], { user: null, headers: auth });
    assert.equal(fresh.json[0].advice.timeout, 1234);
    // The client and the session made before the reload are still there.
    const c = await cd.bayeux(gw.port, [connectMsg(id, '2', { timeout: 0 })], { user: null, headers: { Cookie: cookie } });
    assert.equal(c.json[0].successful, true);
  } finally {
    await cd.stopClean(gw);
  }
});

