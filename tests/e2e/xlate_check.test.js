// xlate_check.test.js: the translation file as operators meet it: `ucgw -t`,
// the dry run `ucgw xlate` and SIGHUP report the same FILE:LINE:COL problems
// for a broken file; a refused reload keeps the old rules; the dry run
// passes every transcript of proto/ and fails (exit 1, with the difference)
// when an edit changes what a transcript expects.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const h = require('./lib/harness');

const proto = path.join(h.srcdir, 'proto');
const transcripts = fs.readdirSync(proto).filter((f) => f.endsWith('.json')).map((f) => path.join(proto, f));

// A translation file with three problems, and the lines each tool must print.
function broken(dir) {
  const f = path.join(dir, 'translate.json');
  fs.writeFileSync(f, '{\n  "addresses": {"to_sip": [{"match": "([0-9]", "sip": "sip:$1@x"}]},\n' +
    '  "notifications": {"NewMessage": {"from": "$sendr"}},\n  "txet": {}\n}\n');
  return { f, lines: [
    new RegExp(`^${f}:2:38: bad regular expression "\\(\\[0-9\\]": .+$`),
    new RegExp(`^${f}:3:44: "\\$sendr": unknown variable "\\$sendr"$`),
    new RegExp(`^${f}:4:3: unknown key "txet" in the translation file$`),
  ] };
}

function matchAll(lines, res) {
  assert.equal(lines.length, res.length, lines.join('\n'));
  res.forEach((re, i) => assert.match(lines[i], re));
}

test('ucgw -t checks the translation file and names every problem', async () => {
  const dir = h.tmpdir();
  const { f, lines } = broken(dir);
  const r = await h.run('ucgw', ['-t', '-o', `translate.file=${f}`]);
  assert.equal(r.code, 1);
  matchAll(r.stderr.trim().split('\n'), lines);
  const ok = await h.run('ucgw', ['-t', '-o', `translate.file=${path.join(h.srcdir, 'conf', 'translate.json')}`]);
  assert.equal(ok.code, 0, ok.stderr);
  const missing = await h.run('ucgw', ['-t', '-o', `translate.file=${path.join(dir, 'none.json')}`]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /none\.json: cannot open: No such file or directory/);
});

test('the dry run reports the same problems and exits 2', async () => {
  const { f, lines } = broken(h.tmpdir());
  const r = await h.run('ucgw', ['xlate', '-c', f, transcripts[0]]);
  assert.equal(r.code, 2);
  assert.equal(r.stdout, '');
  matchAll(r.stderr.trim().split('\n'), lines);
});

test('SIGHUP logs the same problems and keeps the old rules', async () => {
  const dir = h.tmpdir();
  const conf = path.join(dir, 'ucgw.conf');
  const good = path.join(dir, 'good.json');
  fs.writeFileSync(good, '{"text": {"max_length": 100}}\n');
  fs.writeFileSync(conf, JSON.stringify({ listen: ['http://127.0.0.1:0'], translate: { file: good } }));
  const p = await h.start('ucgw', ['-c', conf]);
  try {
    assert.match(p.stderr, new RegExp(`translation rules from ${good}`));
    const { f, lines } = broken(dir);
    fs.writeFileSync(conf, JSON.stringify({ listen: ['http://127.0.0.1:0'], translate: { file: f } }));
    p.signal_('SIGHUP');
    await h.waitFor(() => /reload refused/.test(p.stderr), 5000, 'the refusal to be logged');
    const logged = p.stderr.split('\n').filter((l) => l.includes(f)).map((l) => l.replace(/^.*ERROR ucgw: /, ''));
    matchAll(logged, lines);
    assert.doesNotMatch(p.stderr, new RegExp(`translation rules from ${f}`));
    assert.equal(p.stderr.match(/translation rules from/g).length, 1, 'the old rules stay');
    fs.writeFileSync(conf, JSON.stringify({ listen: ['http://127.0.0.1:0'], translate: { file: good } }));
    p.signal_('SIGHUP');
    await h.waitFor(() => /reload done/.test(p.stderr), 5000, 'the reload');
    assert.equal(p.stderr.match(/translation rules from/g).length, 2);
    assert.equal((await h.request({ port: p.port, path: '/healthz' })).status, 200);
  } finally {
    await p.stop();
  }
});

test('the dry run takes the rules a ucgw configuration names (-C)', async () => {
  const dir = h.tmpdir();
  const rules = path.join(dir, 'hunt.json');
  fs.writeFileSync(rules, '{"addresses": {"to_sip": [{"match": ".*", "sip": "sip:hunt@example.com"}]}}\n');
  const conf = path.join(dir, 'ucgw.conf');
  fs.writeFileSync(conf, JSON.stringify({ translate: { file: rules } }));
  const r = await h.run('ucgw', ['xlate', '-q', '-C', conf, path.join(proto, 'gws-initiate.json')]);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /"to":"sip:hunt@example\.com"/);
  fs.writeFileSync(conf, '{}');
  const b = await h.run('ucgw', ['xlate', '-q', '-C', conf, path.join(proto, 'gws-initiate.json')]);
  assert.equal(b.code, 0, b.stdout + b.stderr);
  fs.writeFileSync(conf, '{\n "translate": {"fil": "x"}}');
  const bad = await h.run('ucgw', ['xlate', '-C', conf, path.join(proto, 'gws-initiate.json')]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, new RegExp(`^${conf}:2:16: unknown key "translate.fil"`));
});

test('the dry run passes every transcript in proto/', async () => {
  assert.ok(transcripts.length >= 30, `only ${transcripts.length} transcripts`);
  const r = await h.run('ucgw', ['xlate', '-q', ...transcripts]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.equal(r.stdout.split('\n').filter((l) => l.startsWith('PASS ')).length, transcripts.length);
});

test('an edit that changes a transcript\'s outputs fails the dry run with the difference', async () => {
  const dir = h.tmpdir();
  const f = path.join(dir, 'edited.json');
  fs.writeFileSync(f, '// everyone goes to the hunt group\n' +
    '{"addresses": {"to_sip": [{"match": ".*", "sip": "sip:hunt@example.com"}]}}\n');
  const r = await h.run('ucgw', ['xlate', '-q', '-c', f, path.join(proto, 'gws-initiate.json'),
    path.join(proto, 'gws-complete.json')]);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /^upstream differs:\n  expected .*"to":"sip:agent3002@example\.com".*\n  actual   .*"to":"sip:hunt@example\.com"/m);
  assert.match(r.stdout, /^FAIL .*gws-initiate\.json$/m);
  assert.match(r.stdout, /^PASS .*gws-complete\.json$/m);
});

test('the dry run plays a bare GWS request and prints what would be sent', async () => {
  const dir = h.tmpdir();
  const f = path.join(dir, 'req.json');
  fs.writeFileSync(f, JSON.stringify({ method: 'POST', path: '/api/v2/me/im-sessions',
    body: { operationName: 'InitiateIMSession', destination: { phoneNumber: '+4930123456' } } }));
  const r = await h.run('ucgw', ['xlate', f]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines[0], 'response  {"statusCode":0}');
  assert.equal(lines[1], 'upstream  {"method":"POST","rel":"startMessaging","content_type":"application/json",' +
    '"body":{"to":"sip:+4930123456@example.com;user=phone"}}');
  assert.match(lines[2], /^session   \{"state":null,/);
  const bad = await h.run('ucgw', ['xlate']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /usage: ucgw xlate/);
});
