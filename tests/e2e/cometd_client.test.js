// cometd_client.test.js: the official CometD JavaScript client (npm cometd
// 9.0.0 + cometd-nodejs-client 2.0.0, long-polling, ack extension) against
// the real ucgw: URL suffixes, exact and wildcard subscriptions, a burst of
// 50 notifications in one batch and in order, re-handshake and re-subscribe
// after a gateway restart, a lost long-poll response recovered by ack (and
// lost without it), a silent client expiring, and agents kept apart.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');
const cd = require('./lib/cometd');

const IM = '/v2/me/im-sessions';

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

test('handshake, connect and subscribe use the URL suffixes of the official client', async () => {
  await withGateway({}, async (gw, clients) => {
    const proxy = await cd.cuttingProxy(gw.port);
    try {
      const c = await cd.newClient(proxy.port, 'agent1');
      clients.push(c);
      const hs = await cd.handshake(c);
      assert.equal(hs.successful, true);
      assert.match(c.getClientId(), /^[0-9A-Za-z]{32}$/);
      await cd.subscribe(c, IM);
      await cd.connected(c);
      await cd.disconnect(c);
      const paths = proxy.requests.map((r) => r.replace(/^POST /, ''));
      assert.equal(paths[0], '/api/v2/notifications/handshake');
      assert.ok(paths.includes('/api/v2/notifications/connect'), paths.join(' '));
      assert.ok(paths.includes('/api/v2/notifications/'), paths.join(' '));
      assert.ok(paths.includes('/api/v2/notifications/disconnect'), paths.join(' '));
      assert.ok(proxy.requests.every((r) => r.startsWith('POST ')), proxy.requests.join(' '));
    } finally {
      await proxy.close();
    }
  });
});

test('exact and wildcard subscriptions get what matches, once per subscription', async () => {
  await withGateway({}, async (gw, clients) => {
    const exact = await cd.newClient(gw.port, 'agent1');
    const one = await cd.newClient(gw.port, 'agent1');
    const deep = await cd.newClient(gw.port, 'agent1');
    const both = await cd.newClient(gw.port, 'agent1');
    clients.push(exact, one, deep, both);
    for (const c of clients) await cd.handshake(c);
    await cd.subscribe(exact, IM);
    await cd.subscribe(one, '/v2/me/*');
    await cd.subscribe(deep, '/v2/**');
    await cd.subscribe(both, IM);
    await cd.subscribe(both, '/v2/me/*');
    for (const c of clients) await cd.connected(c);
    const queued = await cd.publish(gw.port, 'agent1', [
      { channel: IM, data: { n: 1 } },
      { channel: '/v2/me/calls', data: { n: 2 } },
      { channel: '/v2/me/calls/deeper', data: { n: 3 } },
      { channel: '/v2/other', data: { n: 4 } },
      { channel: '/v3/x', data: { n: 5 } },
    ]);
    assert.equal(queued, 1 + 2 + 4 + 2); // exact, one, deep, both (each message once per client)
    const ns = (c) => c.received.map((m) => m.data.n);
    await h.waitFor(() => deep.received.length === 4 && one.received.length === 2 &&
      exact.received.length === 1 && both.received.length === 3, 5000 * h.slow,
    () => `received: exact ${ns(exact)} one ${ns(one)} deep ${ns(deep)} both ${ns(both)}`);
    assert.deepEqual(ns(exact), [1]);
    assert.deepEqual(ns(one), [1, 2]);
    assert.deepEqual(ns(deep), [1, 2, 3, 4]);
    // The server sends /v2/me/im-sessions once; the client hands it to both
    // of its subscriptions (a duplicate from the server would make it 4 here).
    assert.deepEqual(ns(both).sort(), [1, 1, 2]);
    for (const m of deep.received) assert.equal(m.clientId, undefined);
  });
});

test('50 notifications arrive in one batch, in order', async () => {
  await withGateway({}, async (gw, clients) => {
    const c = await cd.newClient(gw.port, 'agent1');
    clients.push(c);
    let connects = 0;
    c.addListener('/meta/connect', (m) => { if (m.successful) connects++; });
    await cd.handshake(c);
    const batchOf = [];
    await cd.subscribe(c, IM, () => batchOf.push(connects));
    await cd.connected(c);
    const msgs = [];
    for (let i = 0; i < 50; i++) msgs.push({ channel: IM, data: { messageType: 'Test', seq: i } });
    assert.equal(await cd.publish(gw.port, 'agent1', msgs), 50);
    await h.waitFor(() => c.received.length >= 50, 5000 * h.slow, () => `got ${c.received.length}`);
    assert.deepEqual(c.received.map((m) => m.data.seq), [...Array(50).keys()]);
    // Every message was handled before the connect reply of the same response.
    assert.equal(new Set(batchOf).size, 1, `batches: ${[...new Set(batchOf)]}`);
    await h.waitFor(() => connects > batchOf[0], 5000 * h.slow, 'the connect reply after the batch');
  });
});

test('after a gateway restart the client handshakes and subscribes again', async () => {
  const gw = await cd.startGateway();
  const port = gw.port;
  let gw2;
  const c = await cd.newClient(port, 'agent1');
  try {
    c.addListener('/meta/handshake', (m) => {
      if (m.successful && m.reestablish) cd.subscribe(c, IM).catch(() => {});
    });
    await cd.handshake(c);
    await cd.subscribe(c, IM);
    await cd.connected(c);
    const firstId = c.getClientId();
    assert.equal(await cd.publish(port, 'agent1', [{ channel: IM, data: { n: 'before' } }]), 1);
    await h.waitFor(() => c.received.length === 1);
    assert.equal((await gw.stop()).code, 0);
    gw2 = await cd.startGateway({}, ['-o', `listen=["http://127.0.0.1:${port}"]`], gw.confDir);
    await h.waitFor(() => c.handshakes.filter((m) => m.successful).length >= 2, 20000 * h.slow,
      'a second successful handshake');
    const again = c.handshakes.filter((m) => m.successful)[1];
    assert.equal(again.reestablish, true);
    assert.notEqual(c.getClientId(), firstId);
    // Re-subscribed: a notification published on the new gateway arrives.
    await h.waitFor(async () => (await cd.publish(port, 'agent1',
      [{ channel: IM, data: { n: 'after' } }])) === 1, 10000 * h.slow, 'the re-subscription');
    await h.waitFor(() => c.received.some((m) => m.data.n === 'after'), 5000 * h.slow);
    assert.match(gw2.stderr, /handshake from/);
  } finally {
    await Promise.race([cd.disconnect(c), new Promise((r) => setTimeout(r, 2000))]);
    await cd.stopClean(gw);
    if (gw2) await cd.stopClean(gw2);
  }
});

// Lose the connect response carrying marker on its way to the client.
async function loseOneResponse(ack) {
  let result;
  await withGateway({}, async (gw, clients) => {
    const proxy = await cd.cuttingProxy(gw.port, (text) => {
      if (proxy.cuts === 0 && text.includes('"lost-1"')) return true;
      return false;
    });
    try {
      const c = await cd.newClient(proxy.port, 'agent1', { ack });
      clients.push(c);
      const hs = await cd.handshake(c);
      assert.equal(Boolean(hs.ext && hs.ext.ack), ack);
      await cd.subscribe(c, IM);
      await cd.connected(c);
      assert.equal(await cd.publish(gw.port, 'agent1', [{ channel: IM, data: { n: 'lost-1' } }]), 1);
      await h.waitFor(() => proxy.cuts === 1, 5000 * h.slow, 'the proxy to cut the response');
      // The client notices, reconnects (after its backoff) and keeps polling.
      assert.equal(await cd.publish(gw.port, 'agent1', [{ channel: IM, data: { n: 'next-2' } }]), 1);
      await h.waitFor(() => c.received.some((m) => m.data.n === 'next-2'), 10000 * h.slow,
        'the next notification');
      result = c.received.map((m) => m.data.n);
      if (ack) assert.match(gw.stderr, /resending unacknowledged messages/);
    } finally {
      await proxy.close();
    }
  });
  return result;
}

test('a long-poll response lost on the way is delivered again with the ack extension', async () => {
  assert.deepEqual(await loseOneResponse(true), ['lost-1', 'next-2']);
});

test('without the ack extension the same lost response stays lost (the test can fail)', async () => {
  assert.deepEqual(await loseOneResponse(false), ['next-2']);
});

test('a client that stops polling expires, then handshakes again when it returns', async () => {
  await withGateway({ cometd: { max_interval_ms: 500, timeout_ms: 2000 } }, async (gw, clients) => {
    const proxy = await cd.cuttingProxy(gw.port);
    try {
      const c = await cd.newClient(proxy.port, 'agent1');
      clients.push(c);
      await cd.handshake(c);
      await cd.subscribe(c, IM);
      await cd.connected(c);
      const id = c.getClientId();
      proxy.refuse = true;
      proxy.dropAll();
      await h.waitFor(() => /expired/.test(gw.stderr), 10000 * h.slow, 'the expiry log line');
      assert.match(gw.stderr, new RegExp(`client ${id.slice(0, 8)}\\.\\.\\. of agent1: expired`));
      // The expired clientId is unknown now: the gateway says handshake.
      const r = await cd.bayeux(gw.port, [{ id: '9', channel: '/meta/connect', clientId: id,
        connectionType: 'long-polling' }], { suffix: '/connect' });
      assert.equal(r.json[0].successful, false);
      assert.equal(r.json[0].advice.reconnect, 'handshake');
      proxy.refuse = false;
      await h.waitFor(() => c.handshakes.filter((m) => m.successful).length >= 2, 20000 * h.slow,
        'the client to handshake again');
      assert.notEqual(c.getClientId(), id);
    } finally {
      await proxy.close();
    }
  });
});

test('two clients of one agent both receive; another agent receives nothing of it', async () => {
  await withGateway({}, async (gw, clients) => {
    const a1 = await cd.newClient(gw.port, 'agent1');
    const a1b = await cd.newClient(gw.port, 'agent1');
    const b = await cd.newClient(gw.port, 'agent2');
    clients.push(a1, a1b, b);
    for (const c of clients) {
      await cd.handshake(c);
      await cd.subscribe(c, '/**');
      await cd.connected(c);
    }
    assert.equal(await cd.publish(gw.port, 'agent1', [{ channel: IM, data: { n: 'for-1' } }]), 2);
    assert.equal(await cd.publish(gw.port, 'agent2', [{ channel: IM, data: { n: 'for-2' } }]), 1);
    // Each client gets its messages in publishing order, so a copy of for-1
    // wrongly queued for b would have reached b before for-2.
    await h.waitFor(() => a1.received.length && a1b.received.length && b.received.length);
    assert.deepEqual(a1.received.map((m) => m.data.n), ['for-1']);
    assert.deepEqual(a1b.received.map((m) => m.data.n), ['for-1']);
    assert.deepEqual(b.received.map((m) => m.data.n), ['for-2']);
  });
});

test('a desktop that logged in once uses the JSESSIONID cookie for CometD', async () => {
  await withGateway({}, async (gw, clients) => {
    const login = await h.request({ port: gw.port, path: '/api/v2/diagnostics/session',
      headers: { Authorization: cd.basic('agent2') } });
    assert.equal(login.status, 200);
    const cookie = login.headers['set-cookie'][0].split(';')[0];
    const c = await cd.newClient(gw.port, 'agent2', { cookie });
    clients.push(c);
    await cd.handshake(c);
    await cd.subscribe(c, '/v2/me/*');
    await cd.connected(c);
    assert.equal(await cd.publish(gw.port, 'agent2', [{ channel: IM, data: { n: 'cookie' } }]), 1);
    await h.waitFor(() => c.received.length === 1);
    assert.equal(c.received[0].data.n, 'cookie');
    // A client with a cookie the gateway never issued cannot even handshake.
    const bad = await cd.newClient(gw.port, 'agent2', { cookie: 'JSESSIONID=' + 'B'.repeat(32) });
    const failed = await new Promise((resolve) => {
      bad.addListener('/meta/handshake', (m) => { if (!m.successful) resolve(m); });
      bad.handshake();
    });
    assert.equal(failed.successful, false);
    await cd.disconnect(bad);
  });
});

test('with cometd.websocket off a client with its default transports tries WebSocket, is refused, and falls back to long-polling', async () => {
  await withGateway({ cometd: { websocket: false } }, async (gw, clients) => {
    const proxy = await cd.cuttingProxy(gw.port);
    try {
      const c = await cd.newClient(proxy.port, 'agent1', { websocket: true });
      clients.push(c);
      const hs = await cd.handshake(c);
      assert.deepEqual(hs.supportedConnectionTypes, ['long-polling']);
      assert.equal(c.getTransport().type, 'long-polling');
      await cd.subscribe(c, IM);
      await cd.connected(c);
      assert.equal(await cd.publish(gw.port, 'agent1', [{ channel: IM, data: { n: 1 } }]), 1);
      await h.waitFor(() => c.received.length === 1);
      // The WebSocket upgrade (a GET) is refused with 405; everything after it is long-polling.
      const gets = proxy.requests.filter((r) => r.startsWith('GET '));
      assert.deepEqual(gets, ['GET /api/v2/notifications']);
      assert.equal(proxy.requests[0], gets[0]);
      assert.ok(proxy.requests.slice(1).every((r) => r.startsWith('POST ')), proxy.requests.join(' '));
    } finally {
      await proxy.close();
    }
  });
});

