// harden_signin.test.js: sign-in abuse (issue 14, item 4). Failed
// authentications back off per user and per client address (429 with
// Retry-After, no upstream call meanwhile); a pair that just failed is
// refused without asking UCWA again; sign-ins in progress are bounded per
// address; "signed in" is logged only once a sign-in succeeded.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');
const im = require('./lib/im');
const cm = require('./lib/cometd');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// GET /me as user with password pw.
function me(port, user, pw) {
  return h.request({ port, path: '/api/v2/me', headers: { Authorization: cm.basic(user, pw) } });
}

// Password grants the simulator refused so far (one log line each).
const grantsRefused = (sim) => (sim.stderr.match(/token: bad credentials for /g) || []).length;

// The count once the simulator's log has caught up (its lines arrive through a pipe).
async function grants(sim, want) {
  await h.waitFor(() => grantsRefused(sim) >= want, 2000 * h.slow, `${want} refused grants`).catch(() => {});
  await sleep(150);
  return grantsRefused(sim);
}

test('a user backs off after failures; a failed pair is not tried upstream again; 429 has Retry-After', async () => {
  const sim = await im.startSim();
  const gw = await im.startGateway(sim.port, ['-o', 'auth.throttle_user_after=3',
    '-o', 'auth.throttle_base_ms=2000', '-o', 'auth.throttle_address_after=100']);
  try {
    assert.equal((await me(gw.port, 'agent1', 'wrong-1')).status, 401);
    assert.equal(await grants(sim, 1), 1);
    // The same wrong pair again: refused at once, UCWA is not asked.
    const again = await me(gw.port, 'agent1', 'wrong-1');
    assert.equal(again.status, 401);
    assert.equal(again.json.statusCode, 20);
    assert.equal(await grants(sim, 1), 1);
    assert.equal((await me(gw.port, 'agent1', 'wrong-2')).status, 401);
    assert.equal((await me(gw.port, 'agent1', 'wrong-3')).status, 401); // 4th failure: back-off
    assert.equal(await grants(sim, 3), 3);
    // Throttled: even the right password waits, and nothing goes upstream.
    for (const pw of ['wrong-4', cm.AGENTS.agent1]) {
      const r = await me(gw.port, 'agent1', pw);
      assert.equal(r.status, 429);
      assert.equal(r.headers['retry-after'], '2');
      assert.deepEqual(r.json, { statusCode: 20, statusMessage: 'Too many failed sign-ins; retry later' });
    }
    assert.equal(await grants(sim, 3), 3);
    // Nothing said "signed in" for all those attempts.
    assert.doesNotMatch(gw.stderr, /agent1: signed in/);
    // Another user from the same address is not held up by agent1's back-off.
    assert.equal((await me(gw.port, 'agent2', cm.AGENTS.agent2)).status, 200);
    await sleep(2100);
    const ok = await me(gw.port, 'agent1', cm.AGENTS.agent1);
    assert.equal(ok.status, 200);
    assert.equal(gw.stderr.match(/agent agent1: signed in to Skype for Business/g).length, 1);
    assert.equal(await grants(sim, 3), 3);
  } finally {
    await cm.stopClean(gw);
    await sim.stop();
  }
});

test('random user names from one address back off that address; the log is rate-limited', async () => {
  const sim = await im.startSim();
  const gw = await im.startGateway(sim.port, ['-o', 'auth.throttle_address_after=6',
    '-o', 'auth.throttle_base_ms=5000']);
  try {
    for (let i = 0; i < 7; i++) assert.equal((await me(gw.port, `nobody${i}`, 'guess')).status, 401);
    assert.equal(await grants(sim, 7), 7);
    // Seven failed sign-ins, five lines of each kind (the rest are counted for the next window).
    assert.equal(gw.stderr.split('\n').filter((l) => /agent nobody\d+: Skype for Business: /.test(l)).length, 5);
    assert.equal(gw.stderr.split('\n').filter((l) => /ucwa nobody\d+: /.test(l) && /WARN/.test(l)).length, 5);
    for (let i = 7; i < 40; i++) {
      const r = await me(gw.port, `nobody${i}`, 'guess');
      assert.equal(r.status, 429);
      assert.equal(r.headers['retry-after'], '5');
    }
    assert.equal(await grants(sim, 7), 7);
    const lines = gw.stderr.split('\n').filter((l) => /sign-in of nobody\d+ refused/.test(l));
    assert.equal(lines.length, 5, 'refusals are rate-limited');
    assert.match(lines[0], /auth: 127\.0\.0\.1:\d+: sign-in of nobody7 refused for \d+ ms: too many failures from this address/);
  } finally {
    await cm.stopClean(gw);
    await sim.stop();
  }
});

test('sign-ins in progress are bounded per client address', async () => {
  const sim = await im.startSim();
  const gw = await im.startGateway(sim.port, ['-o', 'auth.max_signins_per_address=4',
    '-o', 'upstream.request_timeout_ms=20000']);
  try {
    sim.signal_('SIGSTOP'); // UCWA hangs: sign-ins stay in progress
    const held = [];
    for (let i = 0; i < 4; i++) held.push(me(gw.port, `slow${i}`, 'x'));
    await sleep(300);
    const r = await me(gw.port, 'agent1', cm.AGENTS.agent1);
    assert.equal(r.status, 429);
    assert.equal(r.headers['retry-after'], '1');
    assert.equal(r.json.statusMessage, 'Too many sign-ins in progress; retry later');
    sim.signal_('SIGCONT');
    for (const p of held) assert.equal((await p).status, 401);
    // The slots are free again.
    assert.equal((await me(gw.port, 'agent1', cm.AGENTS.agent1)).status, 200);
  } finally {
    sim.signal_('SIGCONT');
    await cm.stopClean(gw);
    await sim.stop();
  }
});
