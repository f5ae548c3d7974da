// sim_protocol.test.js: ucwa-sim replays the flows of SendAnIM.md and
// ReceiveAnIM.md (samples 01-38) over HTTPS; every response and event is
// compared with the structure of the published sample (proto/ucwa-samples).
// Also: sign-in errors, applications, the event channel rules of §4, and
// the ways a conversation fails or ends.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');
const s = require('./lib/sim');

// Run fn with a fresh simulator, always stopped.
async function withSim(opts, fn) {
  const sim = await s.startSim(opts);
  try {
    await fn(sim);
  } finally {
    const r = await sim.stop();
    assert.equal(r.code, 0, `ucwa-sim exit: ${sim.proc.stderr}`);
    assert.doesNotMatch(sim.proc.stderr, /runtime error|Sanitizer/, 'no sanitizer report');
  }
}

const ECHO = (id) => ({ sender: 'conversation', rel: 'message', id });

test('discovery: root (02) and the optional redirect hop (03)', () => withSim({}, async (sim) => {
  const r = await sim.req('GET', '/');
  assert.equal(r.status, 200);
  assert.match(r.headers['content-type'], /^application\/json/);
  s.assertShape(r.json, s.sample('02-autodiscover-root-response.json'));
  assert.match(r.json._links.user.href, /^https:\/\/127\.0\.0\.1:\d+\//);
  await withSim({ 'discovery.redirect': true }, async (sim2) => {
    const a = await sim2.req('GET', '/');
    s.assertShape(a.json, s.sample('03-autodiscover-redirect-response.json'));
    assert.equal(a.json._links.user, undefined);
    const b = await sim2.req('GET', a.json._links.redirect.href);
    s.assertShape(b.json, s.sample('02-autodiscover-root-response.json'));
  });
}));

test('sign-in: 401 challenge (04), password grant (06), user resource (07)', () => withSim({ 'auth.token_lifetime_s': 1234 }, async (sim) => {
  const root = await sim.req('GET', '/');
  const ch = await sim.req('GET', root.json._links.user.href);
  assert.equal(ch.status, 401);
  assert.equal(ch.headers['content-type'], 'text/html');
  assert.match(ch.body, /<html/);
  const wa = s.headerValues(ch, 'WWW-Authenticate');
  assert.ok(Array.isArray(wa) && wa.length === 2, `two WWW-Authenticate headers: ${wa}`);
  assert.match(wa[0], /^Bearer trusted_issuers="[^"]+", client_id="00000004-0000-0ff1-ce00-000000000000"$/);
  assert.match(wa[1], /^MsRtcOAuth href="https:\/\/[^"]+\/WebTicket\/oauthtoken",grant_type="[^"]*password"$/);
  const href = /href="([^"]+)"/.exec(wa[1])[1];
  const form = 'grant_type=password&username=toshm%40contoso.com&password=secret';
  const t = await sim.req('POST', href, { body: form, ctype: 'application/x-www-form-urlencoded;charset=UTF-8' });
  assert.equal(t.status, 200);
  assert.equal(t.headers['cache-control'], 'no-store');
  s.assertShape(t.json, s.sample('06-oauthtoken-response.json'));
  assert.equal(t.json.expires_in, 1234);
  assert.match(t.json.access_token, /^cwt=/);
  const u = await sim.req('GET', root.json._links.user.href, { token: t.json.access_token });
  assert.equal(u.status, 200);
  s.assertShape(u.json, s.sample('07-user-get-authenticated-response.json'));
  assert.match(u.json._links.applications.href, /^https:\/\/127\.0\.0\.1:\d+\/ucwa\/oauth\/v1\/applications$/);
}));

test('the MsRtcOAuth href can be unquoted (06d)', () => withSim({ 'auth.challenge_unquoted': true }, async (sim) => {
  const ch = await sim.req('GET', '/Autodiscover/AutodiscoverService.svc/root/oauth/user');
  const wa = s.headerValues(ch, 'WWW-Authenticate');
  assert.match(wa[1], /^MsRtcOAuth href=https:\/\/127\.0\.0\.1:\d+\/WebTicket\/oauthtoken,grant_type="[^"]+"$/);
  assert.ok(await sim.token(), 'the test client parses it too');
}));

test('token endpoint errors, Bearer check and real expiry', () => withSim({ 'auth.token_lifetime_s': 1 }, async (sim) => {
  const post = (form) => sim.req('POST', '/WebTicket/oauthtoken', { body: form, ctype: 'application/x-www-form-urlencoded' });
  const bad = await post('grant_type=password&username=toshm%40contoso.com&password=wrong');
  assert.equal(bad.status, 400);
  assert.deepEqual(bad.json, { error: 'invalid_grant' });
  const unk = await post('grant_type=password&username=nobody%40contoso.com&password=secret');
  assert.deepEqual(unk.json, { error: 'invalid_grant' });
  const iwa = await post('grant_type=urn%3Amicrosoft.rtc%3Awindows&username=toshm%40contoso.com');
  assert.equal(iwa.status, 400);
  assert.deepEqual(iwa.json, { error: 'unsupported_grant_type' });
  const none = await post('username=x');
  assert.deepEqual(none.json, { error: 'invalid_request' });
  const forged = await sim.req('GET', '/ucwa/oauth/v1/applications/1', { token: 'cwt=forged' });
  assert.equal(forged.status, 401);
  assert.equal(s.headerValues(forged, 'WWW-Authenticate').length, 2);
  const tok = await sim.token();
  const ok = await sim.req('POST', '/ucwa/oauth/v1/applications', { token: tok, body: { userAgent: 'x', endpointId: 'e', culture: 'en-US' } });
  assert.equal(ok.status, 201);
  await h.waitFor(async () => (await sim.req('GET', ok.json._links.self.href, { token: tok })).status === 401, 5000 * h.slow, 'token expiry');
}));

test('applications: 201 (09), 200 for the same endpointId, keys of any case, limit 410, GET, DELETE 204', () => withSim({ 'limits.applications_per_user': 2 }, async (sim) => {
  const tok = await sim.token();
  const apps = '/ucwa/oauth/v1/applications';
  const a = await sim.req('POST', apps, { token: tok, body: { UserAgent: 'UCWA Samples', EndpointId: 'a1', Culture: 'en-US' } });
  assert.equal(a.status, 201);
  s.assertShape(a.json, s.sample('09-create-application-201-response.json'));
  assert.match(a.json._links.self.href, /^\/ucwa\/oauth\/v1\/applications\/\d{12}$/);
  assert.match(a.json._links.events.href, /\/events\?ack=1$/);
  const again = await sim.req('POST', apps, { token: tok, body: { userAgent: 'UCWA Samples', endpointid: 'a1', CULTURE: 'en-US' } });
  assert.equal(again.status, 200);
  assert.equal(again.json._links.self.href, a.json._links.self.href);
  const b = await sim.req('POST', apps, { token: tok, body: { userAgent: 'x', endpointId: 'a2', culture: 'en-US' } });
  assert.equal(b.status, 201);
  const c = await sim.req('POST', apps, { token: tok, body: { userAgent: 'x', endpointId: 'a3', culture: 'en-US' } });
  assert.equal(c.status, 410);
  assert.match(c.headers['content-type'], /^application\/json/);
  assert.deepEqual([c.json.code, c.json.subcode], ['Gone', 'TooManyApplications']);
  const missing = await sim.req('POST', apps, { token: tok, body: { userAgent: 'x', endpointId: 'a4' } });
  assert.equal(missing.status, 400);
  assert.equal(missing.json.subcode, 'ParameterValidationFailure');
  const junk = await sim.req('POST', apps, { token: tok, body: '{"userAgent":', ctype: 'application/json' });
  assert.equal(junk.status, 400);
  const g = await sim.req('GET', b.json._links.self.href, { token: tok });
  assert.equal(g.status, 200);
  assert.equal(g.json.endpointId, 'a2');
  const d = await sim.req('DELETE', b.json._links.self.href, { token: tok });
  assert.equal(d.status, 204);
  const gone = await sim.req('GET', b.json._links.self.href, { token: tok });
  assert.equal(gone.status, 404);
  assert.equal(gone.json.subcode, 'ApplicationNotFound');
  const other = await sim.token('agent2@contoso.com', 'pw2');
  const stolen = await sim.req('GET', a.json._links.self.href, { token: other });
  assert.equal(stolen.status, 404);
}));

test('makeMeAvailable 204, events (30), application after it (11), 409 on repeat (80), reportMyActivity', () => withSim({}, async (sim) => {
  const c = await sim.client({ available: false });
  const early = await c.req('POST', `${c.app._links.self.href}/me/reportMyActivity`);
  assert.equal(early.status, 409);
  assert.equal(early.json.subcode, 'MakeMeAvailableRequired');
  const mma = c.app._embedded.me._links.makeMeAvailable.href;
  const r = await c.req('POST', mma, { body: { SupportedModalities: ['Messaging'] } });
  assert.equal(r.status, 204);
  const ev = await c.poll();
  const want = s.sample('30-events-ack1-me-and-communication-after-makeMeAvailable.json');
  s.assertShape(ev, want);
  assert.deepEqual(ev.sender.map((x) => x.rel), want.sender.map((x) => x.rel));
  assert.deepEqual(ev.sender[0].events.map((e) => [e.link.rel, e.type]), want.sender[0].events.map((e) => [e.link.rel, e.type]));
  assert.match(ev._links.self.href, /events\?ack=1$/);
  assert.match(ev._links.next.href, /events\?ack=2$/);
  const app = await c.req('GET', c.app._links.self.href);
  s.assertShape(app.json, s.sample('11-get-application-after-makeMeAvailable.json'));
  assert.deepEqual(app.json._embedded.communication.supportedModalities, ['Messaging']);
  const again = await c.req('POST', mma, { body: { SupportedModalities: ['Messaging'] } });
  assert.equal(again.status, 409);
  s.assertShape(again.json, s.sample('80-error-body-conflict.json'));
  assert.equal(again.json.subcode, 'AlreadyExists');
  const act = await c.req('POST', app.json._embedded.me._links.reportMyActivity.href);
  assert.equal(act.status, 204);
  const c2 = await sim.client({ available: false });
  const video = await c2.req('POST', c2.app._embedded.me._links.makeMeAvailable.href, { body: { supportedModalities: ['Video'] } });
  assert.equal(video.status, 403);
}));

test('SendAnIM: startMessaging (21), events (22, 23), conversation (24), sendMessage (26, 27), stopMessaging (29)', () => withSim({}, async (sim) => {
  const c = await sim.client();
  await c.poll(); // ack=1: makeMeAvailable events
  const r = await c.req('POST', c.app._embedded.communication._links.startMessaging.href, {
    body: { to: 'sip:lenea@contoso.com', operationId: '5028e824-2268-4b14-9e59-1abad65ff393', subject: 'Task Sample', importance: 'Normal', threadId: '0c7e9e90916041099ffd46075944f433' },
  });
  assert.equal(r.status, 201);
  assert.equal(r.body, '');
  assert.equal(r.headers['content-length'], '0');
  assert.match(r.headers.location, /^\/ucwa\/oauth\/v1\/applications\/\d+\/communication\/messagingInvitations\/[0-9a-f]{32}$/);
  for (const [snd, rel, type] of [['communication', 'messagingInvitation', 'started'], ['communication', 'conversation', 'added'],
    ['conversation', 'localParticipant', 'added'], ['conversation', 'messaging', 'updated']]) {
    const e = await c.ev(snd, rel, type);
    s.assertEventShape(e, s.sampleEvent('22-events-ack2-after-startMessaging.json', snd, rel, type), `22 ${rel}`);
  }
  const started = c.events.find((e) => e.link.rel === 'messagingInvitation');
  assert.equal(started.link.href, r.headers.location);
  assert.equal(started._embedded.messagingInvitation.operationId, '5028e824-2268-4b14-9e59-1abad65ff393');
  assert.equal(started._embedded.messagingInvitation.subject, 'Task Sample');
  const conv = started._embedded.messagingInvitation._links.conversation.href;
  assert.match(conv, /\/conversations\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  const done = await c.ev('communication', 'messagingInvitation', 'completed');
  const s23 = '23-events-ack3-invitation-completed-messaging-connected.json';
  s.assertEventShape(done, s.sampleEvent(s23, 'communication', 'messagingInvitation', 'completed'), '23 invitation');
  assert.equal(done._embedded.messagingInvitation.operationId, '5028e824-2268-4b14-9e59-1abad65ff393');
  for (const [snd, rel, type, inRel] of [['communication', 'conversation', 'updated'], ['conversation', 'participant', 'added'],
    ['conversation', 'participantMessaging', 'added', 'participant'], ['conversation', 'participantMessaging', 'added', 'localParticipant'],
    ['conversation', 'messaging', 'updated']]) {
    const e = c.events.find((x) => x.sender === snd && x.link.rel === rel && x.type === type &&
      (!inRel || x.in.rel === inRel) && (rel !== 'messaging' || x._embedded.messaging.state === 'Connected') &&
      (rel !== 'conversation' || x._embedded.conversation.state === 'Connected'));
    assert.ok(e, `23: ${snd} › ${rel} ${type} ${inRel || ''}`);
    s.assertEventShape(e, s.sampleEvent(s23, snd, rel, type, inRel), `23 ${rel}`);
  }
  const g = await c.req('GET', conv);
  assert.equal(g.status, 200);
  s.assertShape(g.json, s.sample('24-get-conversation-connected.json'));
  const list = await c.req('GET', c.app._embedded.communication._links.conversations.href);
  assert.equal(list.status, 200);
  assert.deepEqual(list.json._embedded.conversation.map((x) => x._links.self.href), [conv]);
  const msging = c.events.filter((e) => e.link.rel === 'messaging').pop()._embedded.messaging;
  const send = msging._links.sendMessage.href;
  const m = await c.req('POST', `${send}?operationId=op-1`, { body: "What's up?" });
  assert.equal(m.status, 201);
  assert.equal(m.body, '');
  assert.equal(m.headers.location, `${send}/2`);
  const mc = await c.ev('conversation', 'message', 'completed');
  s.assertEventShape(mc, s.sample('27-events-ack6-outgoing-message-completed.json').sender[0].events[0], '27');
  assert.equal(mc.link.href, m.headers.location);
  assert.equal(mc._embedded.message.operationId, 'op-1');
  assert.match(JSON.stringify(mc), /"timeStamp":"\/Date\(\d{13}\)\/"/);
  assert.ok(c.events.find((e) => e.link.rel === 'message' && e.type === 'started'), 'message started');
  const got = await sim.received('lenea@contoso.com');
  const msgs = got.filter((x) => x.type === 'message');
  assert.deepEqual(msgs.map((x) => [x.from, x.text, x.contentType]), [['sip:toshm@contoso.com', "What's up?", 'text/plain']]);
  assert.ok(msgs[0].ts > 1.6e12);
  const stop = await c.req('POST', msging._links.stopMessaging.href);
  assert.equal(stop.status, 204);
  const disc = await c.ev('conversation', 'messaging', 'updated', (e) => e._embedded.messaging.state === 'Disconnected');
  assert.equal(disc._embedded.messaging._links.sendMessage, undefined);
  const del = await c.ev('communication', 'conversation', 'deleted');
  s.assertEventShape(del, s.sample('62-ref-event-conversation-deleted.json').sender[0].events[0], '62');
  const after = await c.req('POST', send, { body: 'late' });
  assert.equal(after.status, 404);
}));

test('ReceiveAnIM: invitation (31), participant (32, 34), accept (36), updated (33), connected (37), first message again (38)', () => withSim({}, async (sim) => {
  const c = await sim.client();
  await c.poll();
  const inv = await sim.ctl('POST', 'remotes/lenea@contoso.com/invite', { to: 'sip:toshm@contoso.com', text: 'Hi Tosh\r\n' });
  assert.equal(inv.status, 200, inv.body);
  const s31 = '31-events-ack2-incoming-invitation-started.json';
  for (const [snd, rel, type] of [['communication', 'messagingInvitation', 'started'], ['communication', 'conversation', 'added'],
    ['conversation', 'localParticipant', 'added']]) {
    s.assertEventShape(await c.ev(snd, rel, type), s.sampleEvent(s31, snd, rel, type), `31 ${rel}`);
  }
  const started = c.events.find((e) => e.link.rel === 'messagingInvitation')._embedded.messagingInvitation;
  assert.equal(started._links.message.href, 'data:text/plain;charset=utf-8,Hi+Tosh%0d%0a');
  assert.equal(started._embedded.from.uri, 'sip:lenea@contoso.com');
  assert.equal(started._embedded.from.name, 'Lene Aaling');
  const conv = c.events.find((e) => e.link.rel === 'conversation' && e.type === 'added');
  assert.equal(conv._embedded.conversation.state, 'Incoming');
  const pa = await c.ev('conversation', 'participant', 'added');
  s.assertEventShape(pa, s.sample('32-events-ack3-remote-participant-added.json').sender[0].events[0], '32');
  assert.equal(pa.link.title, 'Lene Aaling');
  const p = await c.req('GET', pa.link.href);
  assert.equal(p.status, 200);
  s.assertShape(p.json, s.sample('34-get-remote-participant.json'));
  const acc = await c.req('POST', `${started._links.accept.href}?sessionContext=2687ba8f-048e-4ffa-83b3-0849c6b9004c`);
  assert.equal(acc.status, 204);
  assert.equal(acc.body, '');
  const upd = await c.ev('communication', 'messagingInvitation', 'updated');
  s.assertEventShape(upd, s.sample('33-events-ack4-incoming-invitation-updated.json').sender[0].events[0], '33');
  assert.equal(upd._embedded.messagingInvitation._links.accept, undefined);
  const s37 = '37-events-ack5-after-accept-connected.json';
  await c.ev('communication', 'messagingInvitation', 'completed');
  for (const [snd, rel, type, inRel] of [['conversation', 'messaging', 'updated'], ['communication', 'conversation', 'updated'],
    ['conversation', 'participantMessaging', 'added', 'localParticipant'], ['conversation', 'participantMessaging', 'added', 'participant'],
    ['conversation', 'participant', 'updated'], ['communication', 'messagingInvitation', 'completed']]) {
    const e = c.events.find((x) => x.sender === snd && x.link.rel === rel && x.type === type && (!inRel || x.in.rel === inRel));
    assert.ok(e, `37: ${snd} › ${rel} ${type}`);
    s.assertEventShape(e, s.sampleEvent(s37, snd, rel, type, inRel), `37 ${rel}`);
  }
  const msg = await c.ev('conversation', 'message', 'completed');
  const s38 = s.sample('38-events-ack6-incoming-message-completed.json');
  s.assertEventShape(msg, s38.sender[0].events[0], '38 message');
  assert.equal(msg._embedded.message._links.plainMessage.href, 'data:text/plain;charset=utf-8,Hi+Tosh%0d%0a');
  assert.equal(msg._embedded.message.direction, 'Incoming');
  s.assertShape(c.events.filter((e) => e.link.rel === 'conversation').pop(), s38.sender[1].events[0], '38 conversation');
  s.assertShape(msg, s.sample('90-lync2013-events-incoming-message-completed-and-typing.json').sender[0].events[0], 'field 90');
  const got = await sim.received('lenea@contoso.com');
  assert.deepEqual(got.map((x) => x.type), ['accepted']);
}));

test('event channel: replay of a repeated URL, resync, 409 PGetReplaced, test timeout, idle expiry 404', () => withSim({ 'events.test_timeout_ms': 300 * h.slow, 'applications.idle_expiry_ms': 1500 * h.slow }, async (sim) => {
  const c = await sim.client();
  const first = c.next;
  const a = await c.req('GET', first);
  const b = await c.req('GET', first);
  assert.equal(b.body, a.body, 'a repeated URL replays the same set');
  const next = a.json._links.next.href;
  const far = await c.req('GET', next.replace(/ack=\d+/, 'ack=99'));
  assert.equal(far.status, 200);
  assert.equal(far.json._links.resync.href, first, 'resync points at the first unacknowledged set');
  assert.equal(far.json._links.next, undefined);
  const t0 = Date.now();
  const empty = await c.req('GET', next);
  assert.ok(Date.now() - t0 >= 250, 'released by the test timeout');
  assert.equal(empty.json.sender, undefined);
  assert.match(empty.json._links.next.href, /ack=3$/);
  const stale = await c.req('GET', first);
  assert.ok(stale.json._links.resync, 'an acknowledged set is gone');
  const older = c.req('GET', empty.json._links.next.href);
  await h.waitFor(async () => (await sim.state()).applications[0].parked, 3000 * h.slow, 'parked P-GET');
  const newer = c.req('GET', empty.json._links.next.href);
  const o = await older;
  assert.equal(o.status, 409);
  assert.deepEqual([o.json.code, o.json.subcode], ['Conflict', 'PGetReplaced']);
  assert.equal((await newer).status, 200);
  await h.waitFor(async () => (await c.req('GET', c.app._links.self.href)).status === 404, 8000 * h.slow, 'idle expiry');
  const gone = await c.req('GET', empty.json._links.next.href);
  assert.equal(gone.status, 404);
  assert.equal(gone.json.subcode, 'ApplicationNotFound');
}));

test('resume after a long gap drops every conversation', () => withSim({ 'events.resume_after_ms': 400 * h.slow }, async (sim) => {
  const c = await sim.client();
  await c.poll();
  await c.req('POST', c.app._embedded.communication._links.startMessaging.href, { body: { to: 'sip:lenea@contoso.com' } });
  await c.ev('communication', 'messagingInvitation', 'completed');
  assert.equal((await sim.state()).applications[0].conversations.length, 1);
  await new Promise((r) => setTimeout(r, 500 * h.slow)); // the gap under test, not a readiness wait
  const r = await c.req('GET', c.next);
  assert.ok(r.json._links.resume, `resume: ${r.body}`);
  assert.equal(r.json._links.next, undefined);
  assert.deepEqual((await sim.state()).applications[0].conversations, []);
  // A P-GET that replaces one parked longer than the gap is no gap: no resume.
  c.next = r.json._links.resume.href;
  const older = c.req('GET', c.next);
  await h.waitFor(async () => (await sim.state()).applications[0].parked, 3000 * h.slow, 'parked');
  await new Promise((res) => setTimeout(res, 500 * h.slow));
  const newer = c.req('GET', c.next);
  assert.equal((await older).status, 409);
  await h.waitFor(async () => (await sim.state()).applications[0].parked, 3000 * h.slow, 'newer parked');
  await sim.ctl('POST', 'remotes/lenea@contoso.com/invite', { to: 'toshm@contoso.com', text: 'x' });
  const n = await newer;
  assert.ok(n.json._links.next, `next, not resume: ${n.body}`);
}));

test('outgoing failures: declined, unanswered (timeout), unknown party, cancel', () => withSim({ 'conversations.invitation_timeout_ms': 300 * h.slow }, async (sim) => {
  const c = await sim.client();
  const start = (to) => c.req('POST', c.app._embedded.communication._links.startMessaging.href, { body: { to } });
  const fail = async (to, sub) => {
    const r = await start(to);
    assert.equal(r.status, 201);
    const e = await c.ev('communication', 'messagingInvitation', 'completed', (x) => x.link.href === r.headers.location);
    assert.equal(e.status, 'Failure');
    assert.equal(e.reason.subcode, sub);
    assert.equal(typeof e.reason.code, 'string');
    assert.equal(e._embedded.messagingInvitation.state, 'Failed');
    return e;
  };
  const d = await fail('sip:decliner@contoso.com', 'Declined');
  assert.equal(d.reason.message, 'Your invitation was declined.');
  await fail('sip:silent@contoso.com', 'Timeout');
  await fail('sip:nobody@contoso.com', 'DestinationNotFound');
  await sim.ctl('POST', 'remotes/silent@contoso.com/behaviour', { answer: 'silent' });
  const r = await start('sip:silent@contoso.com');
  const st = await c.ev('communication', 'messagingInvitation', 'started', (x) => x.link.href === r.headers.location);
  const cancel = await c.req('POST', st._embedded.messagingInvitation._links.cancel.href);
  assert.equal(cancel.status, 204);
  const e = await c.ev('communication', 'messagingInvitation', 'completed', (x) => x.link.href === r.headers.location);
  assert.equal(e.reason.subcode, 'Canceled');
  assert.deepEqual((await sim.state()).applications[0].conversations, []);
  assert.ok((await sim.received('silent@contoso.com')).some((x) => x.type === 'cancelled'));
}));

test('incoming: decline, expiry after the invitation timeout, first to accept wins', () => withSim({ 'conversations.invitation_timeout_ms': 400 * h.slow }, async (sim) => {
  const c = await sim.client();
  const invite = () => sim.ctl('POST', 'remotes/lenea@contoso.com/invite', { to: 'toshm@contoso.com', text: 'hello' });
  await invite();
  const st = await c.ev('communication', 'messagingInvitation', 'started');
  const dec = await c.req('POST', st._embedded.messagingInvitation._links.decline.href, { body: { reason: 'Local' } });
  assert.equal(dec.status, 204);
  const f = await c.ev('communication', 'messagingInvitation', 'completed');
  assert.equal(f.status, 'Failure');
  assert.equal(f.reason.subcode, 'Declined');
  await c.ev('communication', 'conversation', 'deleted');
  c.events = [];
  await invite();
  const exp = await c.ev('communication', 'messagingInvitation', 'completed');
  assert.equal(exp.reason.subcode, 'Timeout');
  const log = await sim.received('lenea@contoso.com');
  assert.deepEqual(log.map((x) => x.type), ['declined', 'invitation_expired']);
  const c2 = await sim.client();
  c.events = [];
  await invite();
  const s1 = await c.ev('communication', 'messagingInvitation', 'started');
  await c2.ev('communication', 'messagingInvitation', 'started');
  assert.equal((await c.req('POST', s1._embedded.messagingInvitation._links.accept.href)).status, 204);
  const lost = await c2.ev('communication', 'messagingInvitation', 'completed');
  assert.equal(lost.status, 'Failure');
  assert.equal(lost.reason.subcode, 'ConnectedElsewhere');
  assert.equal(lost._embedded.messagingInvitation._links.accept, undefined);
  const late = await c.req('POST', s1._embedded.messagingInvitation._links.accept.href);
  assert.equal(late.status, 409);
}));

// A connected outgoing conversation; returns its latest messaging resource.
async function connected(c) {
  const r = await c.req('POST', c.app._embedded.communication._links.startMessaging.href, { body: { to: 'sip:lenea@contoso.com' } });
  const done = await c.ev('communication', 'messagingInvitation', 'completed', (x) => x.link.href === r.headers.location);
  const href = done._embedded.messagingInvitation._links.messaging.href;
  const e = await c.ev('conversation', 'messaging', 'updated', (x) => x.link.href === href && x._embedded.messaging.state === 'Connected');
  return e._embedded.messaging;
}

test('sendMessage: 415 for unsupported types, text/html only when negotiated, failure with failedDeliveryParticipant', () => withSim({}, async (sim) => {
  const c = await sim.client();
  const m = await connected(c);
  const html = await c.req('POST', m._links.sendMessage.href, { body: '<b>hi</b>', ctype: 'text/html' });
  assert.equal(html.status, 415);
  assert.equal(html.json.code, 'UnsupportedMediaType');
  const json = await c.req('POST', m._links.sendMessage.href, { body: { a: 1 } });
  assert.equal(json.status, 415);
  const h2 = await sim.client({ formats: ['Plain', 'Html'] });
  const m2 = await connected(h2);
  assert.deepEqual(m2.negotiatedMessageFormats, ['Plain', 'Html']);
  const ok = await h2.req('POST', m2._links.sendMessage.href, { body: '<b>hi</b>', ctype: 'text/html; charset=UTF-8' });
  assert.equal(ok.status, 201);
  await sim.ctl('POST', 'remotes/lenea@contoso.com/behaviour', { fail: true });
  const f = await h2.req('POST', m2._links.sendMessage.href, { body: 'lost' });
  assert.equal(f.status, 201);
  const e = await h2.ev('conversation', 'message', 'completed', (x) => x.link.href === f.headers.location);
  assert.equal(e.status, 'Failure');
  const fdp = e._embedded.message._links.failedDeliveryParticipant;
  assert.ok(Array.isArray(fdp) && /participants\/lenea@contoso\.com$/.test(fdp[0].href));
  const log = (await sim.received('lenea@contoso.com')).filter((x) => x.type === 'message');
  assert.deepEqual(log.map((x) => [x.text, x.contentType]), [['<b>hi</b>', 'text/html']]);
}));

test('a remote slow to receive (delivery_ms): started as the message is taken, completed and the receipt later, in order', () => withSim({}, async (sim) => {
  const c = await sim.client();
  const m = await connected(c);
  const bad = await sim.ctl('POST', 'remotes/lenea@contoso.com/behaviour', { delivery_ms: -1 });
  assert.equal(bad.status, 400);
  assert.match(bad.json.error, /delivery_ms/);
  assert.equal((await sim.ctl('POST', 'remotes/lenea@contoso.com/behaviour', { delivery_ms: 700 })).status, 200);
  assert.equal((await sim.state()).remotes.find((x) => x.uri === 'sip:lenea@contoso.com').delivery_ms, 700);
  const t0 = Date.now(); // (before the POST: the delivery is timed from when the message was taken)
  const a = await c.req('POST', `${m._links.sendMessage.href}?operationId=op-a`, { body: 'first' });
  const b = await c.req('POST', `${m._links.sendMessage.href}?operationId=op-b`, { body: 'second' });
  assert.equal(a.status, 201);
  assert.equal(b.status, 201);
  const sa = await c.ev('conversation', 'message', 'started', (x) => x.link.href === a.headers.location);
  assert.equal(sa._embedded.message.operationId, 'op-a');
  assert.equal(c.events.find((e) => e.link.rel === 'message' && e.type === 'completed'), undefined, 'started as it was taken, before its delivery');
  assert.deepEqual((await sim.received('lenea@contoso.com')).filter((x) => x.type === 'message'), [], 'not received yet');
  const ca = await c.ev('conversation', 'message', 'completed', (x) => x.link.href === a.headers.location);
  assert.ok(Date.now() - t0 >= 690, `completed after delivery_ms (${Date.now() - t0} ms)`);
  assert.equal(ca.status, 'Success');
  assert.equal(ca._embedded.message.operationId, 'op-a');
  await c.ev('conversation', 'message', 'completed', (x) => x.link.href === b.headers.location);
  const done = c.events.filter((e) => e.link.rel === 'message' && e.type === 'completed').map((e) => e.link.href);
  assert.deepEqual(done, [a.headers.location, b.headers.location], 'delivered in order');
  const got = (await sim.received('lenea@contoso.com')).filter((x) => x.type === 'message').map((x) => x.text);
  assert.deepEqual(got, ['first', 'second']);
}));

test('typing both ways (63, 64), remote reply, remote leave (65), DELETE conversation', () => withSim({ 'conversations.typing_timeout_ms': 200 }, async (sim) => {
  const c = await sim.client();
  const m = await connected(c);
  assert.equal((await c.req('POST', m._links.setIsTyping.href)).status, 204);
  const t = await sim.ctl('POST', 'remotes/lenea@contoso.com/typing', { to: 'toshm@contoso.com' });
  assert.equal(t.status, 200);
  const add = await c.ev('conversation', 'participant', 'added', (e) => e.in && e.in.rel === 'typingParticipants');
  s.assertEventShape(add, s.sample('63-ref-event-typingParticipants-added.json').sender[0].events[0], '63');
  const del = await c.ev('conversation', 'participant', 'deleted', (e) => e.in && e.in.rel === 'typingParticipants');
  s.assertEventShape(del, s.sample('64-ref-event-typingParticipants-deleted.json').sender[0].events[0], '64');
  await sim.ctl('POST', 'remotes/lenea@contoso.com/behaviour', { reply: true });
  await c.req('POST', m._links.sendMessage.href, { body: 'ping' });
  const echo = await c.ev('conversation', 'message', 'completed', (e) => e._embedded.message.direction === 'Incoming');
  assert.equal(echo._embedded.message._links.plainMessage.href, 'data:text/plain;charset=utf-8,echo%3a+ping');
  const log = await sim.received('lenea@contoso.com');
  assert.ok(log.some((x) => x.type === 'typing'));
  const leave = await sim.ctl('POST', 'remotes/lenea@contoso.com/leave', { to: 'toshm@contoso.com' });
  assert.equal(leave.status, 200);
  const gone = await c.ev('conversation', 'participant', 'deleted', (e) => !e.in);
  s.assertEventShape(gone, s.sample('65-ref-event-participant-deleted.json').sender[0].events[0], '65');
  await c.ev('communication', 'conversation', 'deleted');
  const m2 = await connected(c);
  const conv = m2._links.conversation.href;
  assert.equal((await c.req('DELETE', conv)).status, 204);
  assert.equal((await c.req('GET', conv)).status, 404);
}));

test('data URIs: CRLF, +, UTF-8 multibyte and HTML, as UCWA writes them', () => withSim({}, async (sim) => {
  const c = await sim.client({ formats: ['Plain', 'Html'] });
  await connected(c);
  const text = 'a+b c\r\nü€ 100% <i>&</i>';
  const r = await sim.ctl('POST', 'remotes/lenea@contoso.com/message', { to: 'toshm@contoso.com', text });
  assert.equal(r.status, 200, r.body);
  const e = await c.ev('conversation', 'message', 'completed', (x) => x._embedded.message.direction === 'Incoming');
  assert.equal(e._embedded.message._links.plainMessage.href,
    'data:text/plain;charset=utf-8,a%2bb+c%0d%0a%c3%bc%e2%82%ac+100%25+%3ci%3e%26%3c%2fi%3e');
  const h2 = await sim.ctl('POST', 'remotes/lenea@contoso.com/message', { to: 'toshm@contoso.com', text: '<b>bold</b>', html: true });
  assert.equal(h2.status, 200);
  const eh = await c.ev('conversation', 'message', 'completed', (x) => x._embedded.message._links.htmlMessage);
  assert.equal(eh._embedded.message._links.htmlMessage.href, `data:text/html;base64,${Buffer.from('<b>bold</b>').toString('base64')}`);
  const out = await c.req('POST', c.app._embedded.communication._links.startMessaging.href, {
    body: { to: 'sip:lenea@contoso.com', _links: { message: { href: `data:text/plain;base64,${Buffer.from('first ü').toString('base64')}` } } },
  });
  assert.equal(out.status, 201);
  await h.waitFor(async () => (await sim.received('lenea@contoso.com')).some((x) => x.text === 'first ü'), 3000 * h.slow, 'first message');
}));

test('an incoming message not fetched in time is dropped and the remote is told', () => withSim({ 'conversations.message_fetch_timeout_ms': 300 * h.slow }, async (sim) => {
  const c = await sim.client();
  await connected(c);
  const r = await sim.ctl('POST', 'remotes/lenea@contoso.com/message', { to: 'toshm@contoso.com', text: 'too late' });
  assert.equal(r.status, 200);
  await h.waitFor(async () => (await sim.received('lenea@contoso.com')).some((x) => x.type === 'undelivered'), 3000 * h.slow, 'undelivered');
  const log = (await sim.received('lenea@contoso.com')).find((x) => x.type === 'undelivered');
  assert.deepEqual([log.from, log.text], ['sip:toshm@contoso.com', 'too late']);
  await sim.ctl('POST', 'remotes/lenea@contoso.com/message', { to: 'toshm@contoso.com', text: 'in time' });
  const e = await c.ev('conversation', 'message', 'completed', (x) => x._embedded.message.direction === 'Incoming');
  assert.equal(e._embedded.message._links.plainMessage.href, 'data:text/plain;charset=utf-8,in+time');
  assert.equal(c.events.filter((x) => x.link.rel === 'message' && x._embedded.message.direction === 'Incoming').length, 1);
}));

test('event channel: priority decides between P-GETs of the same ack; timeout is remembered', () => withSim({}, async (sim) => {
  const c = await sim.client();
  await c.poll();
  const hi = c.req('GET', `${c.next}&priority=5&timeout=900`);
  await h.waitFor(async () => (await sim.state()).applications[0].parked, 3000 * h.slow, 'parked');
  const lo = await c.req('GET', `${c.next}&priority=1`);
  assert.equal(lo.status, 409, 'a lower priority does not replace a higher one');
  assert.equal(lo.json.subcode, 'PGetReplaced');
  assert.equal((await sim.state()).applications[0].parked, true);
  assert.equal((await sim.state()).applications[0].timeout_s, 900);
  const same = c.req('GET', `${c.next}&priority=5`);
  const h1 = await hi;
  assert.equal(h1.status, 409, 'an equal priority replaces by arrival');
  await sim.ctl('POST', 'remotes/lenea@contoso.com/invite', { to: 'toshm@contoso.com', text: 'x' });
  assert.equal((await same).status, 200);
  assert.equal((await sim.state()).applications[0].timeout_s, 900, 'remembered without repeating it');
}));
