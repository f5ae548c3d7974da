// ucwa_sim.test.js: the UCWA client (through tests/ucwa-drive) against the
// real ucwa-sim over HTTPS: sign-in and its failures, outgoing and incoming
// IM, the event channel's special cases, token expiry, a lost application,
// command errors and a burst of messages.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');
const s = require('./lib/sim');
const u = require('./lib/ucwa');

const USER = 'toshm@contoso.com';
const LENEA = 'sip:lenea@contoso.com';

// Run fn(sim, drive) with a fresh simulator and a signed-in agent.
async function withAgent(simOpts, fn, driveOpts = {}) {
  const sim = await s.startSim(simOpts);
  const d = u.drive(sim, driveOpts);
  try {
    await d.wait({ event: 'signed_in' });
    await fn(sim, d);
  } finally {
    const r = await d.stop();
    const rs = await sim.stop();
    assert.equal(r.code, 0, `ucwa-drive exit ${r.code}: ${d.stderr.slice(-2000)}`);
    assert.equal(rs.code, 0, `ucwa-sim exit ${rs.code}`);
  }
}

const fault = async (sim, f) => {
  const r = await sim.ctl('POST', `users/${USER}/faults`, f);
  assert.equal(r.status, 200, r.body);
};

const parked = (sim, n = 1) => h.waitFor(async () => (await sim.state()).applications.filter((a) => a.parked).length === n,
  5000 * h.slow, 'a parked P-GET');

// Start a conversation with lenea; resolves to its conversation href once messaging is Connected.
// (While an application is being recreated the agent refuses commands: try again.)
async function connect(d, to = LENEA, opid = `op-${Math.random()}`) {
  let done;
  await h.waitFor(async () => {
    done = await d.cmd({ cmd: 'start', to, operationId: opid, subject: 'test' });
    return done.event === 'done';
  }, 10000 * h.slow, 'startMessaging accepted');
  assert.equal(done.ok, true, JSON.stringify(done));
  assert.match(done.location, /^https:\/\//);
  const inv = await d.wait((e) => e.kind === 'invitation' && e.type === 'completed' && e.operationId === opid);
  assert.equal(inv.status, 'Success');
  await d.wait((e) => e.kind === 'messaging' && e.conversation === inv.conversation && e.sendMessage);
  return inv.conversation;
}

test('full sign-in: discovery, challenge, token, application, makeMeAvailable, one P-GET; sign-out deletes it', async () => {
  const sim = await s.startSim();
  const d = u.drive(sim);
  try {
    await d.wait({ event: 'signed_in' });
    await parked(sim);
    const st = await sim.state();
    assert.equal(st.applications.length, 1);
    assert.equal(st.applications[0].available, true);
  } finally {
    assert.equal((await d.stop()).code, 0);
  }
  await h.waitFor(async () => (await sim.state()).applications.length === 0, 5000, 'the application deleted');
  assert.equal((await sim.stop()).code, 0);
});

test('sign-in through a discovery redirect', () => withAgent({ 'discovery.redirect': true }, async (sim) => {
  await parked(sim);
}));

test('bad credentials are an authentication failure, a dead server is unreachable', async () => {
  const sim = await s.startSim();
  const d = u.drive(sim, { password: 'wrong' });
  const d2 = u.drive(sim, { root: 'https://127.0.0.1:1/' });
  try {
    assert.equal((await d.wait({ event: 'failed' })).reason, 'auth');
    assert.equal((await d2.wait({ event: 'failed' })).reason, 'unreachable');
  } finally {
    assert.equal((await d.stop()).code, 0);
    assert.equal((await d2.stop()).code, 0);
    assert.equal((await sim.stop()).code, 0);
  }
});

test('410 TooManyApplications is fatal and reported', () => withAgent({ 'limits.applications_per_user': 1 }, async (sim) => {
  // another deployment (another EndpointId): the same one would be given the application back (200)
  const d2 = u.drive(sim, { overrides: { 'upstream.endpoint_key': 'another deployment' } });
  try {
    const f = await d2.wait({ event: 'failed' });
    assert.equal(f.reason, 'rejected');
    assert.match(f.why, /TooManyApplications/);
  } finally {
    assert.equal((await d2.stop()).code, 0);
  }
}));

test('outgoing IM: events before the 201; a burst of 100 messages arrives complete and in order', () => withAgent({}, async (sim, d) => {
  await fault(sim, { fault: 'started_before_201', delay_ms: 300 });
  const conv = await connect(d, LENEA, 'early-1');
  // the invitation's events were reported before the command's 201 completed it
  const iStarted = d.events.findIndex((e) => e.kind === 'invitation' && e.type === 'started' && e.operationId === 'early-1');
  const iDone = d.events.findIndex((e) => e.event === 'done' && /messagingInvitations/.test(e.location || ''));
  assert.ok(iStarted >= 0 && iDone > iStarted, `started at ${iStarted}, 201 at ${iDone}`);
  const ids = [];
  const texts = [];
  for (let i = 0; i < 100; i++) {
    const text = `burst ${String(i).padStart(3, '0')}: a+b & c %0d\u00e9`;
    texts.push(text);
    ids.push(d.send({ cmd: 'send', conversation: conv, text, operationId: `m${i}` }));
  }
  await d.wait(() => d.find((e) => e.event === 'done' && ids.includes(e.id)).length === 100, '100 sends done', 30000 * h.slow);
  assert.ok(d.find((e) => e.event === 'done' && ids.includes(e.id)).every((e) => e.ok && /messages\//.test(e.location)));
  assert.equal(d.find({ event: 'refused' }).length, 0);
  await d.wait(() => d.find((e) => e.kind === 'message' && e.direction === 'Outgoing' && e.type === 'completed').length === 100,
    '100 completed', 30000 * h.slow);
  const got = (await sim.received('lenea@contoso.com')).filter((r) => r.type === 'message').map((r) => r.text);
  assert.deepEqual(got, texts);
  // stopMessaging ends the conversation
  assert.equal((await d.cmd({ cmd: 'stop', conversation: conv })).ok, true);
  await d.wait({ event: 'ended', conversation: conv });
}));

test('a declined invitation completes with Failure and its reason, and ends the conversation', () => withAgent({}, async (sim, d) => {
  await d.cmd({ cmd: 'start', to: 'sip:decliner@contoso.com', operationId: 'dec-1' });
  const inv = await d.wait((e) => e.kind === 'invitation' && e.type === 'completed' && e.operationId === 'dec-1');
  assert.equal(inv.status, 'Failure');
  assert.equal(inv.reasonSubcode, 'Declined');
  const end = await d.wait({ event: 'ended', conversation: inv.conversation });
  assert.match(end.why, /Declined|deleted|disconnected/);
}));

test('incoming IM: the first message is reported exactly once', () => withAgent({}, async (sim, d) => {
  await parked(sim);
  const r = await sim.ctl('POST', 'remotes/lenea@contoso.com/invite', { to: USER, text: 'Hi Tosh\r\n' });
  assert.equal(r.status, 200, r.body);
  const inv = await d.wait((e) => e.kind === 'invitation' && e.type === 'started' && e.direction === 'Incoming');
  assert.equal(inv.text, 'Hi Tosh\r\n', 'the text as sent: the translation rules trim it');
  assert.equal(inv.html, false);
  assert.equal(inv.from, LENEA);
  assert.equal((await d.cmd({ cmd: 'accept', conversation: inv.conversation })).ok, true);
  await d.wait((e) => e.kind === 'message' && e.direction === 'Incoming');
  await sim.ctl('POST', 'remotes/lenea@contoso.com/message', { to: USER, text: 'second' });
  await d.wait((e) => e.kind === 'message' && e.text === 'second');
  // Html is negotiated: HTML comes as sent, flagged, for the rules to reduce
  await sim.ctl('POST', 'remotes/lenea@contoso.com/message', { to: USER, text: '<b>third</b> &amp;\r\n', html: true });
  const third = await d.wait((e) => e.kind === 'message' && e.direction === 'Incoming' && e.html);
  assert.equal(third.text, '<b>third</b> &amp;\r\n');
  await new Promise((r2) => setTimeout(r2, 1500 * h.slow));	// past upstream.preview_wait_ms
  const msgs = d.find((e) => e.kind === 'message' && e.direction === 'Incoming').map((e) => e.text);
  assert.deepEqual(msgs, ['Hi Tosh\r\n', 'second', '<b>third</b> &amp;\r\n']);
  // and the agent can answer in it
  assert.equal((await d.cmd({ cmd: 'send', conversation: inv.conversation, text: 'hello back' })).ok, true);
  // the remote leaves: the conversation ends
  await sim.ctl('POST', 'remotes/lenea@contoso.com/leave', { to: USER });
  await d.wait({ event: 'ended', conversation: inv.conversation });
}));

test('token expiry in the middle of a conversation: renewed once, the message goes through', () => withAgent({}, async (sim, d) => {
  const conv = await connect(d);
  const r = await sim.ctl('POST', `users/${USER}/expire-tokens`);
  assert.equal(r.status, 200);
  const done = await d.cmd({ cmd: 'send', conversation: conv, text: 'after expiry' });
  assert.equal(done.ok, true, JSON.stringify(done));
  const got = (await sim.received('lenea@contoso.com')).filter((x) => x.type === 'message').map((x) => x.text);
  assert.deepEqual(got, ['after expiry']);
  assert.equal(d.find({ event: 'ended' }).length, 0);
  assert.equal(d.find({ event: 'failed' }).length, 0);
}));

test('application killed: 404, recreated, conversations reported ended, messaging works again', () => withAgent({}, async (sim, d) => {
  const conv = await connect(d);
  const before = (await sim.state()).applications[0].href;
  await sim.ctl('POST', `users/${USER}/kill-applications`);
  // the next request on it (the parked P-GET, or a command) meets 404 ApplicationNotFound
  await d.cmd({ cmd: 'send', conversation: conv, text: 'into the void' });
  const end = await d.wait({ event: 'ended', conversation: conv });
  assert.match(end.why, /ApplicationNotFound/);
  await h.waitFor(async () => {
    const st = await sim.state();
    return st.applications.length === 1 && st.applications[0].href !== before && st.applications[0].available && st.applications[0].parked;
  }, 10000 * h.slow, 'a new application, available, with a P-GET');
  const conv2 = await connect(d);
  assert.notEqual(conv2, conv);
  assert.equal(d.find({ event: 'signed_in' }).length, 1);
}));

test('application killed: ready_again is reported once the new application is available, and commands work at once', () => withAgent({}, async (sim, d) => {
  const conv = await connect(d);
  assert.equal(d.find({ event: 'ready_again' }).length, 0);
  await sim.ctl('POST', `users/${USER}/kill-applications`);
  await d.cmd({ cmd: 'send', conversation: conv, text: 'meets the 404' });
  await d.wait({ event: 'ended', conversation: conv });
  await d.wait({ event: 'ready_again' });
  const st = await sim.state();
  assert.equal(st.applications.length, 1);
  assert.equal(st.applications[0].available, true, 'told after makeMeAvailable');
  // no retry loop needed now: the first command is accepted
  const opid = `op-${Math.random()}`;
  const done = await d.cmd({ cmd: 'start', to: LENEA, operationId: opid });
  assert.equal(done.event, 'done', JSON.stringify(done));
  assert.equal(done.ok, true, JSON.stringify(done));
  await d.wait((e) => e.kind === 'invitation' && e.type === 'completed' && e.operationId === opid);
  assert.equal(d.find({ event: 'ready_again' }).length, 1);
  assert.equal(d.find({ event: 'signed_in' }).length, 1);
}));

test('resume: every conversation is reported ended, the channel goes on', () => withAgent({}, async (sim, d) => {
  const conv = await connect(d);
  await sim.ctl('POST', `users/${USER}/resume`);
  const end = await d.wait({ event: 'ended', conversation: conv });
  assert.equal(end.why, 'resume');
  await parked(sim);
  await connect(d);
}));

test('409 PGetReplaced: the client GETs the same URL again and keeps the channel', () => withAgent({}, async (sim, d) => {
  await parked(sim);
  const app = (await sim.state()).applications[0];
  const token = await sim.token();
  // another P-GET on the same ack replaces ours (ours gets 409) ...
  const other = sim.req('GET', `${app.href}/events?ack=${app.parkedAck}`, { token, timeoutMs: 20000 });
  // ... and ours comes back on the same URL after a back-off, replacing the other in turn
  const r = await other;
  assert.equal(r.status, 409);
  assert.equal(r.json.subcode, 'PGetReplaced');
  await parked(sim);
  assert.equal((await sim.state()).applications[0].parkedAck, app.parkedAck);
  await connect(d);
}));

test('a dropped P-GET (TCP reset) is re-sent on the same URL after a back-off', () => withAgent({}, async (sim, d) => {
  await parked(sim);
  const ack = (await sim.state()).applications[0].parkedAck;
  await fault(sim, { fault: 'reset_pget', after_ms: 50, count: 1 });
  // the parked one is not reset (the fault applies to the next P-GET); an empty
  // set moves the channel on: a first-message-free invite-and-leave does it
  await sim.ctl('POST', 'remotes/lenea@contoso.com/invite', { to: USER, text: 'x' });
  await d.wait((e) => e.kind === 'invitation' && e.type === 'started');
  await h.waitFor(() => /event channel: .*same URL again/.test(d.stderr), 5000 * h.slow,
    () => `a dropped P-GET in the log:\n${d.stderr.slice(-4000)}`);
  await parked(sim);
  assert.ok((await sim.state()).applications[0].parkedAck > ack);
  assert.match(d.stderr, /same URL again/);
  await connect(d);
}));

test('429, 500, 503 and 504 on commands complete with status, code and subcode; HTML bodies too', () => withAgent({}, async (sim, d) => {
  const conv = await connect(d);
  const cases = [
    { status: 429, code: 'TooManyRequests', subcode: 'None' },
    { status: 500, code: 'ServiceFailure', subcode: 'CallbackChannelError' },
    { status: 503, code: 'ServiceUnavailable', subcode: 'None' },
    { status: 504, code: 'GatewayTimeout', subcode: 'ServiceTimeout' },
  ];
  for (const c of cases) {
    await fault(sim, { fault: 'error', on: 'command', count: 1, ...c });
    const done = await d.cmd({ cmd: 'send', conversation: conv, text: `x${c.status}` });
    assert.equal(done.ok, false);
    assert.equal(done.status, c.status);
    assert.equal(done.code, c.code);
    assert.equal(done.subcode, c.subcode);
  }
  await fault(sim, { fault: 'error', on: 'command', count: 1, status: 502, html: true });
  const done = await d.cmd({ cmd: 'send', conversation: conv, text: 'html' });
  assert.equal(done.ok, false);
  assert.equal(done.status, 502);
  assert.equal(done.code, null);
  assert.match(done.message, /non-UCWA body/);
  // the conversation goes on
  assert.equal((await d.cmd({ cmd: 'send', conversation: conv, text: 'after errors' })).ok, true);
  const got = (await sim.received('lenea@contoso.com')).filter((x) => x.type === 'message').map((x) => x.text);
  assert.deepEqual(got, ['after errors']);
}));

test('410 InactiveApplicationExpired on the event channel: a new application, conversations ended', () => withAgent({}, async (sim, d) => {
  const conv = await connect(d);
  await fault(sim, { fault: 'error', on: 'events', status: 410, code: 'Gone', subcode: 'InactiveApplicationExpired', count: 1 });
  // the parked P-GET is not affected; the next one is: an event moves the channel on
  await sim.ctl('POST', 'remotes/lenea@contoso.com/typing', { to: USER });
  const end = await d.wait({ event: 'ended', conversation: conv });
  assert.match(end.why, /InactiveApplicationExpired/);
  // created again (the same EndpointId: the simulator may answer 200 with the live one)
  await h.waitFor(() => /application .* \((200|201)\)[\s\S]*application .* \((200|201)\)/.test(d.stderr),
    10000 * h.slow, 'a second application create');
  await parked(sim);
  await connect(d);
}));

test('410 UserAgentNotAllowed on application create is fatal and reported', async () => {
  const sim = await s.startSim();
  await fault(sim, { fault: 'error', on: 'applications', status: 410, code: 'Gone', subcode: 'UserAgentNotAllowed' });
  const d = u.drive(sim);
  try {
    const f = await d.wait({ event: 'failed' });
    assert.equal(f.reason, 'rejected');
    assert.match(f.why, /UserAgentNotAllowed/);
  } finally {
    assert.equal((await d.stop()).code, 0);
    assert.equal((await sim.stop()).code, 0);
  }
});

test('cancel of an unanswered invitation, decline of an incoming one, leave (DELETE) of a connected one', () => withAgent({}, async (sim, d) => {
  // cancel: the silent remote never answers
  await d.cmd({ cmd: 'start', to: 'sip:silent@contoso.com', operationId: 'c-1' });
  const started = await d.wait((e) => e.kind === 'invitation' && e.type === 'started' && e.operationId === 'c-1');
  assert.equal((await d.cmd({ cmd: 'cancel', conversation: started.conversation })).ok, true);
  const inv = await d.wait((e) => e.kind === 'invitation' && e.type === 'completed' && e.operationId === 'c-1');
  assert.equal(inv.status, 'Failure');
  assert.equal(inv.reasonSubcode, 'Canceled');
  await d.wait({ event: 'ended', conversation: started.conversation });
  // decline: the remote's log shows it, nothing is left
  await sim.ctl('POST', 'remotes/lenea@contoso.com/invite', { to: USER, text: 'hello?' });
  const inc = await d.wait((e) => e.kind === 'invitation' && e.type === 'started' && e.direction === 'Incoming');
  assert.equal((await d.cmd({ cmd: 'decline', conversation: inc.conversation })).ok, true);
  await d.wait({ event: 'ended', conversation: inc.conversation });
  await h.waitFor(async () => (await sim.received('lenea@contoso.com')).some((r) => r.type === 'declined'), 5000, 'declined');
  assert.equal(d.find((e) => e.kind === 'message' && e.direction === 'Incoming').length, 0);
  // leave
  const conv = await connect(d);
  assert.equal((await d.cmd({ cmd: 'leave', conversation: conv })).ok, true);
  await d.wait({ event: 'ended', conversation: conv });
  // a command on an ended conversation is refused at once
  const r = await d.cmd({ cmd: 'send', conversation: conv, text: 'late' });
  assert.equal(r.event, 'refused');
}));

test('403 InvalidToken on a command: the token is renewed and the command retried once', () => withAgent({}, async (sim, d) => {
  const conv = await connect(d);
  await fault(sim, { fault: 'invalid_token', count: 1 });
  const done = await d.cmd({ cmd: 'send', conversation: conv, text: 'through a 403' });
  assert.equal(done.ok, true, JSON.stringify(done));
  assert.match(d.stderr, /403 on (POST|GET): renewing the token/);
  const got = (await sim.received('lenea@contoso.com')).filter((x) => x.type === 'message').map((x) => x.text);
  assert.deepEqual(got, ['through a 403']);
}));

test('delivery failure (failedDeliveryParticipant) and remote typing are reported as changes', () => withAgent({}, async (sim, d) => {
  const conv = await connect(d);
  await sim.ctl('POST', 'remotes/lenea@contoso.com/typing', { to: USER });
  const typing = await d.wait((e) => e.kind === 'typing' && e.type === 'added');
  assert.equal(typing.conversation, conv);
  await fault(sim, { fault: 'failed_delivery' });
  const done = await d.cmd({ cmd: 'send', conversation: conv, text: 'lost', operationId: 'fd-1' });
  assert.equal(done.ok, true);	// the POST itself was accepted (201)
  const m = await d.wait((e) => e.kind === 'message' && e.type === 'completed' && e.operationId === 'fd-1');
  assert.equal(m.status, 'Failure');
  assert.match(m.failedDelivery, /participants\//);
  assert.equal(m.self, done.location, 'one normal form for the event and the 201');
}));

test('403 InvalidToken that persists with a new token: the command fails with 403, the agent discovers the server again', () => withAgent({}, async (sim, d) => {
  const conv = await connect(d);
  await fault(sim, { fault: 'invalid_token', count: 2 });
  const done = await d.cmd({ cmd: 'send', conversation: conv, text: 'refused twice' });
  assert.equal(done.ok, false);
  assert.equal(done.status, 403);
  assert.equal(done.subcode, 'InvalidToken');
  const end = await d.wait({ event: 'ended', conversation: conv });
  assert.match(end.why, /403/);
  await h.waitFor(() => /discovering the server again/.test(d.stderr), 5000 * h.slow, 'rediscovery');
  await parked(sim);
  await connect(d);
  assert.equal(d.find({ event: 'failed' }).length, 0);
}));
