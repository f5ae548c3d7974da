// im_recovery.test.js: nothing stays connected upstream that no desktop can
// see when the agent's UCWA application is lost and the gateway recovers
// (issue 14, item 3). A server may give the same application back (same
// endpointId) with the old conversation still Connected: the gateway leaves
// it (stopMessaging, else DELETE), so the remote sees the conversation end,
// and the remote's next invitation reaches the desktop as a new session.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');
const im = require('./lib/im');

const BOB = im.REMOTES.bob;
const received = async (env) => (await im.sim(env.sim.port, 'GET', `/remotes/${BOB.id}/received`)).json.received;
const live = async (env) => (await im.sim(env.sim.port, 'GET', '/state')).json.applications
  .filter((a) => a.user === 'sip:agent5001@example.com').flatMap((a) => a.conversations);

// A Talking session with bob, the application lost through fault(), then:
// the session Completed, the conversation left or gone upstream (never
// Connected), the remote told, and a new conversation from bob reaching
// the desktop.
async function scenario(fault, { gone }) {
  const env = await im.setup(['agent1']);
  const d = env.desks.agent1;
  try {
    const s = await im.talk(d);
    const from = d.im().length;
    await fault(env, s);
    const done = await d.state('Completed', from);
    assert.equal(done.id, s.id);
    let got = [];
    await h.waitFor(async () => (got = await received(env)).some((e) => e.type === gone), 10000 * h.slow,
      () => `the remote to see the conversation end (${gone}): ${JSON.stringify(got)}`);
    await h.waitFor(async () => (got = await live(env)).length === 0, 10000 * h.slow,
      () => `conversations still live upstream: ${JSON.stringify(got)}`);
    const late = await im.sim(env.sim.port, 'POST', `/remotes/${BOB.id}/message`, { to: 'agent1', text: 'still there?' });
    assert.equal(late.status, 409, 'no conversation left for a message to vanish into');
    const inv = await h.waitFor(async () => {
      const r = await im.sim(env.sim.port, 'POST', `/remotes/${BOB.id}/invite`, { to: 'agent1', text: 'hello again' });
      return r.status === 200 ? r : null;
    }, 15000 * h.slow, 'the agent available again');
    assert.equal(inv.status, 200);
    const again = await d.state('Talking', from);
    assert.notEqual(again.id, s.id);
    await d.next((n) => n.message === 'hello again', from);
  } catch (e) {
    e.message += `\nucgw: ${env.gw.stderr.slice(-3000)}`;
    throw e;
  } finally {
    assert.deepEqual(await im.teardown(env), { gw: 0, sim: 0 });
  }
}

test('410 InactiveApplicationExpired on the event channel: the same application comes back, the old conversation is left', () =>
  scenario(async (env) => {
    const r = await im.sim(env.sim.port, 'POST', '/users/agent1/faults',
      { fault: 'error', on: 'events', status: 410, code: 'Gone', subcode: 'InactiveApplicationExpired', count: 1 });
    assert.equal(r.status, 200, r.body);
    // an event wakes the parked P-GET; the next one gets the 410
    assert.equal((await im.sim(env.sim.port, 'POST', `/remotes/${BOB.id}/typing`, { to: 'agent1' })).status, 200);
  }, { gone: 'left' }));

test('403 InvalidToken that persists with a new token: rediscovery, the old conversation is left', () =>
  scenario(async (env, s) => {
    const r = await im.sim(env.sim.port, 'POST', '/users/agent1/faults', { fault: 'invalid_token', count: 2 });
    assert.equal(r.status, 200, r.body);
    const d = env.desks.agent1;
    await d.op(`/me/im-sessions/${s.id}`, { operationName: 'SendMessage', text: 'refused twice' });
  }, { gone: 'left' }));

test('applications killed upstream: the conversation is gone with them, a new one works', () =>
  scenario(async (env) => {
    assert.equal((await im.sim(env.sim.port, 'POST', '/users/agent1/kill-applications')).status, 200);
  }, { gone: 'dropped' }));
