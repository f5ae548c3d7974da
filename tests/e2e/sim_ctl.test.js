// sim_ctl.test.js: ucwa-sim's control API (docs/ucwa-sim.md): the curl
// walk-through runs as written, state shows applications, conversations
// and parked P-GETs, remote behaviour and the received log (ordered,
// bounded), fault management, and precise errors that change nothing.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const { execFile } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
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

test('the curl walk-through of docs/ucwa-sim.md works as written against the default configuration', async () => {
  const doc = fs.readFileSync(path.join(h.srcdir, 'docs', 'ucwa-sim.md'), 'utf8');
  const blocks = [...doc.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]).filter((b) => b.includes('$SIM'));
  assert.ok(blocks.length >= 3, 'the walk-through blocks');
  const proc = await h.start('ucwa-sim', ['-o', 'listen=["http://127.0.0.1:0"]']);
  try {
    const script = `set -e\n${blocks.join('\n')}`;
    const out = await new Promise((resolve, reject) => {
      execFile('bash', ['-c', script], { env: { ...process.env, SIM: `http://127.0.0.1:${proc.port}` } }, (err, stdout, stderr) => {
        if (err) reject(new Error(`${err.message}\n${stdout}\n${stderr}`));
        else resolve(stdout);
      });
    });
    assert.match(out, /"rel":"messagingInvitation"/, 'the invitation arrived on the event channel');
    assert.match(out, /"parked":false/);
    assert.match(out, /\{"uri":"sip:lenea@contoso\.com","received":\[/);
    assert.match(out, /\}401\n/);
    assert.match(out, /http:\/\/127\.0\.0\.1:\d+\/ucwa\/oauth\/v1\/applications\/\d+\n/, 'absolute Location under the profile');
    assert.match(out, /"ownProfile":true,"profile":\{"first_message_event":"never","remote_leave":"conversation"\}/);
    assert.doesNotMatch(out, /"error"/);
  } finally {
    assert.equal((await proc.stop()).code, 0);
  }
});

test('the shipped conf/ucwa-sim.conf is valid and every key is printed', async () => {
  const r = await h.run('ucwa-sim', ['-t', '-c', path.join(h.srcdir, 'conf', 'ucwa-sim.conf')]);
  assert.equal(r.code, 0, r.stderr);
  const bad = await h.run('ucwa-sim', ['-t', '-o', 'users=[{"uri":"toshm"}]', '-o', 'remotes=[{"uri":"sip:a@b","answer":"maybe"}]']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /users: each entry needs "uri": "sip:user@domain"/);
  assert.match(bad.stderr, /remotes: "answer" is one of/);
  const k = await h.run('ucwa-sim', ['--print-keys']);
  assert.match(k.stdout, /^events\.test_timeout_ms$/m);
});

test('state lists applications, conversations, parked P-GETs, users and faults', () => withSim({}, async (sim) => {
  const c = await sim.client();
  await c.poll();
  const p = c.req('GET', c.next);
  await h.waitFor(async () => (await sim.state()).applications[0].parked, 3000 * h.slow, 'parked');
  const st = await sim.state();
  const app = st.applications[0];
  assert.equal(app.user, 'sip:toshm@contoso.com');
  assert.equal(app.href, c.app._links.self.href);
  assert.equal(app.available, true);
  assert.equal(app.acked, 1);
  assert.equal(app.parkedAck, 2);
  assert.deepEqual(app.conversations, []);
  assert.equal(st.users[0].outstanding, 1);
  await c.req('POST', c.app._embedded.communication._links.startMessaging.href, { body: { to: 'sip:lenea@contoso.com' } });
  await p;
  const st2 = await sim.state();
  assert.equal(st2.applications[0].conversations.length, 1);
  assert.equal(st2.applications[0].conversations[0].remote, 'sip:lenea@contoso.com');
  assert.equal(st2.applications[0].conversations[0].direction, 'Outgoing');
  assert.deepEqual(st2.remotes.map((r) => r.uri), [...s.REMOTES.map((r) => r.uri), 'sip:unknown@invalid']);
}));

test('remote behaviour: validated, applied, and shown', () => withSim({}, async (sim) => {
  const bad = await sim.ctl('POST', 'remotes/lenea@contoso.com/behaviour', { answer: 'maybe', reply: true });
  assert.equal(bad.status, 400);
  assert.match(bad.json.error, /answer/);
  const bad2 = await sim.ctl('POST', 'remotes/lenea@contoso.com/behaviour', { accept_ms: -1 });
  assert.equal(bad2.status, 400);
  let r = (await sim.state()).remotes.find((x) => x.uri === 'sip:lenea@contoso.com');
  assert.deepEqual([r.answer, r.reply, r.accept_ms], ['accept', false, 20], 'nothing changed');
  const ok = await sim.ctl('POST', 'remotes/sip:lenea@contoso.com/behaviour', { answer: 'decline', accept_ms: 5 });
  assert.equal(ok.status, 200);
  r = (await sim.state()).remotes.find((x) => x.uri === 'sip:lenea@contoso.com');
  assert.deepEqual([r.answer, r.accept_ms], ['decline', 5]);
  const c = await sim.client();
  const st = await c.req('POST', c.app._embedded.communication._links.startMessaging.href, { body: { to: 'sip:lenea@contoso.com' } });
  const e = await c.ev('communication', 'messagingInvitation', 'completed', (x) => x.link.href === st.headers.location);
  assert.equal(e.reason.subcode, 'Declined');
}));

test('received log: in order, with timestamps, bounded by limits.log_entries', () => withSim({ 'limits.log_entries': 10 }, async (sim) => {
  const c = await sim.client();
  const r = await c.req('POST', c.app._embedded.communication._links.startMessaging.href, { body: { to: 'sip:lenea@contoso.com' } });
  const done = await c.ev('communication', 'messagingInvitation', 'completed', (x) => x.link.href === r.headers.location);
  const href = done._embedded.messagingInvitation._links.messaging.href;
  const m = (await c.ev('conversation', 'messaging', 'updated', (x) => x.link.href === href && x._embedded.messaging.state === 'Connected'))._embedded.messaging;
  const before = Date.now();
  for (let i = 0; i < 15; i++) await c.req('POST', m._links.sendMessage.href, { body: `m${i}` });
  const got = await sim.received('lenea@contoso.com');
  assert.equal(got.length, 10);
  assert.deepEqual(got.map((x) => x.text), Array.from({ length: 10 }, (_, i) => `m${i + 5}`));
  for (const x of got) {
    assert.equal(x.type, 'message');
    assert.equal(x.from, 'sip:toshm@contoso.com');
    assert.ok(x.ts >= before - 1000 && x.ts <= Date.now() + 1000);
  }
  for (let i = 1; i < got.length; i++) assert.ok(got[i].seq === got[i - 1].seq + 1);
}));

test('faults: added, listed, used up, cleared; bad ones refused', () => withSim({}, async (sim) => {
  const u = 'users/toshm@contoso.com/faults';
  for (const bad of [{ fault: 'nope' }, { fault: 'error' }, { fault: 'error', status: 200 }, { fault: 'slow', delay_ms: 'x' }, { fault: 'slow', bogus: 1 }]) {
    const r = await sim.ctl('POST', u, bad);
    assert.equal(r.status, 400, JSON.stringify(bad));
  }
  assert.deepEqual((await sim.state()).users[0].faults, []);
  const c = await sim.client();
  assert.equal((await sim.ctl('POST', u, { fault: 'error', on: 'command', status: 503, count: 2 })).status, 200);
  assert.equal((await sim.ctl('POST', u, { fault: 'aggregation' })).status, 200);
  let f = (await sim.state()).users[0].faults;
  assert.deepEqual(f.map((x) => [x.fault, x.remaining]), [['error', 2], ['aggregation', -1]]);
  const r = await c.req('POST', c.app._embedded.communication._links.startMessaging.href, { body: { to: 'sip:lenea@contoso.com' } });
  assert.equal(r.status, 503);
  f = (await sim.state()).users[0].faults;
  assert.equal(f[0].remaining, 1);
  assert.equal((await sim.ctl('DELETE', u)).status, 200);
  assert.deepEqual((await sim.state()).users[0].faults, []);
  const ok = await c.req('POST', c.app._embedded.communication._links.startMessaging.href, { body: { to: 'sip:lenea@contoso.com' } });
  assert.equal(ok.status, 201);
  for (let i = 0; i < 16; i++) await sim.ctl('POST', u, { fault: 'aggregation' });
  const full = await sim.ctl('POST', u, { fault: 'aggregation' });
  assert.equal(full.status, 400, 'at most 16 faults per user');
}));

test('control errors are precise: unknown names 404, impossible actions 409, bad bodies 400', () => withSim({}, async (sim) => {
  assert.equal((await sim.ctl('POST', 'remotes/nobody@x/invite', { to: 'toshm@contoso.com', text: 'x' })).status, 404);
  assert.equal((await sim.ctl('POST', 'users/nobody@x/faults', { fault: 'slow' })).status, 404);
  assert.equal((await sim.ctl('POST', 'remotes/lenea@contoso.com/dance', { to: 'toshm@contoso.com' })).status, 404);
  assert.equal((await sim.ctl('GET', 'nothing')).status, 404);
  const noapp = await sim.ctl('POST', 'remotes/lenea@contoso.com/invite', { to: 'toshm@contoso.com', text: 'x' });
  assert.equal(noapp.status, 409);
  assert.match(noapp.json.error, /no application/);
  await sim.client({ available: false });
  assert.equal((await sim.ctl('POST', 'remotes/lenea@contoso.com/invite', { to: 'toshm@contoso.com', text: 'x' })).status, 409, 'not available');
  assert.equal((await sim.ctl('POST', 'remotes/lenea@contoso.com/message', { to: 'toshm@contoso.com', text: 'x' })).status, 409);
  assert.equal((await sim.ctl('POST', 'remotes/lenea@contoso.com/typing', { to: 'toshm@contoso.com' })).status, 409);
  assert.equal((await sim.ctl('POST', 'remotes/lenea@contoso.com/leave', { to: 'toshm@contoso.com' })).status, 409);
  assert.equal((await sim.ctl('POST', 'remotes/lenea@contoso.com/invite', { to: 'nobody@x', text: 'x' })).status, 400);
  assert.equal((await sim.ctl('POST', 'remotes/lenea@contoso.com/invite', { to: 'toshm@contoso.com' })).status, 400);
  const junk = await sim.req('POST', '/_sim/remotes/lenea@contoso.com/invite', { body: '{"to":', ctype: 'application/json' });
  assert.equal(junk.status, 400);
  assert.equal((await sim.received('lenea@contoso.com')).length, 0, 'nothing happened');
}));

test('load.users generates users that can sign in; a configured phone shows on me', () => withSim({
  'load.users': 50,
  users: [{ uri: 'sip:toshm@contoso.com', username: 'toshm@contoso.com', password: 'secret', name: 'Tosh Meston', phone: '+1 425 555 0100' }],
}, async (sim) => {
  const st = await sim.state();
  assert.equal(st.users.length, 51);
  assert.equal(st.users[50].uri, 'sip:load50@contoso.com');
  const c = await sim.client({ user: { username: 'load7@contoso.com', password: 'load7' } });
  assert.equal(c.app._embedded.me.uri, 'sip:load7@contoso.com');
  assert.equal(c.app._embedded.me.name, 'Load User 7');
  await assert.rejects(sim.token('load7@contoso.com', 'load8'));
  const t = await sim.client();
  assert.equal(t.app._embedded.me.workPhoneNumber, 'tel:+1 425 555 0100');
}));

// Objects are never freed inside their own timer callbacks: a conversation
// whose invitation times out, an application that expires idle, one killed by
// the control API and a slow (delayed) reply are buried, and the reaper
// releases them on the next loop turn; the state shows none left pending.
test('ended conversations and applications are released by the reaper on the next turn', () => withSim({
  'conversations.invitation_timeout_ms': 300 * h.slow, 'applications.idle_expiry_ms': 1500 * h.slow,
}, async (sim) => {
  const st0 = await sim.state();
  assert.deepEqual(st0.reaper, { pending: 0, released: 0 });
  const c = await sim.client();
  const r = await c.req('POST', c.app._embedded.communication._links.startMessaging.href, { body: { to: 'sip:silent@contoso.com' } });
  assert.equal(r.status, 201);
  const e = await c.ev('communication', 'messagingInvitation', 'completed', (x) => x.link.href === r.headers.location);
  assert.equal(e.reason.subcode, 'Timeout');
  const st1 = await sim.state();
  assert.deepEqual(st1.applications[0].conversations, []);
  assert.deepEqual(st1.reaper, { pending: 0, released: 1 }, 'the timed-out conversation');
  // the idle expiry timer deletes the application from its own callback
  await h.waitFor(async () => (await c.req('GET', c.app._links.self.href)).status === 404, 8000 * h.slow, 'idle expiry');
  const st2 = await sim.state();
  assert.deepEqual(st2.applications, []);
  assert.deepEqual(st2.reaper, { pending: 0, released: 2 }, 'and the expired application');
  // a delayed reply (slow fault) frees its holder after its own timer fired
  const d = await sim.client();
  await sim.ctl('POST', 'users/toshm@contoso.com/faults', { fault: 'slow', delay_ms: 50 });
  assert.equal((await d.req('GET', d.app._links.self.href)).status, 200);
  await sim.ctl('DELETE', 'users/toshm@contoso.com/faults');
  const before = (await sim.state()).reaper.released;
  assert.equal(before, 3, 'the delayed reply\'s holder');
  assert.equal((await sim.ctl('POST', 'users/toshm@contoso.com/kill-applications')).status, 200);
  const st3 = await sim.state();
  assert.deepEqual(st3.applications, []);
  assert.deepEqual(st3.reaper, { pending: 0, released: before + 1 }, 'the killed application');
  assert.equal((await d.req('GET', d.app._links.self.href)).status, 404);
}));

// Style: the simulator's functions stay short (the JSON writers were split
// into commented pieces); a function here is its name line to its closing brace.
test('simulator sources: no function longer than 45 lines', () => {
  const dir = path.join(h.srcdir, 'src', 'sim');
  const long = [];
  for (const f of fs.readdirSync(dir).filter((x) => x.endsWith('.c'))) {
    const lines = fs.readFileSync(path.join(dir, f), 'utf8').split('\n');
    let name = null;
    let start = 0;
    lines.forEach((l, i) => {
      const m = /^([a-z_][a-z0-9_]*)\(/.exec(l);
      if (m) [name, start] = [m[1], i];
      else if (name && l === '}') {
        if (i - start > 45) long.push(`${f}: ${name} (${i - start} lines)`);
        name = null;
      }
    });
  }
  assert.deepEqual(long, []);
});
