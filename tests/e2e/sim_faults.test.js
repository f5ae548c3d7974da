// sim_faults.test.js: one test per fault of ucwa.md §13 ("Faults to
// inject"), each showing that ucwa-sim produces it when told to through
// the control API (or its configuration), and stops when cleared.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');
const s = require('./lib/sim');

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

const USER = 'toshm@contoso.com';
const fault = async (sim, f) => {
  const r = await sim.ctl('POST', `users/${USER}/faults`, f);
  assert.equal(r.status, 200, r.body);
};
const clear = (sim) => sim.ctl('DELETE', `users/${USER}/faults`);
const parked = (sim) => h.waitFor(async () => (await sim.state()).applications.some((a) => a.parked), 5000 * h.slow, 'a parked P-GET');

// A connected outgoing conversation; returns its messaging resource.
async function connected(c, to = 'sip:lenea@contoso.com') {
  const r = await c.req('POST', c.app._embedded.communication._links.startMessaging.href, { body: { to } });
  const done = await c.ev('communication', 'messagingInvitation', 'completed', (x) => x.link.href === r.headers.location);
  const href = done._embedded.messagingInvitation._links.messaging.href;
  const e = await c.ev('conversation', 'messaging', 'updated', (x) => x.link.href === href && x._embedded.messaging.state === 'Connected');
  return e._embedded.messaging;
}

test('fault: TCP reset on an idle P-GET; the same URL then works', () => withSim({}, async (sim) => {
  const c = await sim.client();
  await c.poll();
  await fault(sim, { fault: 'reset_pget', after_ms: 100, count: 1 });
  await assert.rejects(c.req('GET', c.next), (e) => e.code === 'ECONNRESET', 'connection reset');
  assert.equal((await sim.state()).users[0].outstanding, 0);
  const p = c.req('GET', c.next);
  await parked(sim);
  await sim.ctl('POST', 'remotes/lenea@contoso.com/invite', { to: USER, text: 'x' });
  assert.equal((await p).status, 200);
}));

test('fault: slow responses (delay) and trickled responses (rate)', () => withSim({}, async (sim) => {
  const c = await sim.client();
  await fault(sim, { fault: 'slow', delay_ms: 400 });
  const r = await c.req('GET', c.app._links.self.href);
  assert.equal(r.status, 200);
  assert.ok(r.headAt - r.sentAt >= 380, `slow: ${r.headAt - r.sentAt} ms`);
  await clear(sim);
  await fault(sim, { fault: 'trickle', bytes_per_s: 4000 });
  const t = await c.req('GET', c.app._links.self.href);
  assert.equal(t.status, 200);
  assert.ok(t.json && t.json.rel === 'application', 'complete body');
  assert.ok(t.body.length > 3000);
  assert.ok(t.doneAt - t.headAt >= 500, `trickled over ${t.doneAt - t.headAt} ms`);
  await clear(sim);
  const f = await c.req('GET', c.app._links.self.href);
  assert.ok(f.doneAt - f.sentAt < 400 * h.slow, `not trickled once cleared: ${f.doneAt - f.sentAt} ms`);
}));

test('fault: sender: [] (an empty event set)', () => withSim({}, async (sim) => {
  const c = await sim.client();
  await c.poll();
  await fault(sim, { fault: 'empty_sender', count: 1 });
  const r = await c.req('GET', c.next);
  assert.deepEqual(r.json.sender, []);
  assert.ok(r.json._links.next);
  c.next = r.json._links.next.href;
  await sim.ctl('POST', 'remotes/lenea@contoso.com/invite', { to: USER, text: 'x' });
  await c.ev('communication', 'messagingInvitation', 'started');
}));

test('fault: a duplicate P-GET gets the older one 409 PGetReplaced', () => withSim({}, async (sim) => {
  const c = await sim.client();
  await c.poll();
  const older = c.req('GET', c.next);
  await parked(sim);
  const newer = c.req('GET', c.next);
  const o = await older;
  assert.equal(o.status, 409);
  assert.match(o.headers['content-type'], /^application\/json/);
  assert.equal(o.json.subcode, 'PGetReplaced');
  await h.waitFor(async () => (await sim.state()).applications[0].parked, 3000 * h.slow, 'newer parked');
  await sim.ctl('POST', 'remotes/lenea@contoso.com/invite', { to: USER, text: 'x' });
  assert.equal((await newer).status, 200);
}));

test('fault: application killed mid-conversation → 404 ApplicationNotFound; resume drops conversations', () => withSim({}, async (sim) => {
  const c = await sim.client();
  const m = await connected(c);
  const p = c.req('GET', c.next);
  await parked(sim);
  assert.equal((await sim.ctl('POST', `users/${USER}/kill-applications`)).status, 200);
  const pr = await p;
  assert.equal(pr.status, 404);
  assert.equal(pr.json.subcode, 'ApplicationNotFound');
  const send = await c.req('POST', m._links.sendMessage.href, { body: 'hello?' });
  assert.equal(send.status, 404);
  assert.equal(send.json.subcode, 'ApplicationNotFound');
  const c2 = await sim.client();
  await connected(c2);
  const q = c2.req('GET', c2.next);
  await parked(sim);
  await sim.ctl('POST', `users/${USER}/resume`);
  const r = await q;
  assert.ok(r.json._links.resume, r.body);
  assert.deepEqual((await sim.state()).applications[0].conversations, []);
  c2.next = r.json._links.resume.href;
  const after = c2.req('GET', c2.next);
  await parked(sim);
  await sim.ctl('POST', 'remotes/lenea@contoso.com/invite', { to: USER, text: 'again' });
  assert.equal((await after).status, 200);
}));

test('fault: 410 InactiveApplicationExpired, TooManyApplications, UserAgentNotAllowed', () => withSim({}, async (sim) => {
  const c = await sim.client();
  await fault(sim, { fault: 'error', on: 'events', status: 410, code: 'Gone', subcode: 'InactiveApplicationExpired', count: 1 });
  const e = await c.req('GET', c.next);
  assert.equal(e.status, 410);
  assert.deepEqual([e.json.code, e.json.subcode], ['Gone', 'InactiveApplicationExpired']);
  for (const sub of ['TooManyApplications', 'UserAgentNotAllowed']) {
    await fault(sim, { fault: 'error', on: 'applications', status: 410, code: 'Gone', subcode: sub, count: 1 });
    const r = await c.req('POST', c.appsUrl, { body: { userAgent: 'x', endpointId: 'y', culture: 'en-US' } });
    assert.equal(r.status, 410);
    assert.equal(r.json.subcode, sub);
  }
  const ok = await c.req('POST', c.appsUrl, { body: { userAgent: 'x', endpointId: 'y', culture: 'en-US' } });
  assert.equal(ok.status, 201, 'counted faults are used up');
}));

test('fault: 429 after K outstanding requests per user', () => withSim({ 'limits.outstanding_per_user': 2 }, async (sim) => {
  const c = await sim.client();
  await c.poll();
  const p = c.req('GET', c.next);
  await parked(sim);
  await fault(sim, { fault: 'slow', delay_ms: 1500 });
  const slow = c.req('GET', c.app._links.self.href);
  await h.waitFor(async () => (await sim.state()).users[0].outstanding === 2, 3000 * h.slow, 'two outstanding');
  const r = await c.req('GET', c.app._links.self.href);
  assert.equal(r.status, 429);
  assert.equal(r.json.code, 'TooManyRequests');
  assert.equal((await slow).status, 200);
  await clear(sim);
  assert.equal((await c.req('GET', c.app._links.self.href)).status, 200);
  await sim.ctl('POST', 'remotes/lenea@contoso.com/invite', { to: USER, text: 'x' });
  await p;
}));

test('fault: 500 CallbackChannelError, 503, 504 on commands, and a fake proxy HTML body', () => withSim({}, async (sim) => {
  const c = await sim.client();
  const m = await connected(c);
  for (const [status, code, subcode] of [[500, 'ServiceFailure', 'CallbackChannelError'], [503, 'ServiceUnavailable', undefined], [504, 'GatewayTimeout', undefined]]) {
    const f = { fault: 'error', on: 'command', status, code, count: 1 };
    if (subcode) f.subcode = subcode;
    await fault(sim, f);
    const r = await c.req('POST', m._links.sendMessage.href, { body: 'x' });
    assert.equal(r.status, status);
    assert.match(r.headers['content-type'], /^application\/json/);
    assert.equal(r.json.code, code);
    assert.equal(r.json.subcode, subcode);
  }
  await fault(sim, { fault: 'error', on: 'command', status: 502, html: true, count: 1 });
  const p = await c.req('POST', m._links.sendMessage.href, { body: 'x' });
  assert.equal(p.status, 502);
  assert.equal(p.headers['content-type'], 'text/html');
  assert.match(p.body, /^<html>.*502 Bad Gateway/);
  const ok = await c.req('POST', m._links.sendMessage.href, { body: 'x' });
  assert.equal(ok.status, 201);
  assert.deepEqual((await sim.received('lenea@contoso.com')).filter((x) => x.type === 'message').map((x) => x.text), ['x']);
}));

test('fault: token expiry in the middle of a P-GET', () => withSim({ 'events.test_timeout_ms': 400 }, async (sim) => {
  const c = await sim.client();
  await c.poll();
  const p = c.req('GET', c.next);
  await parked(sim);
  await sim.ctl('POST', `users/${USER}/expire-tokens`);
  const r = await p;
  assert.equal(r.status, 200, 'the parked P-GET completes');
  const next = r.json._links.next.href;
  const denied = await c.req('GET', next);
  assert.equal(denied.status, 401);
  assert.equal(s.headerValues(denied, 'WWW-Authenticate').length, 2);
  c.token = await sim.token();
  const again = await c.req('GET', next);
  assert.equal(again.status, 200, 'the application survives the token swap');
}));

test('fault: intermittent 401 HTML and 403 InvalidToken', () => withSim({}, async (sim) => {
  const c = await sim.client();
  await fault(sim, { fault: 'error', on: 'any', status: 401, html: true, count: 1 });
  const a = await c.req('POST', c.appsUrl, { body: { userAgent: 'x', endpointId: 'z', culture: 'en-US' } });
  assert.equal(a.status, 401);
  assert.equal(a.headers['content-type'], 'text/html');
  assert.match(a.body, /401 Unauthorized/);
  await fault(sim, { fault: 'invalid_token', count: 1 });
  const b = await c.req('POST', c.appsUrl, { body: { userAgent: 'x', endpointId: 'z', culture: 'en-US' } });
  assert.equal(b.status, 403);
  assert.match(b.headers.warning, /InvalidToken/);
  assert.match(b.headers['x-ms-diagnostics'], /^28055;/);
  assert.equal(b.json.subcode, 'InvalidToken');
  const ok = await c.req('POST', c.appsUrl, { body: { userAgent: 'x', endpointId: 'z', culture: 'en-US' } });
  assert.equal(ok.status, 201);
}));

test('fault: aggregation (only completed, no started)', () => withSim({}, async (sim) => {
  const c = await sim.client();
  await fault(sim, { fault: 'aggregation' });
  const m = await connected(c);
  const r = await c.req('POST', m._links.sendMessage.href, { body: 'x' });
  await c.ev('conversation', 'message', 'completed', (e) => e.link.href === r.headers.location);
  assert.equal(c.events.filter((e) => e.type === 'started').length, 0, 'no started events');
  assert.ok(c.events.some((e) => e.link.rel === 'messagingInvitation' && e.type === 'completed'));
}));

test('fault: events (started) arrive before the 201', () => withSim({}, async (sim) => {
  const c = await sim.client();
  await c.poll();
  await fault(sim, { fault: 'started_before_201', delay_ms: 300 });
  const p = c.req('GET', c.next);
  await parked(sim);
  const post = c.req('POST', c.app._embedded.communication._links.startMessaging.href, { body: { to: 'sip:lenea@contoso.com', operationId: 'op-early' } });
  const ev = await p;
  const r = await post;
  assert.equal(r.status, 201);
  assert.ok(ev.doneAt < r.headAt, 'the event set came first');
  const started = ev.json.sender[0].events[0];
  assert.equal(started.type, 'started');
  assert.equal(started._embedded.messagingInvitation.operationId, 'op-early');
  assert.equal(started.link.href, r.headers.location);
}));

test('fault: an invitation accepted elsewhere', () => withSim({}, async (sim) => {
  const c = await sim.client();
  await fault(sim, { fault: 'accepted_elsewhere', after_ms: 100, count: 1 });
  await sim.ctl('POST', 'remotes/lenea@contoso.com/invite', { to: USER, text: 'x' });
  const st = await c.ev('communication', 'messagingInvitation', 'started');
  const done = await c.ev('communication', 'messagingInvitation', 'completed');
  assert.equal(done.status, 'Failure');
  assert.equal(done.reason.subcode, 'ConnectedElsewhere');
  assert.equal(done._embedded.messagingInvitation._links.accept, undefined);
  const acc = await c.req('POST', st._embedded.messagingInvitation._links.accept.href);
  assert.equal(acc.status, 404, 'the invitation is gone');
}));

test('fault: unknown properties, links and subcodes', () => withSim({}, async (sim) => {
  const c = await sim.client();
  await fault(sim, { fault: 'unknown_extras' });
  await connected(c);
  const conv = c.events.find((e) => e.link.rel === 'conversation' && e._embedded);
  assert.equal(conv._embedded.conversation.simFutureProperty, 'ignore me');
  assert.ok(conv._embedded.conversation._links.simFutureLink.href);
  const r = await c.req('POST', c.app._embedded.communication._links.startMessaging.href, { body: { to: 'sip:decliner@contoso.com' } });
  const e = await c.ev('communication', 'messagingInvitation', 'completed', (x) => x.link.href === r.headers.location);
  assert.equal(e.reason.subcode, 'SimFutureSubcode');
}));

test('fault: content with CRLF, +, UTF-8 multibyte and HTML reaches the remote byte-exact', () => withSim({}, async (sim) => {
  const c = await sim.client();
  const m = await connected(c);
  const texts = ['line1\r\nline2\r\n', '1+1 = 2', 'Grüße, 日本語 🙂', '<b>not html</b> &amp;'];
  for (const t of texts) assert.equal((await c.req('POST', m._links.sendMessage.href, { body: t })).status, 201);
  const got = (await sim.received('lenea@contoso.com')).filter((x) => x.type === 'message').map((x) => x.text);
  assert.deepEqual(got, texts);
}));

test('fault: message ids not starting at 1, and a burst of 100 sends in order', () => withSim({}, async (sim) => {
  const c = await sim.client();
  await fault(sim, { fault: 'message_ids', start: 1000 });
  const m = await connected(c);
  const locs = [];
  for (let i = 0; i < 100; i++) {
    const r = await c.req('POST', `${m._links.sendMessage.href}?operationId=b${i}`, { body: `msg ${i}` });
    assert.equal(r.status, 201);
    locs.push(Number(/messages\/(\d+)$/.exec(r.headers.location)[1]));
  }
  assert.equal(locs[0], 1000);
  assert.deepEqual(locs, locs.map((_, i) => 1000 + i));
  const got = (await sim.received('lenea@contoso.com')).filter((x) => x.type === 'message');
  assert.deepEqual(got.map((x) => x.text), locs.map((_, i) => `msg ${i}`));
  for (let i = 1; i < got.length; i++) assert.ok(got[i].seq > got[i - 1].seq && got[i].ts >= got[i - 1].ts);
  await clear(sim);
  const c2 = await sim.client({ user: s.USERS[1] });
  const m2 = await connected(c2);
  const r = await c2.req('POST', m2._links.sendMessage.href, { body: 'x' });
  assert.match(r.headers.location, /messages\/2$/, 'default first id is 2, as in the traces');
}));

// ---- server profiles (docs/ucwa-sim.md, "Server profiles") ----

const profile = async (sim, p, user) => {
  const r = await sim.ctl('POST', user ? `users/${user}/profile` : 'profile', p);
  assert.equal(r.status, 200, r.body);
};

test('profile: per user from the configuration; no operationId echo, absolute hrefs; others as published', () => withSim({
  users: [{ ...s.USERS[0], profile: { echo_operation_id: false, hrefs: 'absolute' } }, s.USERS[1]],
}, async (sim) => {
  const st = await sim.state();
  assert.deepEqual(st.users.map((u) => [u.ownProfile, u.profile]),
    [[true, { echo_operation_id: false, hrefs: 'absolute' }], [false, {}]]);
  const c = await sim.client();
  assert.match(c.app._links.self.href, /^https:\/\/127\.0\.0\.1:\d+\/ucwa\//, 'absolute in bodies');
  const r = await c.req('POST', c.app._embedded.communication._links.startMessaging.href, { body: { to: 'sip:lenea@contoso.com', operationId: 'op-1' } });
  assert.match(r.headers.location, /^https:\/\/127\.0\.0\.1:\d+\/ucwa\/.*messagingInvitations\//, 'absolute Location');
  const inv = await c.ev('communication', 'messagingInvitation', 'completed', (e) => e.link.href === r.headers.location);
  assert.equal(inv._embedded.messagingInvitation.operationId, undefined, 'no operationId echo');
  const m = await c.ev('conversation', 'messaging', 'updated', (e) => e._embedded.messaging.state === 'Connected');
  const sent = await c.req('POST', `${m._embedded.messaging._links.sendMessage.href}?operationId=m-1`, { body: 'x' });
  const done = await c.ev('conversation', 'message', 'completed', (e) => e.link.href === sent.headers.location);
  assert.equal(done._embedded.message.operationId, undefined);
  const other = await sim.client({ user: s.USERS[1] });
  assert.match(other.app._links.self.href, /^\/ucwa\//, 'the other user follows the global profile');
  // mixed: Location absolute, bodies host-relative
  await profile(sim, { hrefs: 'mixed' }, s.USERS[1].username);
  const r2 = await other.req('POST', other.app._embedded.communication._links.startMessaging.href, { body: { to: 'sip:lenea@contoso.com', operationId: 'op-2' } });
  assert.match(r2.headers.location, /^https:\/\//);
  const inv2 = await other.ev('communication', 'messagingInvitation', 'started');
  assert.equal(`https://127.0.0.1:${sim.port}${inv2.link.href}`, r2.headers.location);
  assert.equal(inv2._embedded.messagingInvitation.operationId, 'op-2', 'echoed by default');
}));

test('profile: a bad profile is refused with the member named, and changes nothing', () => withSim({}, async (sim) => {
  await profile(sim, { junk_events: true });
  for (const [body, re] of [[{ hrefs: 'sideways' }, /"hrefs"/], [{ empty_release_ms: 5 }, /"empty_release_ms"/],
    [{ simFuture: 1 }, /"simFuture": an unknown member/], [{ junk_events: 'yes' }, /"junk_events"/]]) {
    const r = await sim.ctl('POST', 'profile', body);
    assert.equal(r.status, 400);
    assert.match(r.json.error, re);
    const u = await sim.ctl('POST', `users/${USER}/profile`, body);
    assert.equal(u.status, 400);
  }
  const st = await sim.state();
  assert.deepEqual(st.profile, { junk_events: true });
  assert.equal(st.users[0].ownProfile, false);
  const bad = await h.run('ucwa-sim', ['-t', '-o', 'profile={"remote_leave":"maybe"}']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /profile: profile "remote_leave"/);
}));

test('profile: junk events amid a set, only completed message events, the remote leaving three ways', () => withSim({}, async (sim) => {
  const c = await sim.client();
  await profile(sim, { junk_events: true, message_started: false });
  const m = await connected(c);
  const junk = c.events.filter((e) => e.junk !== undefined || !e.link.href || e.type === 'simExploded');
  assert.ok(junk.some((e) => e.junk === 'not an event'), 'an event that is not an object');
  assert.ok(junk.some((e) => e.sender === 'me' && e.link && e.link.rel === 'me' && !e.link.href), 'an event without href');
  assert.ok(junk.some((e) => e.type === 'simExploded' && e.link.href === m._links.self.href), 'a malformed messaging event');
  const sent = await c.req('POST', m._links.sendMessage.href, { body: 'x' });
  await c.ev('conversation', 'message', 'completed', (e) => e.link.href === sent.headers.location);
  assert.equal(c.events.filter((e) => e.link && e.link.rel === 'message' && e.type === 'started').length, 0);
  await profile(sim, {});
  for (const [shape, want] of [['conversation', ['conversation deleted']], ['participant', ['participant deleted', 'messaging Disconnected']],
    ['both', ['participant deleted', 'messaging Disconnected', 'conversation deleted']]]) {
    await profile(sim, { remote_leave: shape }, USER);
    const mm = shape === 'conversation' ? m : await connected(c);
    const from = c.events.length;
    assert.equal((await sim.ctl('POST', 'remotes/lenea@contoso.com/leave', { to: USER })).status, 200);
    await c.waitEvent((e) => c.events.indexOf(e) >= from && ((e.link.rel === 'conversation' && e.type === 'deleted') ||
      (shape === 'participant' && e.link.rel === 'messaging')), shape);
    const got = c.events.slice(from).filter((e) => e.link.href && e.link.href.startsWith(mm._links.conversation.href))
      .map((e) => `${e.link.rel} ${e.type === 'updated' ? e._embedded.messaging.state : e.type}`);
    assert.deepEqual(got, want, shape);
  }
}));

test('profile: short tokens and a 401 every n-th command; an empty release this often', () => withSim({}, async (sim) => {
  const c = await sim.client();
  await c.poll();
  await profile(sim, { token_lifetime_s: 5, token_expire_every: 2, empty_release_ms: 300 });
  const start = () => c.req('POST', c.app._embedded.communication._links.startMessaging.href, { body: { to: 'sip:lenea@contoso.com' } });
  assert.equal((await start()).status, 201);
  const second = await start();
  assert.equal(second.status, 401, 'the second command meets an expired token');
  assert.match(s.headerValues(second, 'WWW-Authenticate').join('\n'), /MsRtcOAuth/);
  const t = await sim.req('POST', '/WebTicket/oauthtoken', { body: `grant_type=password&username=${encodeURIComponent(USER)}&password=secret`,
    ctype: 'application/x-www-form-urlencoded' });
  assert.equal(t.json.expires_in, 5);
  c.token = t.json.access_token;
  assert.equal((await start()).status, 201, 'with the new token');
  while (((await c.poll()).sender || []).length > 0);
  const t0 = Date.now();
  const empty = await c.poll();
  assert.equal((empty.sender || []).length, 0);
  assert.ok(Date.now() - t0 < 2000 * h.slow, 'released empty early');
}));
