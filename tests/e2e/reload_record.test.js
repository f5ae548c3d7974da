// reload_record.test.js: issue 7's recording. ucgw records the IM requests
// of the agents named by record.agents as transcripts in record.dir while a
// real conversation runs through ucwa-sim; `ucgw xlate` then replays every
// recorded transcript without a difference. No password, token, cookie or
// Authorization value is ever written, agents not named are not recorded,
// and with record.mask_text no message text is written either.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const h = require('./lib/harness');
const im = require('./lib/im');
const cm = require('./lib/cometd');
const rl = require('./lib/reload');

const SECRET_TEXT = 'my secret text 4711';

// One conversation of d with Bob: start (with userData), messages, user data,
// an invalid request, Complete. Resolves the number of IM requests made.
async function conversation(env, d) {
  const s = await im.talk(d, im.REMOTES.bob, { caseRef: 'C-17' });
  await rl.send(d, s.id, `${SECRET_TEXT}\r\n`);
  await rl.send(d, s.id, 'second message');
  await d.next((n) => n.message === 'second message');
  await rl.remoteSays(env.sim.port, im.REMOTES.bob, d.user, 'a reply from Bob');
  await d.next((n) => n.message === 'a reply from Bob');
  const ops = [
    { operationName: 'AttachUserData', userData: { queue: 'sales' } },
    { operationName: 'UpdateUserData', userData: { queue: 'support', token: 'tok-123' } },
    { operationName: 'DeleteUserData', keys: ['queue'] },
  ];
  for (const op of ops) assert.deepEqual((await d.op(`/me/im-sessions/${s.id}`, op)).json, { statusCode: 0 });
  const bad = await d.op(`/me/im-sessions/${s.id}`, { operationName: 'SendMessage' });
  assert.equal(bad.status, 400);
  const from = d.im().length;
  assert.deepEqual((await d.op(`/me/im-sessions/${s.id}`, { operationName: 'Complete' })).json, { statusCode: 0 });
  await d.state('Completed', from);
  return 1 + 2 + ops.length + 1 + 1;
}

// The recorded transcripts of user in dir, by file name order.
function recorded(dir, user) {
  return fs.readdirSync(dir).filter((f) => f.startsWith(`${user}-`)).sort().map((f) => path.join(dir, f));
}

// Record a conversation of agent1 (agent2 talks too, unrecorded); returns {dir, files, env}.
async function recordConversation(extra = []) {
  const dir = h.tmpdir();
  const rules = path.join(dir, 'translate.json');
  const out = path.join(dir, 'rec');
  fs.mkdirSync(out);
  rl.writeRules(rules, { notifications: { NewMessage: { from: '$sender_phone' } } });
  const env = await rl.setup(rules, ['agent1', 'agent2'],
    ['-o', 'record.agents=["agent1"]', '-o', `record.dir=${out}`, ...extra]);
  try {
    const n = await conversation(env, env.desks.agent1);
    await conversation(env, env.desks.agent2);
    assert.match(env.gw.stderr, /recording 1 agent\(s\)/);
    const files = recorded(out, 'agent1');
    const kind = (f) => (JSON.parse(fs.readFileSync(f, 'utf8')).ucwa ? 'ucwa' : 'gws');
    return { out, rules, n, files, all: fs.readdirSync(out),
      gws: files.filter((f) => kind(f) === 'gws'), events: files.filter((f) => kind(f) === 'ucwa') };
  } finally {
    assert.deepEqual(await im.teardown(env), { gw: 0, sim: 0 });
  }
}

// Nothing secret in the files: passwords, Basic credentials, tokens, cookies.
function noSecrets(files) {
  for (const f of files) {
    const t = fs.readFileSync(f, 'utf8');
    for (const pw of Object.values(cm.AGENTS)) assert.ok(!t.includes(pw), `${f} holds a password`);
    assert.doesNotMatch(t, /Basic |Bearer |cwt=|tok-123|[Aa]uthorization"\s*:\s*"[^*]|[Cc]ookie"\s*:\s*"[^*]/, `${f} holds a credential`);
  }
}

test('recording: a real conversation of a chosen agent replays with no difference, without secrets', async () => {
  const r = await recordConversation();
  assert.equal(r.gws.length, r.n, `one transcript per IM request: ${r.all.join(' ')}`);
  assert.ok(r.events.length >= 2, `event-channel responses are recorded too: ${r.events.length}`);
  const evText = r.events.map((f) => fs.readFileSync(f, 'utf8')).join('\n');
  assert.match(evText, /"state":"Talking"/, 'the connection to Talking, from the events');
  assert.match(evText, /"notificationType":"NewMessage"/, 'incoming or delivered messages, from the events');
  assert.ok(r.all.every((f) => f.startsWith('agent1-')), `only agent1 is recorded: ${r.all.join(' ')}`);
  const texts = r.files.map((f) => fs.readFileSync(f, 'utf8')).join('\n');
  assert.ok(texts.includes(SECRET_TEXT), 'message text recorded unmasked by default');
  assert.match(texts, /"rel":"startMessaging".*"to":"sip:agent3002@example.com"/);
  assert.match(texts, /"notificationType":"AttachedDataChanged"/);
  assert.match(texts, /"statusCode":1,"statusMessage"/);
  assert.match(texts, /"token":"\*\*\*"/, 'a userData member named like a secret is blanked');
  noSecrets(r.files);
  const play = await h.run('ucgw', ['xlate', '-c', r.rules, ...r.files]);
  assert.equal(play.code, 0, play.stdout + play.stderr);
  assert.equal((play.stdout.match(/^PASS /gm) || []).length, r.files.length, play.stdout);
  // The replay can fail: other rules give other answers.
  const other = path.join(path.dirname(r.rules), 'other.json');
  rl.writeRules(other, { addresses: { to_sip: [{ match: '.*', sip: 'sip:hunt@example.com' }] } });
  const diff = await h.run('ucgw', ['xlate', '-q', '-c', other, ...r.files]);
  assert.equal(diff.code, 1, diff.stdout + diff.stderr);
  assert.match(diff.stdout, /sip:hunt@example\.com/);
});

test('recording with record.mask_text: no message text in the files, and they still replay', async () => {
  const r = await recordConversation(['-o', 'record.mask_text=true']);
  assert.equal(r.gws.length, r.n);
  assert.ok(r.events.length >= 2);
  for (const f of r.files) {
    const t = fs.readFileSync(f, 'utf8');
    for (const s of [SECRET_TEXT, 'second message', 'a reply from Bob']) assert.ok(!t.includes(s), `${f} holds "${s}"`);
  }
  assert.match(r.files.map((f) => fs.readFileSync(f, 'utf8')).join(''), /"text":"\*\*\*"/);
  noSecrets(r.files);
  const play = await h.run('ucgw', ['xlate', '-q', '-c', r.rules, ...r.files]);
  assert.equal(play.code, 0, play.stdout + play.stderr);
  assert.equal((play.stdout.match(/^PASS /gm) || []).length, r.files.length, play.stdout);
});

test('a transcript over record.max_bytes is skipped with a warning; the others are written', async () => {
  const dir = h.tmpdir();
  const out = path.join(dir, 'rec');
  fs.mkdirSync(out);
  const env = await im.setup(['agent1'], { gwArgs: ['-o', 'record.agents=["agent1"]', '-o', `record.dir=${out}`,
    '-o', 'record.max_bytes=2048'] });
  try {
    const d = env.desks.agent1;
    const s = await im.talk(d);
    await rl.send(d, s.id, 'x'.repeat(3000));
    await rl.send(d, s.id, 'short');
    await h.waitFor(() => /record: a transcript of agent1 has \d+ bytes \(record\.max_bytes 2048\); skipped/.test(env.gw.stderr),
      5000 * h.slow, 'the warning');
    const texts = recorded(out, 'agent1').map((f) => fs.readFileSync(f, 'utf8')).filter((t) => JSON.parse(t).gws);
    assert.equal(texts.length, 2, 'InitiateIMSession and the short SendMessage');
    assert.ok(texts.every((t) => t.length <= 2048));
    assert.ok(texts.some((t) => t.includes('"text":"short"')));
  } finally {
    assert.deepEqual(await im.teardown(env), { gw: 0, sim: 0 });
  }
});

test('SIGHUP switches recording on and off without a restart', async () => {
  const dir = h.tmpdir();
  const out = path.join(dir, 'rec');
  fs.mkdirSync(out);
  const conf = path.join(dir, 'ucgw.conf');
  fs.writeFileSync(conf, '{}');
  const env = await im.setup(['agent1'], { gwArgs: ['-c', conf] });
  try {
    const d = env.desks.agent1;
    const s = await im.talk(d);
    // Each message is delivered (its NewMessage notified) before recording changes.
    const delivered = (text) => d.next((n) => n.message === text);
    await rl.send(d, s.id, 'before');
    await delivered('before');
    fs.writeFileSync(conf, JSON.stringify({ record: { agents: ['agent1'], dir: out } }));
    await rl.hup(env.gw);
    await rl.send(d, s.id, 'during');
    await delivered('during');
    fs.writeFileSync(conf, '{}');
    await rl.hup(env.gw);
    await rl.send(d, s.id, 'after');
    await delivered('after');
    const all = recorded(out, 'agent1').map((f) => fs.readFileSync(f, 'utf8'));
    const texts = all.filter((t) => JSON.parse(t).gws);
    assert.equal(texts.length, 1, texts.join('\n'));
    assert.match(texts[0], /"text":"during"/);
    assert.ok(all.every((t) => !/"before"|"after"/.test(t)), 'nothing recorded while recording was off');
    assert.equal(d.client.handshakes.length, 1);
  } finally {
    assert.deepEqual(await im.teardown(env), { gw: 0, sim: 0 });
  }
});

test('record.agents without record.dir is refused by ucgw -t', async () => {
  const r = await h.run('ucgw', ['-t', '-o', 'record.agents=["agent1"]']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr + r.stdout, /record\.agents needs record\.dir/);
});
