// The README's "Running ucgw" commands, run as written (issue 16, item 9):
// from a folder laid out like the source tree after README command 1
// (build/ holds the programs), the block runs with bash -e and every line
// does what its comment says. The block uses the shipped fixed ports
// (8080, 8081, 9180): the test is skipped when one of them is taken.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const h = require('./lib/harness');

// The first ```sh block after the heading.
function block(markdown, heading) {
  const from = markdown.indexOf(heading);
  assert.ok(from >= 0, `no "${heading}" in README.md`);
  const m = /```sh\n([\s\S]*?)```/.exec(markdown.slice(from));
  assert.ok(m, `no sh block after "${heading}"`);
  return m[1];
}

function portFree(port) {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

test('README: the "Running ucgw" lines run as written', async (t) => {
  for (const p of [8080, 8081, 9180]) {
    if (!(await portFree(p))) {
      t.skip(`port ${p} is in use`);
      return;
    }
  }
  const readme = fs.readFileSync(path.join(h.srcdir, 'README.md'), 'utf8');
  const script = block(readme, '## Running ucgw');
  const top = h.tmpdir('ucgw-readme-');
  fs.symlinkSync(h.builddir, path.join(top, 'build'));
  for (const d of ['conf', 'proto']) fs.symlinkSync(path.join(h.srcdir, d), path.join(top, d));
  const child = spawn('bash', ['-e', '-c', script], { cwd: top, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { err += d; });
  const code = await new Promise((resolve) => {
    const timer = setTimeout(() => { try { process.kill(-child.pid, 'SIGKILL'); } catch (_) { /* gone */ } }, 60000 * h.slow);
    child.on('exit', (c, sig) => { clearTimeout(timer); resolve(c === null ? sig : c); });
  });
  try { process.kill(-child.pid, 'SIGKILL'); } catch (_) { /* all exited */ }
  assert.equal(code, 0, `the README block failed (${code}):\n${out}\n${err}`);
  assert.match(out, /^listening on 127\.0\.0\.1:8081$/m, 'ucwa-sim');
  assert.match(out, /^listening on 127\.0\.0\.1:8080$/m, 'ucgw');
  assert.match(out, /^listening on 127\.0\.0\.1:9180$/m, 'ucgw admin');
  assert.match(out, /\{"status":"ready"\}/);
  assert.match(out, /"statusCode":0,.*"userName":"toshm@contoso\.com"/, 'GET /me signed the agent in');
  assert.match(out, /^ucgw_agents 1$/m);
  assert.equal((out.match(/^configuration OK$/gm) || []).length, 2);
  assert.match(out, /^ucgw \d+\.\d+\.\d+/m);
  assert.doesNotMatch(err, /Sanitizer|runtime error/);
  assert.match(err, /drained; exiting/);
});

test('README: it starts with exactly the two commands, demo and test', () => {
  const readme = fs.readFileSync(path.join(h.srcdir, 'README.md'), 'utf8');
  const first = /```sh\n([\s\S]*?)```/.exec(readme)[1].trim().split('\n').map((l) => l.replace(/\s+#.*$/, ''));
  assert.deepEqual(first, ['bash tests/quickstart demo', 'bash tests/quickstart test']);
});
