// reload_live.test.js: issue 7's reload, with live conversations. ucgw runs
// in front of ucwa-sim on a translation file the test rewrites; two agents
// hold conversations with their official CometD clients long-polling while
// messages flow both ways, and SIGHUP swaps the rules mid-traffic. The
// conversations must go on (every message delivered once, in order), no
// HTTP request may fail, no notification be lost, no long-poll (CometD or
// UCWA P-GET) be dropped; new conversations use the new rules while running
// ones keep the rules they started with. A broken file sent by SIGHUP is
// refused with its FILE:LINE:COL problems and changes nothing.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const h = require('./lib/harness');
const im = require('./lib/im');
const rl = require('./lib/reload');

const { bob, carol } = im.REMOTES;
const N = 30;		// messages each way in each conversation
const HUP_AT = 10;	// SIGHUP once every stream has sent this many

const DEFAULT_TO_SIP = [
  { match: '([0-9]{3,6})', sip: 'sip:agent$1@example.com' },
  { match: '\\+([0-9]{7,15})', sip: 'sip:+$1@example.com;user=phone' },
];
// Old rules: NewMessage carries the sender's number as "from".
const OLD = { notifications: { NewMessage: { from: '$sender_phone' } } };
// New rules: a new number range 99-NNNN reaching sip:agentNNNN@example.com (the
// remotes), and NewMessage with the field renamed to "sender" plus "direction".
const NEW = {
  addresses: { to_sip: [{ match: '99-([0-9]{4})', sip: 'sip:agent$1@example.com' }, ...DEFAULT_TO_SIP] },
  notifications: { NewMessage: { sender: '$sender_phone', direction: '$direction' } },
};

// One stream of n messages, one after the other; progress[key] counts them.
async function stream(n, progress, key, sendOne) {
  for (let i = 0; i < n; i++) {
    await sendOne(i);
    progress[key] = i + 1;
  }
}

// Both directions of one conversation as two concurrent streams.
function converse(env, d, id, remote, tag, progress) {
  return Promise.all([
    stream(N, progress, `${tag}-out`, (i) => rl.send(d, id, `${tag}-out-${i}`)),
    stream(N, progress, `${tag}-in`, (i) => rl.remoteSays(env.sim.port, remote, d.user, `${tag}-in-${i}`)),
  ]);
}

// Every message of the conversation arrived once, in order, both ways.
async function checkConversation(env, d, id, remote, tag) {
  const seq = (dir) => Array.from({ length: N }, (_, i) => `${tag}-${dir}-${i}`);
  await d.next((n) => n.message === `${tag}-in-${N - 1}`);
  await d.next((n) => n.message === `${tag}-out-${N - 1}`);
  const notes = rl.messages(d, id).map((n) => n.message);
  assert.deepEqual(notes.filter((t) => t.startsWith(`${tag}-in-`)), seq('in'), `${tag}: incoming notified once each, in order`);
  assert.deepEqual(notes.filter((t) => t.startsWith(`${tag}-out-`)), seq('out'), `${tag}: own messages echoed once each, in order`);
  assert.equal(notes.length, 2 * N, `${tag}: no other message notification`);
  assert.deepEqual(await rl.receivedFrom(env.sim.port, remote, d.user), seq('out'), `${tag}: the remote got each message once, in order`);
}

test('SIGHUP with two live conversations: they go on, new ones use the new rules, nothing dropped', async () => {
  const dir = h.tmpdir();
  const rules = path.join(dir, 'translate.json');
  rl.writeRules(rules, OLD);
  const env = await rl.setup(rules, ['agent1', 'agent2', 'agent3']);
  const { agent1: d1, agent2: d2, agent3: d3 } = env.desks;
  try {
    const s1 = await im.talk(d1, bob);
    const s2 = await im.talk(d2, carol);
    const refused = await d3.op('/me/im-sessions', { operationName: 'InitiateIMSession', destination: { phoneNumber: '99-3003' } });
    assert.equal(refused.status, 400, 'the old rules map no 99- number');
    assert.equal(refused.json.statusCode, 10, 'a number outside the address rules');
    assert.match(refused.json.statusMessage, /no address rule/);
    const apps0 = await rl.applications(env.sim.port);
    const hsBefore = [d1, d2, d3].map((d) => d.client.handshakes.length);

    const progress = {};
    const traffic = Promise.all([converse(env, d1, s1.id, bob, 'a1', progress),
      converse(env, d2, s2.id, carol, 'a2', progress)]);
    await h.waitFor(() => Object.keys(progress).length === 4 && Object.values(progress).every((v) => v >= HUP_AT),
      20000 * h.slow, () => `traffic stalled: ${JSON.stringify(progress)}`);
    rl.writeRules(rules, NEW);
    await rl.hup(env.gw);
    const atHup = { ...progress };
    await traffic;
    assert.ok(Object.values(atHup).some((v) => v < N), `the reload happened while messages were flowing: ${JSON.stringify(atHup)}`);

    await checkConversation(env, d1, s1.id, bob, 'a1');
    await checkConversation(env, d2, s2.id, carol, 'a2');
    // The running sessions keep the rules they started with: "from", never the new fields.
    for (const [d, s, phone] of [[d1, s1, bob.phone], [d2, s2, carol.phone]]) {
      for (const n of rl.messages(d, s.id).filter((m) => /-in-/.test(m.message))) {
        assert.equal(n.from, phone, `${d.user} ${n.message}: old field`);
        assert.equal(n.sender, undefined, `${d.user} ${n.message}: no new field in an old session`);
        assert.equal(n.direction, undefined);
      }
    }

    // A new conversation takes the new rules: the 99- range reaches Carol, NewMessage has the new fields.
    const s3 = await im.talk(d3, { phone: '99-3003' });
    assert.equal(s3.participants[0].phoneNumber, carol.phone);
    await rl.send(d3, s3.id, 'a3-out-0');
    await rl.remoteSays(env.sim.port, carol, 'agent3', 'a3-in-0');
    const in3 = await d3.next((n) => n.message === 'a3-in-0');
    assert.equal(in3.sender, carol.phone);
    assert.equal(in3.direction, 'Incoming');
    assert.equal(in3.from, undefined, 'the renamed field is gone in new sessions');
    await d3.next((n) => n.message === 'a3-out-0');
    assert.deepEqual(await rl.receivedFrom(env.sim.port, carol, 'agent3'), ['a3-out-0']);
    // The old conversation still goes on after the new one started, with its old rules.
    await rl.remoteSays(env.sim.port, bob, 'agent1', 'a1-late');
    const late = await d1.next((n) => n.message === 'a1-late');
    assert.equal(late.from, bob.phone);
    assert.equal(late.sender, undefined);
    // The same agent's next conversation uses the new rules.
    const from = d1.im().length;
    assert.deepEqual((await d1.op(`/me/im-sessions/${s1.id}`, { operationName: 'Complete' })).json, { statusCode: 0 });
    await d1.state('Completed', from);
    const s1b = await im.talk(d1, bob);
    await rl.remoteSays(env.sim.port, bob, 'agent1', 'a1b-in-0');
    const in1b = await d1.next((n) => n.message === 'a1b-in-0' && n.imSessionPath === `/im-sessions/${s1b.id}`);
    assert.equal(in1b.sender, bob.phone);
    assert.equal(in1b.from, undefined);

    // No long-poll dropped: no new CometD handshake, every /meta/connect succeeded;
    // the simulator still has the same applications, whose P-GETs went on acking.
    assert.deepEqual([d1, d2, d3].map((d) => d.client.handshakes.length), hsBefore);
    for (const d of [d1, d2, d3]) await rl.longPollKept(d);
    const apps1 = await rl.applications(env.sim.port);
    for (const u of ['agent1', 'agent2', 'agent3']) {
      assert.ok(apps0[u], `application of ${u} before: ${JSON.stringify(Object.keys(apps0))}`);
      assert.equal(apps1[u].id, apps0[u].id, `${u}: the same UCWA application`);
    }
    for (const u of ['agent1', 'agent2']) {
      assert.ok(apps1[u].acked > apps0[u].acked, `${u}: event-channel acks went on (${apps0[u].acked} -> ${apps1[u].acked})`);
    }
    await h.waitFor(async () => {
      const a = await rl.applications(env.sim.port);
      return ['agent1', 'agent2', 'agent3'].every((u) => a[u].parked);
    }, 10000 * h.slow, 'every application to have its P-GET parked again');
    assert.equal(env.gw.stderr.match(/translation rules from/g).length, 2, 'loaded twice: start and reload');
    assert.doesNotMatch(env.gw.stderr, /reload refused|ERROR|WARN/);
    for (const u of ['agent1', 'agent2', 'agent3']) {
      assert.equal(env.gw.stderr.split('\n').filter((l) => l.endsWith(`agent ${u}: signed in to Skype for Business`)).length, 1,
        `${u} signed in to Skype for Business once`);
    }
  } finally {
    assert.deepEqual(await im.teardown(env), { gw: 0, sim: 0 });
  }
});

test('a broken file sent by SIGHUP is refused with FILE:LINE:COL problems; the conversations go on under the old rules', async () => {
  const dir = h.tmpdir();
  const rules = path.join(dir, 'translate.json');
  rl.writeRules(rules, OLD);
  const env = await rl.setup(rules, ['agent1', 'agent2', 'agent3']);
  const { agent1: d1, agent2: d2, agent3: d3 } = env.desks;
  try {
    const s1 = await im.talk(d1, bob);
    const s2 = await im.talk(d2, carol);
    const apps0 = await rl.applications(env.sim.port);
    const progress = {};
    const traffic = Promise.all([converse(env, d1, s1.id, bob, 'b1', progress),
      converse(env, d2, s2.id, carol, 'b2', progress)]);
    await h.waitFor(() => Object.keys(progress).length === 4 && Object.values(progress).every((v) => v >= HUP_AT),
      20000 * h.slow, () => `traffic stalled: ${JSON.stringify(progress)}`);
    // Three problems on known lines: a bad regular expression, an unknown
    // template variable, an unknown key.
    rl.writeRules(rules, [
      '{',
      '  "addresses": { "to_sip": [ { "match": "99-([0-9]{4}", "sip": "sip:agent$1@example.com" } ] },',
      '  "notifications": { "NewMessage": { "sender": "$nosuch" } },',
      '  "colour": 1',
      '}', ''].join('\n'));
    await rl.hup(env.gw, 'reload refused');
    await traffic;
    const problems = env.gw.stderr.split('\n').filter((l) => l.includes(`${rules}:`));
    assert.ok(problems.some((l) => l.includes(`${rules}:2:`)), `regex problem on line 2:\n${problems.join('\n')}`);
    assert.ok(problems.some((l) => l.includes(`${rules}:3:`) && /nosuch/.test(l)), `template problem on line 3:\n${problems.join('\n')}`);
    assert.ok(problems.some((l) => l.includes(`${rules}:4:`) && /colour/.test(l)), `unknown key on line 4:\n${problems.join('\n')}`);
    for (const l of problems) assert.match(l, new RegExp(`${rules.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+: \\S`));

    await checkConversation(env, d1, s1.id, bob, 'b1');
    await checkConversation(env, d2, s2.id, carol, 'b2');
    // The old rules still serve new conversations: no 99- range, NewMessage has "from".
    const refused = await d3.op('/me/im-sessions', { operationName: 'InitiateIMSession', destination: { phoneNumber: '99-3003' } });
    assert.equal(refused.status, 400);
    const s3 = await im.talk(d3, carol);
    await rl.remoteSays(env.sim.port, carol, 'agent3', 'b3-in-0');
    const in3 = await d3.next((n) => n.message === 'b3-in-0' && n.imSessionPath === `/im-sessions/${s3.id}`);
    assert.equal(in3.from, carol.phone);
    assert.equal(in3.sender, undefined);
    for (const d of [d1, d2, d3]) await rl.longPollKept(d);
    const apps1 = await rl.applications(env.sim.port);
    for (const u of ['agent1', 'agent2']) {
      assert.equal(apps1[u].id, apps0[u].id);
      assert.ok(apps1[u].acked > apps0[u].acked);
    }
    assert.equal(env.gw.stderr.match(/translation rules from/g).length, 1, 'the refused file was never loaded');
  } finally {
    assert.deepEqual(await im.teardown(env), { gw: 0, sim: 0 });
  }
});
