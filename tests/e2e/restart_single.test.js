// restart_single.test.js: no black hole after a crash on a single node
// (issue 15, item 11). ucgw killed with SIGKILL during a conversation and
// started again on the same configuration: the agent signing in again gets
// the application the crashed run left behind (the EndpointId is stable, so
// UCWA answers 200 with it) — one application, never a second one — and the
// conversation that survived in it is ended upstream, so the remote party
// sees it end and its next message is refused instead of vanishing; the
// remote's next invitation reaches the desktop as a new session. A desktop
// that kept only the session cookie gets GWS's answer to an unknown session
// (401, statusCode 20 "Access denied"), on REST and on CometD, and logs in
// again.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');
const cm = require('./lib/cometd');
const im = require('./lib/im');

const BOB = im.REMOTES.bob;
const AGENT_URI = 'sip:agent5001@example.com';

const apps = async (sim) => (await im.sim(sim.port, 'GET', '/state')).json.applications
  .filter((a) => a.user === AGENT_URI);
const received = async (sim) => (await im.sim(sim.port, 'GET', `/remotes/${BOB.id}/received`)).json.received;

// The GWS answer to a request whose session is unknown: log in again.
function assertLogInAgain(r, what) {
  assert.equal(r.status, 401, `${what}: ${r.status} ${r.body}`);
  assert.deepEqual(r.json, { statusCode: 20, statusMessage: 'Access denied' }, what);
  assert.match(r.headers['content-type'], /^application\/json/, what);
  assert.match(r.headers['www-authenticate'] || '', /^Basic realm=/, what);
  assert.equal(r.headers['set-cookie'], undefined, `${what}: no new session without credentials`);
}

test('kill -9 during a conversation, start again: one application, the old conversation ended upstream, cookie-only desktops told to log in again', async () => {
  const sim = await im.startSim();
  let gw = await im.startGateway(sim.port);
  const port = gw.port;
  const env = { sim, gw, desks: {} };
  try {
    // agent1 signs in (Basic, then the cookie) and talks with bob
    const me = await h.request({ port, path: '/api/v2/me', headers: { Authorization: cm.basic('agent1') } });
    assert.equal(me.status, 200, me.body);
    const cookie = (me.headers['set-cookie'] || []).map((c) => c.split(';')[0]).find((c) => c.startsWith('JSESSIONID='));
    assert.ok(cookie, 'a session cookie');
    const d = env.desks.agent1 = await im.desktop(port, 'agent1');
    const s = await im.talk(d);
    const hs = await cm.bayeux(port, [{ id: '1', channel: '/meta/handshake', version: '1.0',
      supportedConnectionTypes: ['long-polling'] }], { user: null, headers: { Cookie: cookie }, suffix: '/handshake' });
    assert.equal(hs.json[0].successful, true, hs.body);
    const clientId = hs.json[0].clientId;
    const before = await apps(sim);
    assert.equal(before.length, 1, JSON.stringify(before));
    assert.equal(before[0].conversations.length, 1);
    assert.equal(before[0].conversations[0].state, 'Connected');

    // the crash: no sign-out, the application and its conversation stay upstream
    await cm.disconnect(d.client).catch(() => {});
    d.client = null;
    gw.signal_('SIGKILL');
    await gw.exited;
    assert.equal((await apps(sim))[0].conversations.length, 1, 'still Connected upstream');

    // the same configuration again, on the same address
    gw = env.gw = await im.startGateway(sim.port, ['-o', `listen=["http://127.0.0.1:${port}"]`]);

    // a desktop that kept only the cookie: log in again, the way GWS says it
    assertLogInAgain(await h.request({ port, path: '/api/v2/me', headers: { Cookie: cookie } }), 'GET /me with the old cookie');
    assertLogInAgain(await h.request({ port, method: 'POST', path: `/api/v2/me/im-sessions/${s.id}`,
      headers: { Cookie: cookie, 'Content-Type': 'application/json' },
      body: JSON.stringify({ operationName: 'SendMessage', text: 'lost?' }) }), 'SendMessage with the old cookie');
    assertLogInAgain(await cm.bayeux(port, [{ id: '2', channel: '/meta/connect', clientId,
      connectionType: 'long-polling' }], { user: null, headers: { Cookie: cookie }, suffix: '/connect' }),
    '/meta/connect with the old cookie');
    assertLogInAgain(await cm.bayeux(port, [{ id: '3', channel: '/meta/handshake', version: '1.0',
      supportedConnectionTypes: ['long-polling'] }], { user: null, headers: { Cookie: cookie }, suffix: '/handshake' }),
    '/meta/handshake with the old cookie');
    assert.equal((await apps(sim)).length, 1, 'nothing signed in with the old cookie');

    // the agent logs in again: the application left behind is given back (200), not a second one
    const d2 = env.desks.agent1 = await im.desktop(port, 'agent1');
    let now = await apps(sim);
    assert.equal(now.length, 1, `one application for the agent: ${JSON.stringify(now)}`);
    assert.equal(now[0].id, before[0].id, 'the same application');
    assert.equal(now[0].endpointId, before[0].endpointId);
    assert.match(gw.stderr, /application \S+ \(200\)/, 'the application given back (200)');
    // its surviving conversation is ended upstream: the remote sees it end
    await h.waitFor(async () => (now = await apps(sim))[0].conversations.length === 0, 10000 * h.slow,
      () => `the old conversation still live upstream: ${JSON.stringify(now)}`);
    let got = [];
    await h.waitFor(async () => (got = await received(sim)).some((e) => e.type === 'left'), 10000 * h.slow,
      () => `the remote to see the conversation end: ${JSON.stringify(got)}`);
    // nothing for the remote's next message to vanish into
    const late = await im.sim(sim.port, 'POST', `/remotes/${BOB.id}/message`, { to: 'agent1', text: 'still there?' });
    assert.equal(late.status, 409, `the remote's message is refused, not lost: ${late.body}`);
    assert.equal(d2.im().length, 0, `nothing of the old conversation reached the new desktop: ${JSON.stringify(d2.im())}`);
    // the event channel of the application given back serves: a new invitation reaches the desktop
    const inv = await im.sim(sim.port, 'POST', `/remotes/${BOB.id}/invite`, { to: 'agent1', text: 'hello again' });
    assert.equal(inv.status, 200, inv.body);
    const again = await d2.state('Talking');
    assert.notEqual(again.id, s.id);
    await d2.next((n) => n.message === 'hello again');
    now = await apps(sim);
    assert.equal(now.length, 1);
    assert.equal(now[0].parked, true, 'a P-GET parked on the application given back');
  } catch (e) {
    e.message += `\nucgw: ${env.gw.stderr.slice(-4000)}\nucwa-sim: ${sim.stderr.slice(-2000)}`;
    throw e;
  } finally {
    assert.deepEqual(await im.teardown(env), { gw: 0, sim: 0 });
  }
});
