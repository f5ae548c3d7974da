// reload_record_incoming.test.js: recording an incoming conversation. The
// accept the gateway sends goes through the one command hook (gws_im_ucwa)
// and is recorded in the transcript of the event-channel response that
// carried the invitation, so its upstream part replays without a difference
// (the session the invitation creates gets a random id the dry run cannot
// know: only that differs); the later transcripts replay as they are.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const h = require('./lib/harness');
const im = require('./lib/im');
const rl = require('./lib/reload');

test('an incoming conversation is recorded with its accept; its upstream replays with no difference', async () => {
  const dir = h.tmpdir();
  const rules = path.join(dir, 'translate.json');
  const out = path.join(dir, 'rec');
  fs.mkdirSync(out);
  rl.writeRules(rules, {});
  const env = await rl.setup(rules, ['agent1'], ['-o', 'record.agents=["agent1"]', '-o', `record.dir=${out}`]);
  let files;
  try {
    const d = env.desks.agent1;
    const r = await im.sim(env.sim.port, 'POST', '/remotes/agent3003@example.com/invite', { to: 'agent1', text: 'hello agent' });
    assert.equal(r.status, 200, r.body);
    await d.state('Talking');
    await d.next((n) => n.messageType === 'IMLogUpdateMessage' && n.message === 'hello agent');
    files = fs.readdirSync(out).map((f) => path.join(out, f));
  } finally {
    assert.deepEqual(await im.teardown(env), { gw: 0, sim: 0 });
  }
  const texts = files.map((f) => fs.readFileSync(f, 'utf8'));
  assert.ok(texts.some((t) => JSON.parse(t).ucwa && /"upstream":\[\{"method":"POST","rel":"accept"/.test(t)),
    `the accept is recorded: ${texts.join('\n')}`);
  const play = await h.run('ucgw', ['xlate', '-c', rules, ...files]);
  assert.doesNotMatch(play.stdout, /upstream differs|response differs/, play.stdout);
  const differs = play.stdout.match(/^\w+ differs:\n.*\n.*$/gm) || [];
  for (const d of differs) {
    const [, exp, act] = d.split('\n');
    const anon = (s) => s.replace(/"(id|uri|path)":"[^"]*"/g, '"$1":""').replace(/im-sessions\/\w+/g, 'im-sessions/');
    assert.equal(anon(act.replace(/^\s*actual\s*/, '')), anon(exp.replace(/^\s*expected\s*/, '')), d);
  }
  assert.ok(files.length >= 2, files.join(' '));
  assert.ok((play.stdout.match(/^PASS /gm) || []).length >= 1, play.stdout);
});
