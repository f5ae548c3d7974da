// reload_once.test.js: a SIGHUP reads the translation file once (issue 8,
// target (d)): the rules the configuration check loaded are the rules the
// reload installs, instead of the file being parsed a second time. ucgw
// logs each read of the file at debug level; each reload, good or refused,
// must show exactly one between "SIGHUP: reloading" and its outcome.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const h = require('./lib/harness');

// The log lines of one reload: SIGHUP, then wait for the outcome line.
async function reload(p, outcome) {
  const from = p.stderr.length;
  p.signal_('SIGHUP');
  await h.waitFor(() => outcome.test(p.stderr.slice(from)), 10000 * h.slow,
    () => `no ${outcome} in the log:\n${p.stderr.slice(from)}`);
  return p.stderr.slice(from);
}

test('each reload reads the translation file once, a refused one too', async () => {
  const dir = h.tmpdir();
  const rules = path.join(dir, 'translate.json');
  const conf = path.join(dir, 'ucgw.conf');
  const reads = (log) => log.split('\n').filter((l) => l.includes(`translation rules: read ${rules} (`)).length;
  fs.writeFileSync(rules, '{"text": {"max_length": 100}}\n');
  fs.writeFileSync(conf, JSON.stringify({ listen: ['http://127.0.0.1:0'], log: { level: 'debug' },
    translate: { file: rules } }));
  const p = await h.start('ucgw', ['-c', conf]);
  try {
    for (let i = 0; i < 2; i++) {
      fs.writeFileSync(rules, `{"text": {"max_length": ${200 + i}}}\n`);
      const log = await reload(p, /reload done/);
      assert.equal(reads(log), 1, `reload ${i + 1} read the file once:\n${log}`);
      assert.match(log, new RegExp(`translation rules from ${rules}`));
    }
    fs.writeFileSync(rules, '{"text": {"max_length": "many"}}\n');
    const refused = await reload(p, /reload refused/);
    assert.equal(reads(refused), 1, `the refused reload read the file once:\n${refused}`);
    assert.match(refused, /translate\.json:1:25: max_length: expected integer, found string/);
    assert.doesNotMatch(refused, /translation rules from/, 'the old rules stay');
    assert.equal((await h.request({ port: p.port, path: '/healthz' })).status, 200);
  } finally {
    await p.stop();
  }
});
