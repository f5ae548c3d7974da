// ucwa_resume.test.js: snapshot and resume of the UCWA client (the UCWA
// half of a cluster take-over), through tests/ucwa-drive against the real
// ucwa-sim: a driver killed with SIGKILL while the remote party keeps
// sending is resumed by another from its last snapshot (the one a store
// would hold): the same application, every later message exactly once and
// in order, sending goes on; a crash in the middle of an event-channel
// response replays it and what was delivered is dropped; an expired token
// is renewed with the stored credentials; an application the server lost
// is recreated and the stored conversation reported ended; a hand-over
// (no sign-out) is resumed the same way. Also the
// simulator's side: a stored cursor replays from another connection, and
// two P-GETs with one ack refuse the older (409 PGetReplaced).
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const h = require('./lib/harness');
const s = require('./lib/sim');
const u = require('./lib/ucwa');

const USER = 'toshm@contoso.com';
const LENEA = 'sip:lenea@contoso.com';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Start a conversation with lenea; resolves to its href once messaging is Connected.
async function connect(d, opid = `op-${Math.random()}`) {
  const done = await d.cmd({ cmd: 'start', to: LENEA, operationId: opid, subject: 'resume' });
  assert.equal(done.ok, true, JSON.stringify(done));
  const inv = await d.wait((e) => e.kind === 'invitation' && e.type === 'completed' && e.operationId === opid);
  assert.equal(inv.status, 'Success');
  await d.wait((e) => e.kind === 'messaging' && e.conversation === inv.conversation && e.sendMessage);
  return inv.conversation;
}

// Texts of the incoming messages a driver reported (among its first n events).
const incoming = (d, n = d.events.length) => d.events.slice(0, n)
  .filter((e) => e.event === 'change' && e.kind === 'message' && e.direction === 'Incoming')
  .map((e) => e.text);

// Kill a driver with SIGKILL and wait until everything it printed was read.
async function crash(d) {
  if (!d.closed) {
    d.closed = d.child.stdout.closed ? Promise.resolve() : new Promise((r) => d.child.stdout.on('close', r));
  }
  if (d.code === undefined) d.child.kill('SIGKILL');
  await d.exited;
  await d.closed;
}

// A driver's last complete snapshot: [its index among the events, the state written to a file].
function lastSnapshot(d) {
  let i = d.events.length - 1;
  while (i >= 0 && !(d.events[i].event === 'snapshot' && d.events[i].ok)) i--;
  assert.ok(i >= 0, 'no snapshot printed');
  const file = path.join(h.tmpdir('ucwa-snap-'), 'state.json');
  fs.writeFileSync(file, JSON.stringify(d.events[i].state));
  return [i, file, d.events[i].state];
}

// The remote sends r0000, r0001, ... every 20 ms until stopped; sent lists what the sim took.
function remoteSender(sim) {
  const st = { sent: [], stop: false };
  st.done = (async () => {
    for (let i = 0; !st.stop; i++) {
      const text = `r${String(i).padStart(4, '0')}`;
      const r = await sim.ctl('POST', 'remotes/lenea@contoso.com/message', { to: USER, text });
      assert.equal(r.status, 200, r.body);
      st.sent.push(text);
      await sleep(20);
    }
  })();
  return st;
}

// Stop a sender (in a finally: a failed test must not leave it sending).
async function stopSender(tx) {
  tx.stop = true;
  await tx.done.catch(() => {});
}

const apps = async (sim) => (await sim.state()).applications.filter((a) => a.user === `sip:${USER}` || a.user === USER);

// The driver d2 sends in conversation conv; lenea receives it.
async function sendsOn(sim, d2, conv, text) {
  const done = await d2.cmd({ cmd: 'send', conversation: conv, text, operationId: `s-${text}` });
  assert.equal(done.ok, true, JSON.stringify(done));
  await h.waitFor(async () => (await sim.received('lenea@contoso.com')).some((r) => r.type === 'message' && r.text === text),
    5000 * h.slow, `lenea received ${text}`);
}

test('SIGKILL while the remote sends every 20 ms: the resumed agent reports every later message once and in order, sends on, one application', async () => {
  const sim = await s.startSim();
  const d1 = u.drive(sim, { extra: ['--autosnap'] });
  let d2;
  let tx;
  try {
    await d1.wait({ event: 'signed_in' });
    const conv = await connect(d1);
    await sendsOn(sim, d1, conv, 'hello from the first');
    const [app1] = await apps(sim);
    tx = remoteSender(sim);
    await d1.wait(() => incoming(d1).length >= 15, '15 messages received');
    await crash(d1);
    const [n, file, state] = lastSnapshot(d1);
    assert.equal(state.application, app1.href.startsWith('http') ? app1.href : state.application);
    const got1 = incoming(d1, n); // delivered and saved before the crash
    assert.ok(got1.length >= 15);
    d2 = u.drive(sim, { resume: file });
    await d2.wait({ event: 'signed_in' });
    assert.equal((await d2.wait({ event: 'resumed' })).how, 'attached');
    await sleep(300);
    tx.stop = true;
    await tx.done;
    const last = tx.sent[tx.sent.length - 1];
    await d2.wait(() => incoming(d2).includes(last), `message ${last}`);
    await sleep(200); // a duplicate would come now
    assert.deepEqual([...got1, ...incoming(d2)], tx.sent, 'every message once, in order');
    await sendsOn(sim, d2, conv, 'hello from the second');
    assert.equal(d2.find({ event: 'ended' }).length, 0);
    const after = await apps(sim);
    assert.equal(after.length, 1, 'one application: no orphan, no second one');
    assert.equal(after[0].id, app1.id);
  } finally {
    if (tx) await stopSender(tx);
    await crash(d1);
    if (d2) assert.equal((await d2.stop()).code, 0, d2.stderr.slice(-2000));
    assert.equal((await sim.stop()).code, 0);
  }
});

test('a crash in the middle of an event-channel response: the response is replayed and what was delivered is dropped', async () => {
  const sim = await s.startSim();
  const d1 = u.drive(sim, { extra: ['--autosnap', '--crash-after-message', '3'] });
  let d2;
  try {
    await d1.wait({ event: 'signed_in' });
    const conv = await connect(d1);
    // replies held back: the messages pile up, and one response carries several
    assert.equal((await sim.ctl('POST', `users/${USER}/faults`, { fault: 'slow', delay_ms: 300 })).status, 200);
    const sent = [];
    for (let i = 0; i < 8; i++) {
      const text = `m${i}`;
      assert.equal((await sim.ctl('POST', 'remotes/lenea@contoso.com/message', { to: USER, text })).status, 200);
      sent.push(text);
    }
    const ex = await d1.exited; // it kills itself after the third message
    assert.equal(ex.signal, 'SIGKILL');
    await crash(d1);
    assert.equal((await sim.ctl('DELETE', `users/${USER}/faults`)).status, 200);
    const [n, file, state] = lastSnapshot(d1);
    assert.deepEqual(incoming(d1), ['m0', 'm1', 'm2']);
    assert.equal(incoming(d1, n).length, 3, 'the third message was saved before the crash');
    assert.ok(d1.events.some((e) => e.event === 'snapshot' && e.state.events !== state.events &&
      e.state.application === state.application), 'the cursor did not move past the response being applied');
    // the snapshot's cursor is the response being applied, not the next one
    d2 = u.drive(sim, { resume: file });
    await d2.wait({ event: 'signed_in' });
    await d2.wait(() => incoming(d2).includes('m7'), 'message m7');
    await sleep(200);
    assert.deepEqual([...incoming(d1, n), ...incoming(d2)], sent, 'every message once, in order');
    assert.ok(state.events, 'a cursor');
    await sendsOn(sim, d2, conv, 'after the replay');
    assert.equal((await apps(sim)).length, 1);
  } finally {
    await crash(d1);
    if (d2) assert.equal((await d2.stop()).code, 0, d2.stderr.slice(-2000));
    assert.equal((await sim.stop()).code, 0);
  }
});

test('resume with an expired token renews it with the stored credentials', async () => {
  const sim = await s.startSim();
  const d1 = u.drive(sim);
  let d2;
  try {
    await d1.wait({ event: 'signed_in' });
    const conv = await connect(d1);
    d1.send({ cmd: 'snapshot' });
    await d1.wait({ event: 'snapshot' });
    await crash(d1);
    const [, file] = lastSnapshot(d1);
    assert.equal((await sim.ctl('POST', `users/${USER}/expire-tokens`)).status, 200);
    d2 = u.drive(sim, { resume: file });
    await d2.wait({ event: 'signed_in' });
    assert.equal((await d2.wait({ event: 'resumed' })).how, 'attached');
    assert.match(d2.stderr, /401 on GET: renewing the token/);
    await sendsOn(sim, d2, conv, 'with a new token');
    assert.equal(d2.find({ event: 'ended' }).length, 0);
    assert.equal((await apps(sim)).length, 1);
  } finally {
    await crash(d1);
    if (d2) assert.equal((await d2.stop()).code, 0, d2.stderr.slice(-2000));
    assert.equal((await sim.stop()).code, 0);
  }
});

test('resume after the server lost the application: a new one, the stored conversation reported ended', async () => {
  const sim = await s.startSim();
  const d1 = u.drive(sim);
  let d2;
  try {
    await d1.wait({ event: 'signed_in' });
    const conv = await connect(d1);
    const [app1] = await apps(sim);
    d1.send({ cmd: 'snapshot' });
    await d1.wait({ event: 'snapshot' });
    await crash(d1);
    const [, file] = lastSnapshot(d1);
    assert.equal((await sim.ctl('POST', `users/${USER}/kill-applications`)).status, 200);
    d2 = u.drive(sim, { resume: file });
    const end = await d2.wait({ event: 'ended', conversation: conv });
    assert.match(end.why, /ApplicationNotFound|gone/);
    await d2.wait({ event: 'signed_in' });
    assert.equal((await d2.wait({ event: 'resumed' })).how, 'recreated');
    const after = await apps(sim);
    assert.equal(after.length, 1);
    assert.notEqual(after[0].id, app1.id);
    const refused = await d2.cmd({ cmd: 'send', conversation: conv, text: 'too late' });
    assert.equal(refused.event, 'refused');
    await connect(d2); // the new application works
  } finally {
    await crash(d1);
    if (d2) assert.equal((await d2.stop()).code, 0, d2.stderr.slice(-2000));
    assert.equal((await sim.stop()).code, 0);
  }
});

test('hand-over: the first driver leaves without signing out; the second resumes the same application, nothing lost or twice', async () => {
  const sim = await s.startSim();
  const d1 = u.drive(sim);
  let d2;
  let tx;
  try {
    await d1.wait({ event: 'signed_in' });
    const conv = await connect(d1);
    const [app1] = await apps(sim);
    tx = remoteSender(sim);
    await d1.wait(() => incoming(d1).length >= 5, '5 messages received');
    d1.send({ cmd: 'handover' });
    assert.equal((await d1.exited).code, 0);
    await crash(d1);
    const [n, file] = lastSnapshot(d1);
    const got1 = incoming(d1, n);
    assert.equal((await apps(sim)).length, 1, 'not signed out');
    d2 = u.drive(sim, { resume: file });
    assert.equal((await d2.wait({ event: 'resumed' })).how, 'attached');
    await sleep(200);
    tx.stop = true;
    await tx.done;
    const last = tx.sent[tx.sent.length - 1];
    await d2.wait(() => incoming(d2).includes(last), `message ${last}`);
    await sleep(200);
    assert.deepEqual([...got1, ...incoming(d2)], tx.sent, 'every message once, in order');
    await sendsOn(sim, d2, conv, 'after the hand-over');
    const after = await apps(sim);
    assert.equal(after.length, 1);
    assert.equal(after[0].id, app1.id);
  } finally {
    if (tx) await stopSender(tx);
    await crash(d1);
    if (d2) assert.equal((await d2.stop()).code, 0, d2.stderr.slice(-2000));
    assert.equal((await sim.stop()).code, 0);
  }
});

test('ucwa-sim: a stored cursor replays the unacknowledged set on another connection; two P-GETs with one ack refuse the older', async () => {
  const sim = await s.startSim({ 'events.test_timeout_ms': 3000 });
  try {
    const c = await sim.client(); // makeMeAvailable queued events: set 1 is not empty
    const url = c.next;
    const first = await c.req('GET', url); // each request on its own connection
    assert.equal(first.status, 200);
    assert.ok(first.json.sender.length > 0);
    const again = await c.req('GET', url); // the next owner, from the stored cursor
    assert.equal(again.status, 200);
    assert.equal(again.body, first.body, 'the same set, byte for byte');
    const next = first.json._links.next.href;
    const older = c.req('GET', next);
    await h.waitFor(async () => (await sim.state()).applications[0].parked, 5000, 'parked');
    const newer = c.req('GET', next);
    const o = await older;
    assert.equal(o.status, 409);
    assert.equal(o.json.subcode, 'PGetReplaced');
    assert.equal((await newer).status, 200);
    // the acknowledged set is gone: its URL now gets resync to the first unacknowledged one
    const stale = await c.req('GET', url);
    assert.equal(stale.status, 200);
    assert.ok(stale.json._links.resync);
  } finally {
    assert.equal((await sim.stop()).code, 0);
  }
});
