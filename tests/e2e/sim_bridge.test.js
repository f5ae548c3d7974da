// sim_bridge.test.js: two signed-in users of ucwa-sim talk to each other
// (src/sim/sim_bridge.c): the callee gets the invitation a remote party
// would send (with the first-message preview), accepting connects both
// sides, messages cross in order and exactly once, and declining, the
// invitation timeout, cancelling and leaving reach the other side.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');
const s = require('./lib/sim');
const im = require('./lib/im');

const [A, B] = s.USERS;

// Stop sim: a clean exit without a sanitizer report.
async function stopSim(sim) {
  const r = await sim.stop();
  assert.equal(r.code, 0, `ucwa-sim exit: ${sim.proc.stderr}`);
  assert.doesNotMatch(sim.proc.stderr, /runtime error|Sanitizer/, 'no sanitizer report');
}

// Run fn(sim, a) with a fresh simulator (short empty P-GETs) and user A signed in.
async function withSim(opts, fn) {
  const sim = await s.startSim({ 'events.test_timeout_ms': 150, ...opts });
  await (async () => fn(sim, await sim.client({ user: A })))().finally(() => stopSim(sim));
}

// The text of a text/plain data URI as UCWA writes it.
function fromData(uri) {
  const m = /^data:text\/plain;charset=utf-8,(.*)$/.exec(uri);
  assert.ok(m, `a text/plain data URI: ${uri}`);
  return decodeURIComponent(m[1].replace(/\+/g, ' '));
}

// POST startMessaging from c to uri, with a first message when text is given.
async function start(c, to, text, ctype = 'text/plain') {
  const body = { to, subject: 'Case 42' };
  if (text !== undefined) body._links = { message: { href: `data:${ctype};base64,${Buffer.from(text).toString('base64')}` } };
  const r = await c.req('POST', c.app._embedded.communication._links.startMessaging.href, { body });
  assert.equal(r.status, 201, r.body);
  return r.headers.location;
}

// The callee's incoming invitation from user `from`.
async function incoming(c, from) {
  const e = await c.ev('communication', 'messagingInvitation', 'started',
    (x) => x._embedded.messagingInvitation.direction === 'Incoming' && x._embedded.messagingInvitation._embedded.from.uri === from.uri);
  return e._embedded.messagingInvitation;
}

// The Connected messaging resource of c's conversation whose invitation is inv.
async function connectedBy(c, inv) {
  const done = await c.ev('communication', 'messagingInvitation', 'completed', (x) => x.link.href === inv);
  assert.equal(done.status, 'Success', JSON.stringify(done));
  const href = done._embedded.messagingInvitation._links.messaging.href;
  const m = await c.ev('conversation', 'messaging', 'updated', (x) => x.link.href === href && x._embedded.messaging.state === 'Connected');
  return m._embedded.messaging;
}

// A connects to B (B accepts on its only application); both messaging resources.
async function talk(a, b, from, text) {
  const inv = await start(a, `${from === A ? B.uri : A.uri}`, text);
  const i = await incoming(b, from);
  assert.equal((await b.req('POST', i._links.accept.href)).status, 204);
  return { inv, ma: await connectedBy(a, inv), mb: await connectedBy(b, i._links.self.href) };
}

// The texts of the incoming messages c got in the conversation of messaging m.
function received(c, m) {
  return c.events.filter((e) => e.link.rel === 'message' && e.type === 'completed' && e._embedded.message.direction === 'Incoming' &&
    e._embedded.message._links.messaging.href === m._links.self.href).map((e) => fromData(e._embedded.message._links.plainMessage.href));
}

// Poll c until want (a count) incoming messages arrived in m, then once more (nothing extra).
async function receiveAll(c, m, want) {
  for (let i = 0; i < 40 && received(c, m).length < want; i++) await c.poll();
  await c.poll();
  return received(c, m);
}

// Whether no application of the simulator has a conversation left.
async function allGone(sim) {
  return (await sim.state()).applications.every((x) => x.conversations.length === 0);
}

test('user to user: the callee gets the invitation with the first-message preview, accept connects both sides', () => withSim({}, async (sim, a) => {
  const b = await sim.client({ user: B });
  const inv = await start(a, B.uri, 'Hello Agent Two\r\n+1');
  const out = await a.ev('communication', 'messagingInvitation', 'started', (x) => x.link.href === inv);
  assert.equal(out._embedded.messagingInvitation.direction, 'Outgoing');
  assert.equal(out._embedded.messagingInvitation.state, 'Connecting');
  const ca = await a.ev('communication', 'conversation', 'added');
  assert.equal(ca._embedded.conversation.state, 'Connecting');
  const i = await incoming(b, A);
  s.assertEventShape(b.events.find((e) => e.link.rel === 'messagingInvitation'),
    s.sampleEvent('31-events-ack2-incoming-invitation-started.json', 'communication', 'messagingInvitation', 'started'), '31 invitation');
  assert.equal(i.state, 'Connecting');
  assert.equal(i._embedded.from.name, A.name);
  assert.equal(i.subject, 'Case 42');
  assert.equal(fromData(i._links.message.href), 'Hello Agent Two\r\n+1');
  assert.ok(i._links.decline.href);
  const cb = await b.ev('communication', 'conversation', 'added');
  assert.equal(cb._embedded.conversation.state, 'Incoming');
  const pb = await b.ev('conversation', 'participant', 'added');
  assert.equal(pb.link.title, A.name);
  assert.ok(pb.link.href.endsWith('/participants/toshm@contoso.com'));
  assert.equal((await b.req('GET', pb.link.href)).json.uri, A.uri);
  assert.equal((await b.req('POST', i._links.accept.href)).status, 204);
  const ma = await connectedBy(a, inv);
  assert.ok(ma._links.sendMessage.href);
  const pa = await a.ev('conversation', 'participant', 'added');
  assert.equal(pa.link.title, B.name);
  const done = a.events.find((e) => e.link.href === inv && e.type === 'completed');
  assert.equal(done._embedded.messagingInvitation._embedded.acceptedByParticipant[0].uri, B.uri);
  const mb = await connectedBy(b, i._links.self.href);
  assert.ok(mb._links.sendMessage.href);
  assert.deepEqual(await receiveAll(b, mb, 1), ['Hello Agent Two\r\n+1']);
  assert.deepEqual(received(a, ma), [], 'the caller does not get its own first message');
  const st = await sim.state();
  assert.deepEqual(st.applications.map((x) => x.conversations.map((c) => [c.remote, c.direction, c.state])).sort(),
    [[[A.uri, 'Incoming', 'Connected']], [[B.uri, 'Outgoing', 'Connected']]].sort());
  assert.equal(st.remotes.find((r) => r.uri === A.uri || r.uri === B.uri), undefined, 'stand-ins are not remotes');
}));

test('user to user: messages both ways arrive in order and exactly once, the sender gets Success', () => withSim({}, async (sim, a) => {
  const b = await sim.client({ user: B });
  // B calls A this time, without a first message.
  const { ma: mb, mb: ma } = await talk(b, a, B);
  const inv = a.events.find((e) => e.link.rel === 'messagingInvitation' && e.type === 'started');
  assert.equal(inv._embedded.messagingInvitation._links.message, undefined, 'no preview without a first message');
  const sent = { a: [], b: [] };
  for (let k = 1; k <= 4; k++) {
    for (const [c, m, who] of [[a, ma, 'a'], [b, mb, 'b']]) {
      const text = `${who} #${k} ü+%`;
      const r = await c.req('POST', `${m._links.sendMessage.href}?operationId=${who}${k}`, { body: text });
      assert.equal(r.status, 201, r.body);
      assert.match(r.headers.location, new RegExp(`^${m._links.self.href}/messages/\\d+$`));
      sent[who].push({ text, location: r.headers.location, op: `${who}${k}` });
    }
  }
  assert.deepEqual(await receiveAll(a, ma, 4), sent.b.map((x) => x.text));
  assert.deepEqual(await receiveAll(b, mb, 4), sent.a.map((x) => x.text));
  for (const [c, who] of [[a, 'a'], [b, 'b']]) {
    for (const x of sent[who]) {
      const done = c.events.filter((e) => e.link.href === x.location && e.type === 'completed');
      assert.equal(done.length, 1, `one completed for ${x.location}`);
      assert.equal(done[0].status, 'Success');
      assert.equal(done[0]._embedded.message.direction, 'Outgoing');
      assert.equal(done[0]._embedded.message.operationId, x.op);
    }
  }
  const msg = a.events.find((e) => e.link.rel === 'message' && e._embedded.message.direction === 'Incoming');
  s.assertEventShape(msg, s.sample('38-events-ack6-incoming-message-completed.json').sender[0].events[0], '38 message');
  assert.equal(msg._embedded.message._links.participant.title, B.name);
  // Typing reaches the other side too.
  assert.equal((await a.req('POST', ma._links.setIsTyping.href)).status, 204);
  await b.ev('conversation', 'participant', 'added', (e) => e.in && e.in.rel === 'typingParticipants');
}));

test('user to user: decline fails the caller with Declined and cancels the callee\'s other endpoint', () => withSim({}, async (sim, a) => {
  const b = await sim.client({ user: B });
  const b2 = await sim.client({ user: B });
  const inv = await start(a, B.uri, 'are you there?');
  const i = await incoming(b, A);
  await incoming(b2, A);
  assert.equal((await b.req('POST', i._links.decline.href)).status, 204);
  const f = await a.ev('communication', 'messagingInvitation', 'completed', (x) => x.link.href === inv);
  assert.equal(f.status, 'Failure');
  assert.equal(f.reason.subcode, 'Declined');
  await a.ev('communication', 'conversation', 'deleted');
  const own = await b.ev('communication', 'messagingInvitation', 'completed');
  assert.equal(own.reason.subcode, 'Declined');
  const other = await b2.ev('communication', 'messagingInvitation', 'completed');
  assert.equal(other.status, 'Failure');
  assert.equal(other.reason.subcode, 'Canceled');
  await b2.ev('communication', 'conversation', 'deleted');
  assert.ok(await allGone(sim));
}));

test('user to user: an unanswered invitation times out on both sides', () => withSim({ 'conversations.invitation_timeout_ms': 400 * h.slow }, async (sim, a) => {
  const b = await sim.client({ user: B });
  const t0 = Date.now();
  const inv = await start(a, B.uri);
  await incoming(b, A);
  const fa = await a.ev('communication', 'messagingInvitation', 'completed', (x) => x.link.href === inv);
  assert.equal(fa.reason.subcode, 'Timeout');
  const fb = await b.ev('communication', 'messagingInvitation', 'completed');
  assert.equal(fb.status, 'Failure');
  assert.equal(fb.reason.subcode, 'Timeout');
  assert.ok(Date.now() - t0 >= 350 * h.slow, 'not before the invitation timeout');
  await b.ev('communication', 'conversation', 'deleted');
  assert.ok(await allGone(sim));
}));

test('user to user: stopMessaging or DELETE on one side is the remote leaving on the other', () => withSim({}, async (sim, a) => {
  const b = await sim.client({ user: B });
  const one = await talk(a, b, A);
  assert.equal((await a.req('POST', one.ma._links.stopMessaging.href)).status, 204);
  const gone = await b.ev('conversation', 'participant', 'deleted', (e) => !e.in);
  s.assertEventShape(gone, s.sample('65-ref-event-participant-deleted.json').sender[0].events[0], '65');
  assert.equal(gone.link.title, A.name);
  await b.ev('conversation', 'messaging', 'updated', (e) => e.link.href === one.mb._links.self.href && e._embedded.messaging.state === 'Disconnected');
  await b.ev('communication', 'conversation', 'deleted', (e) => e.link.href === one.mb._links.conversation.href);
  assert.equal((await b.req('POST', one.mb._links.sendMessage.href, { body: 'late' })).status, 404);
  // Again, and now the callee deletes the conversation.
  a.events = [];
  b.events = [];
  const two = await talk(a, b, A, 'again');
  assert.equal((await b.req('DELETE', two.mb._links.conversation.href)).status, 204);
  const left = await a.ev('conversation', 'participant', 'deleted', (e) => !e.in);
  assert.equal(left.link.title, B.name);
  await a.ev('conversation', 'messaging', 'updated', (e) => e.link.href === two.ma._links.self.href && e._embedded.messaging.state === 'Disconnected');
  await a.ev('communication', 'conversation', 'deleted', (e) => e.link.href === two.ma._links.conversation.href);
  // And once more: the caller's application goes away altogether.
  b.events = [];
  const three = await talk(a, b, A);
  assert.equal((await a.req('DELETE', a.app._links.self.href)).status, 204);
  await b.ev('conversation', 'participant', 'deleted', (e) => !e.in && e.link.href.startsWith(three.mb._links.conversation.href));
  await b.ev('communication', 'conversation', 'deleted', (e) => e.link.href === three.mb._links.conversation.href);
  assert.ok(await allGone(sim));
}));

test('user to user: the first of the callee\'s endpoints to accept wins, the others see ConnectedElsewhere', () => withSim({}, async (sim, a) => {
  const b = await sim.client({ user: B });
  const b2 = await sim.client({ user: B });
  const inv = await start(a, B.uri, 'who takes it?');
  await incoming(b, A);
  const i2 = await incoming(b2, A);
  assert.equal((await b2.req('POST', i2._links.accept.href)).status, 204);
  const lost = await b.ev('communication', 'messagingInvitation', 'completed');
  assert.equal(lost.reason.subcode, 'ConnectedElsewhere');
  const ma = await connectedBy(a, inv);
  const mb = await connectedBy(b2, i2._links.self.href);
  assert.equal((await a.req('POST', ma._links.sendMessage.href, { body: 'to the winner' })).status, 201);
  assert.deepEqual(await receiveAll(b2, mb, 2), ['who takes it?', 'to the winner']);
  assert.equal(b.events.filter((e) => e.link.rel === 'message').length, 0, 'the other endpoint gets no message');
}));

test('user to user: the caller cancelling ends the callee\'s invitation', () => withSim({}, async (sim, a) => {
  const b = await sim.client({ user: B });
  const inv = await start(a, B.uri, 'never mind');
  const st = await a.ev('communication', 'messagingInvitation', 'started', (x) => x.link.href === inv);
  const i = await incoming(b, A);
  assert.equal((await a.req('POST', st._embedded.messagingInvitation._links.cancel.href)).status, 204);
  assert.equal((await a.ev('communication', 'messagingInvitation', 'completed')).reason.subcode, 'Canceled');
  const f = await b.ev('communication', 'messagingInvitation', 'completed', (x) => x.link.href === i._links.self.href);
  assert.equal(f.status, 'Failure');
  assert.equal(f.reason.subcode, 'Canceled');
  await b.ev('communication', 'conversation', 'deleted');
  assert.equal((await b.req('POST', i._links.accept.href)).status, 404);
  assert.ok(await allGone(sim));
}));

test('user to user: a user without an available application, or oneself, is DestinationNotFound', () => withSim({}, async (sim, a) => {
  const fail = async (to) => {
    const inv = await start(a, to, 'hi');
    const e = await a.ev('communication', 'messagingInvitation', 'completed', (x) => x.link.href === inv);
    assert.equal(e.status, 'Failure');
    assert.equal(e.reason.subcode, 'DestinationNotFound');
  };
  await fail(B.uri); // not signed in
  const b = await sim.client({ user: B, available: false });
  await fail(B.uri); // signed in, not available
  await fail(A.uri); // oneself
  await b.poll();
  assert.equal(b.events.filter((e) => e.link.rel === 'messagingInvitation').length, 0);
  assert.ok(await allGone(sim));
}));

test('user to user: an HTML first message stays HTML when both negotiated Html', () => withSim({}, async (sim) => {
  const a = await sim.client({ user: A, formats: ['Plain', 'Html'] });
  const b = await sim.client({ user: B, formats: ['Plain', 'Html'] });
  const inv = await start(a, B.uri, '<b>hi</b> there', 'text/html');
  const i = await incoming(b, A);
  assert.match(i._links.message.href, /^data:text\/html[;,]/);
  assert.equal((await b.req('POST', i._links.accept.href)).status, 204);
  const mb = await connectedBy(b, i._links.self.href);
  const e = await b.ev('conversation', 'message', 'completed', (x) => x._embedded.message.direction === 'Incoming');
  assert.equal(e._embedded.message._links.htmlMessage.href, `data:text/html;base64,${Buffer.from('<b>hi</b> there').toString('base64')}`);
  const ma = await connectedBy(a, inv);
  const r = await a.req('POST', ma._links.sendMessage.href, { body: '<i>second</i>', ctype: 'text/html' });
  assert.equal(r.status, 201, r.body);
  const e2 = await b.ev('conversation', 'message', 'completed', (x) => x._embedded.message._links.self.href !== e.link.href &&
    x._embedded.message.direction === 'Incoming' && x._embedded.message._links.messaging.href === mb._links.self.href);
  assert.equal(e2._embedded.message._links.htmlMessage.href, `data:text/html;base64,${Buffer.from('<i>second</i>').toString('base64')}`);
}));

test('through ucgw: two agents hold a scripted conversation, every line once and in order on both desktops', async () => {
  const env = await im.setup(['agent1', 'agent2']);
  const { agent1: d1, agent2: d2 } = env.desks;
  try {
    const s1 = await im.talk(d1, { phone: im.PHONES.agent2 });
    const s2 = await d2.state('Talking');
    const line = (d, s, text) => d.op(`/me/im-sessions/${s.id}`, { operationName: 'SendMessage', text,
      devicePath: `/devices/${d.me.devices[0].id}` });
    const script = [[d1, s1, 'Hello, this is agent1'], [d2, s2, 'Hi agent1, agent2 here'], [d1, s1, 'Case 42: refund ok? 50% + fees'],
      [d1, s1, 'ü€ 😀'], [d2, s2, 'Approved.\r\nAnything else?'], [d1, s1, 'No, thanks. Bye']];
    const texts = script.map(([, , t]) => t);
    for (const [d, s, text] of script) {
      assert.deepEqual((await line(d, s, text)).json, { statusCode: 0 });
      // Each line reaches the other desktop before the next is sent: a scripted dialogue.
      await (d === d1 ? d2 : d1).next((n) => n.messageType === 'IMLogUpdateMessage' && n.message === text);
    }
    for (const d of [d1, d2]) {
      const got = () => d.im().filter((n) => n.messageType === 'IMLogUpdateMessage').map((n) => n.message);
      await h.waitFor(() => got().length >= texts.length, 10000 * h.slow, () => `${d.user}: ${JSON.stringify(got())}`);
      assert.deepEqual(got(), texts, `${d.user} saw every line once, in order`);
    }
    const from = d2.im().length;
    assert.deepEqual((await d1.op(`/me/im-sessions/${s1.id}`, { operationName: 'Complete' })).json, { statusCode: 0 });
    assert.equal((await d2.state('Completed', from)).id, s2.id);
  } finally {
    const codes = await im.teardown(env);
    assert.deepEqual(codes, { gw: 0, sim: 0 });
  }
});
