// im_profiles.test.js: the IM conversation scenario through the gateway
// under every ucwa-sim server profile (docs/ucwa-sim.md, "Server
// profiles"): servers that do what the UCWA sources allow and the
// published samples never show. Each profile gets its own simulator and
// gateway; the scenario is the same: an outgoing conversation (own message
// notified once, the remote's reply once, the remote leaving), an incoming
// one (first message once, a second one right after it, in order,
// Complete) and a declined invitation (Initiating, then Completed with the
// reason).
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');
const im = require('./lib/im');

const DAVE = { uri: 'sip:agent3004@example.com', phone: '3004' };
const REMOTES = [
  { uri: im.REMOTES.bob.uri, name: 'Bob', accept_ms: 20, reply: true },
  { uri: im.REMOTES.carol.uri, name: 'Carol', accept_ms: 20 },
  { uri: DAVE.uri, name: 'Dave', answer: 'decline', accept_ms: 1 },
];

// Every behaviour alone, its neighbours, and some together.
const PROFILES = {
  published: {},
  'no operationId echo': { echo_operation_id: false },
  'no operationId echo, absolute hrefs': { echo_operation_id: false, hrefs: 'absolute' },
  'no operationId echo, mixed hrefs': { echo_operation_id: false, hrefs: 'mixed' },
  'events before the 201': { events_before_201_ms: 300 },
  'only completed message events': { message_started: false },
  'absolute hrefs': { hrefs: 'absolute' },
  'first message event late': { first_message_event: 'late', first_message_delay_ms: 900 },
  'first message event never': { first_message_event: 'never' },
  'junk events': { junk_events: true },
  'empty release every second': { empty_release_ms: 1000 },
  'short tokens, 401 in mid-conversation': { token_lifetime_s: 3, token_expire_every: 3 },
  'remote leaves: conversation deleted only': { remote_leave: 'conversation' },
  'remote leaves: participant deleted and messaging Disconnected': { remote_leave: 'participant' },
  'a server of its own': { echo_operation_id: false, events_before_201_ms: 200, message_started: false,
    hrefs: 'mixed', first_message_event: 'never', junk_events: true, remote_leave: 'participant' },
};

const msgs = (d, from) => d.im().slice(from).filter((n) => n.messageType === 'IMLogUpdateMessage').map((n) => n.message);

async function outgoing(env, d) {
  const from = d.im().length;
  const r = await d.op('/me/im-sessions', { operationName: 'InitiateIMSession', destination: { phoneNumber: '3002' } });
  assert.deepEqual(r.json, { statusCode: 0 }, r.body);
  const s = await d.state('Talking', from);
  for (const text of ['one', 'two']) {
    const sent = await d.op(`/me/im-sessions/${s.id}`, { operationName: 'SendMessage', text });
    assert.deepEqual(sent.json, { statusCode: 0 }, sent.body);
    await d.next((n) => n.message === text, from);
    await d.next((n) => n.message === `echo: ${text}`, from);
  }
  assert.equal((await im.sim(env.sim.port, 'POST', `/remotes/${im.REMOTES.bob.id}/leave`, { to: 'agent1' })).status, 200);
  const done = await d.state('Completed', from);
  assert.equal(done.id, s.id);
  assert.deepEqual(msgs(d, from), ['one', 'echo: one', 'two', 'echo: two'], 'each message notified once, in order');
}

async function incoming(env, d, profile) {
  const from = d.im().length;
  const inv = await im.sim(env.sim.port, 'POST', `/remotes/${im.REMOTES.carol.id}/invite`, { to: 'agent1', text: 'first words\r\n' });
  assert.equal(inv.status, 200, inv.body);
  const s = await d.state('Talking', from);
  const m = await im.sim(env.sim.port, 'POST', `/remotes/${im.REMOTES.carol.id}/message`, { to: 'agent1', text: 'second words' });
  assert.equal(m.status, 200, m.body);
  await d.next((n) => n.message === 'second words', from);
  await d.next((n) => n.message === 'first words', from);
  const sent = await d.op(`/me/im-sessions/${s.id}`, { operationName: 'SendMessage', text: 'answer' });
  assert.deepEqual(sent.json, { statusCode: 0 }, sent.body);
  await d.next((n) => n.message === 'answer', from);
  // past a late first-message event, which must not show up a second time
  const late = profile.first_message_event === 'late' ? (profile.first_message_delay_ms || 1000) + 300 : 100;
  await new Promise((res) => setTimeout(res, late * h.slow));
  const c = await d.op(`/me/im-sessions/${s.id}`, { operationName: 'Complete' });
  assert.deepEqual(c.json, { statusCode: 0 }, c.body);
  await d.state('Completed', from);
  assert.deepEqual(msgs(d, from), ['first words', 'second words', 'answer'], 'each message once, in order');
}

async function declined(env, d) {
  const from = d.im().length;
  const r = await d.op('/me/im-sessions', { operationName: 'InitiateIMSession', destination: { phoneNumber: DAVE.phone } });
  assert.deepEqual(r.json, { statusCode: 0 }, r.body);
  const done = await d.next((n) => n.imSession && n.imSession.state === 'Completed', from);
  assert.match(done.reason || '', /declined/i, JSON.stringify(done));
  const states = d.im().slice(from).filter((n) => n.notificationType === 'StatusChange').map((n) => n.imSession.state);
  assert.deepEqual(states, ['Initiating', 'Completed']);
}

for (const [name, profile] of Object.entries(PROFILES)) {
  test(`IM scenario under the server profile: ${name}`, async () => {
    const env = await im.setup(['agent1'], { remotes: REMOTES,
      simArgs: ['-o', `profile=${JSON.stringify(profile)}`],
      gwArgs: ['-o', 'upstream.preview_wait_ms=500'] });
    const d = env.desks.agent1;
    try {
      await outgoing(env, d);
      await incoming(env, d, profile);
      await declined(env, d);
    } catch (e) {
      e.message += `\nucgw: ${env.gw.stderr.slice(-4000)}\nucwa-sim: ${env.sim.stderr.slice(-2000)}`;
      throw e;
    } finally {
      assert.deepEqual(await im.teardown(env), { gw: 0, sim: 0 });
    }
    if (profile.junk_events) {
      // each unusable event logged with its sender and href, its conversation read again;
      // the channel never stuck on a response
      assert.match(env.gw.stderr, /unusable messaging event skipped \(unknown type\): sender conversation \S+, href \S+\/messaging \(\d+ so far\)/);
      assert.match(env.gw.stderr, /resynchronising \S+ from the server/);
      assert.doesNotMatch(env.gw.stderr, /same URL again/);
    }
  });
}
