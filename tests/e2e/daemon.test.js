// daemon.test.js: ucgw as a process: command line, configuration check,
// listeners on port 0, health and version, HTTP limits, keep-alive, SIGHUP
// reload (bad file keeps the old configuration), SIGTERM drain, TLS, and
// logs that never carry credentials.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const h = require('./lib/harness');

const shipped = path.join(h.srcdir, 'conf', 'ucgw.conf');
const port0 = ['-o', 'listen=["http://127.0.0.1:0"]'];

test('--version and -h answer and exit 0', async () => {
  const v = await h.run('ucgw', ['--version']);
  assert.equal(v.code, 0);
  assert.match(v.stdout, /^ucgw \d+\.\d+\.\d+\n$/);
  const u = await h.run('ucgw', ['-h']);
  assert.equal(u.code, 0);
  assert.match(u.stdout, /usage: ucgw/);
  const bad = await h.run('ucgw', ['--no-such-flag']);
  assert.equal(bad.code, 2);
});

test('-t accepts the shipped configuration', async () => {
  const r = await h.run('ucgw', ['-t', '-c', shipped]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'configuration OK\n');
});

test('-t names file, line and column of every problem', async () => {
  const dir = h.tmpdir();
  const f = path.join(dir, 'bad.conf');
  fs.writeFileSync(f, '{\n  // comment\n  "log": {"level": "loud"},\n  "limits": {"max_body_bytes": 5,\n' +
    '    "idle_timeout_ms": "long"},\n  "lissen": []\n}\n');
  const r = await h.run('ucgw', ['-t', '-c', f]);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  const lines = r.stderr.trim().split('\n');
  assert.deepEqual(lines, [
    `${f}:3:20: log.level: expected one of "error", "warn", "info", "debug"`,
    `${f}:4:32: limits.max_body_bytes: 5 is out of range (1024 to 67108864)`,
    `${f}:5:24: limits.idle_timeout_ms: expected an integer, got string`,
    `${f}:6:3: unknown key "lissen" (did you mean "listen"?)`,
  ]);
  fs.writeFileSync(f, '{"listen": ["http://127.0.0.1:0"],\n "log": {"level": "info"}\n');
  const j = await h.run('ucgw', ['-t', '-c', f]);
  assert.equal(j.code, 1);
  assert.match(j.stderr, new RegExp(`^${f}:3:1: .+`));
});

test('-o overrides keys and reports bad ones against the command line', async () => {
  const ok = await h.run('ucgw', ['-t', '-o', 'log.level=debug', '-o', 'limits.max_connections=5']);
  assert.equal(ok.code, 0, ok.stderr);
  const bad = await h.run('ucgw', ['-t', '-o', 'limits.max_connections=0', '-o', 'nope=1']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^command line: -o limits\.max_connections: 0 is out of range/m);
  assert.match(bad.stderr, /^command line: -o unknown key "nope"/m);
});

test('https listeners need a certificate that loads', async () => {
  const r = await h.run('ucgw', ['-t', '-o', 'listen=["https://127.0.0.1:0"]']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /https listeners need tls\.cert_file and tls\.key_file/);
  const r2 = await h.run('ucgw', ['-t', '-o', 'listen=["https://127.0.0.1:0"]',
    '-o', 'tls.cert_file=/nonexistent.pem', '-o', 'tls.key_file=/nonexistent.key']);
  assert.equal(r2.code, 1);
  assert.match(r2.stderr, /TLS certificate \/nonexistent\.pem/);
});

test('serves /healthz and /api/v2/diagnostics/version on ephemeral ports', async () => {
  const p = await h.start('ucgw', ['-o', 'listen=["http://127.0.0.1:0","http://127.0.0.1:0"]'], { listeners: 2 });
  try {
    assert.notEqual(p.portOf(0), p.portOf(1));
    for (const port of [p.portOf(0), p.portOf(1)]) {
      const hz = await h.request({ port, path: '/healthz' });
      assert.equal(hz.status, 200);
      assert.equal(hz.json.status, 'ok');
    }
    const v = await h.request({ port: p.port, path: '/api/v2/diagnostics/version' });
    assert.equal(v.status, 200);
    assert.equal(v.headers['content-type'], 'application/json');
    assert.equal(v.json.statusCode, 0);
    assert.match(v.json.version, /^\d+\.\d+\.\d+$/);
  } finally {
    assert.deepEqual(await p.stop(), { code: 0, signal: null });
  }
});

test('unknown resources and methods get GWS error bodies', async () => {
  const p = await h.start('ucgw', port0);
  try {
    const nf = await h.request({ port: p.port, path: '/api/v2/nothing' });
    assert.equal(nf.status, 404);
    assert.deepEqual(nf.json, { statusCode: 6, statusMessage: 'Resource not found' });
    const na = await h.request({ port: p.port, method: 'DELETE', path: '/healthz' });
    assert.equal(na.status, 405);
    assert.equal(na.headers.allow, 'GET, HEAD');
    assert.equal(na.json.statusCode, 2);
  } finally {
    assert.equal((await p.stop()).code, 0);
  }
});

test('HTTP limits: long headers 431, large bodies 413, garbage 400, each with a JSON body', async () => {
  const p = await h.start('ucgw', [...port0, '-o', 'limits.max_header_bytes=1024', '-o', 'limits.max_body_bytes=2048']);
  try {
    const big = await h.request({ port: p.port, path: '/healthz', headers: { 'X-Big': 'a'.repeat(2000) } });
    assert.equal(big.status, 431);
    assert.equal(big.json.statusCode, 10);
    const body = await h.request({ port: p.port, method: 'POST', path: '/healthz', body: 'x'.repeat(4096) });
    assert.equal(body.status, 413);
    assert.equal(body.json.statusCode, 10);
    const fits = await h.request({ port: p.port, method: 'POST', path: '/healthz', body: 'x'.repeat(2000) });
    assert.equal(fits.status, 405);
    const raw = await h.rawConnect(p.port);
    raw.write('GARBAGE\r\n\r\n');
    await raw.until(/^HTTP\/1\.1 400 /);
    await raw.waitClosed();
    assert.match(raw.data, /Connection: close\r\n/);
    assert.match(raw.data, /\{"statusCode":2,"statusMessage":"[^"]+"\}$/);
  } finally {
    assert.equal((await p.stop()).code, 0);
  }
});

test('keep-alive and pipelined requests are answered in order on one connection', async () => {
  const p = await h.start('ucgw', port0);
  try {
    const raw = await h.rawConnect(p.port);
    raw.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /api/v2/diagnostics/version HTTP/1.1\r\nHost: x\r\n\r\n' +
      'GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    await raw.waitClosed();
    const statuses = [...raw.data.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => m[1]);
    assert.deepEqual(statuses, ['200', '200', '404']);
    assert.ok(raw.data.indexOf('"status":"ok"') < raw.data.indexOf('"version"'));
  } finally {
    assert.equal((await p.stop()).code, 0);
  }
});

test('Expect: 100-continue gets an interim answer before the body is sent', async () => {
  const p = await h.start('ucgw', port0);
  try {
    const raw = await h.rawConnect(p.port);
    raw.write('POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n');
    await raw.until(/^HTTP\/1\.1 100 Continue\r\n\r\n$/);
    raw.write('hello');
    await raw.until(/HTTP\/1\.1 405 /);
    assert.equal(raw.data.match(/100 Continue/g).length, 1);
    raw.end();
  } finally {
    assert.equal((await p.stop()).code, 0);
  }
});

test('Expect: 100-continue on a kept-alive connection, after a reply written at once', async () => {
  const p = await h.start('ucgw', port0);
  try {
    const raw = await h.rawConnect(p.port);
    raw.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    await raw.until(/"status":"ok"/);
    raw.write('POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n');
    await raw.until(/HTTP\/1\.1 100 Continue\r\n\r\n$/);
    raw.write('hello');
    await raw.until(/HTTP\/1\.1 405 /);
    const statuses = [...raw.data.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => m[1]);
    assert.deepEqual(statuses, ['200', '100', '405']);
    raw.end();
  } finally {
    assert.equal((await p.stop()).code, 0);
  }
});

test('a request that never completes is answered 408 after the header timeout', async () => {
  const p = await h.start('ucgw', [...port0, '-o', 'limits.header_timeout_ms=200']);
  try {
    const raw = await h.rawConnect(p.port);
    raw.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
    await raw.until(/^HTTP\/1\.1 408 /);
    await raw.waitClosed();
  } finally {
    assert.equal((await p.stop()).code, 0);
  }
});

test('the connection limit refuses connections beyond it', async () => {
  const p = await h.start('ucgw', [...port0, '-o', 'limits.max_connections=2']);
  try {
    const a = await h.rawConnect(p.port);
    const b = await h.rawConnect(p.port);
    a.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    b.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    await a.until(/200 OK/);
    await b.until(/200 OK/);
    const c = await h.rawConnect(p.port);
    await c.waitClosed();
    assert.equal(c.data, '');
    await h.waitFor(() => /connection limit reached/.test(p.stderr));
    a.end();
    b.end();
  } finally {
    assert.equal((await p.stop()).code, 0);
  }
});

test('SIGHUP applies a good file and keeps the old configuration when the file is bad', async () => {
  const dir = h.tmpdir();
  const f = path.join(dir, 'ucgw.conf');
  fs.writeFileSync(f, '{"listen": ["http://127.0.0.1:0"], "limits": {"max_body_bytes": 8192}}\n');
  const p = await h.start('ucgw', ['-c', f]);
  const post = () => h.request({ port: p.port, method: 'POST', path: '/healthz', body: 'x'.repeat(4000) });
  try {
    assert.equal((await post()).status, 405);
    fs.writeFileSync(f, '{"listen": ["http://127.0.0.1:0"],\n "limits": {"max_body_bytes": "small"}}\n');
    p.signal_('SIGHUP');
    await h.waitFor(() => /reload refused/.test(p.stderr), 5000, 'the refusal to be logged');
    assert.match(p.stderr, new RegExp(`ERROR ucgw: ${f}:2:31: limits\\.max_body_bytes: expected an integer`));
    assert.equal((await post()).status, 405, 'old limits still serve');
    fs.writeFileSync(f, '{"listen": ["http://127.0.0.1:1"], "limits": {"max_body_bytes": 2048}}\n');
    p.signal_('SIGHUP');
    await h.waitFor(() => /reload done/.test(p.stderr), 5000, 'the reload');
    assert.equal((await post()).status, 413, 'new limits apply');
    assert.match(p.stderr, /listen can only change on restart/);
    assert.equal((await h.request({ port: p.port, path: '/healthz' })).status, 200, 'same listener serves');
  } finally {
    assert.equal((await p.stop()).code, 0);
  }
});

test('SIGTERM finishes a request in flight, then exits 0', async () => {
  const p = await h.start('ucgw', port0);
  const idle = await h.rawConnect(p.port);
  const busy = await h.rawConnect(p.port);
  busy.write('POST /api/v2/diagnostics/version HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n12345');
  await h.waitFor(() => true);
  await new Promise((r) => setTimeout(r, 50));
  p.signal_('SIGTERM');
  await idle.waitClosed();
  busy.write('67890');
  await busy.until(/^HTTP\/1\.1 405 [\s\S]*Connection: close/);
  await busy.waitClosed();
  assert.deepEqual(await p.exited, { code: 0, signal: null });
  assert.match(p.stderr, /SIGTERM: draining/);
});

test('SIGTERM drain is bounded by shutdown.drain_ms', async () => {
  const p = await h.start('ucgw', [...port0, '-o', 'shutdown.drain_ms=300', '-o', 'limits.header_timeout_ms=60000']);
  const stuck = await h.rawConnect(p.port);
  stuck.write('GET /healthz HTTP/1.1\r\n');
  // A complete request on a later connection is answered only after the
  // daemon accepted the earlier one (the listen queue is in order): the
  // drain below always finds the stuck connection, however loaded the machine.
  assert.equal((await h.request({ port: p.port, path: '/healthz' })).status, 200);
  await new Promise((r) => setTimeout(r, 50));
  const t0 = Date.now();
  p.signal_('SIGTERM');
  assert.deepEqual(await p.exited, { code: 0, signal: null });
  assert.ok(Date.now() - t0 >= 250, 'waited for the drain time');
  await stuck.waitClosed();
  assert.match(p.stderr, /drain time over: closing 1 connection/);
});

test('credentials never reach the log', async () => {
  const p = await h.start('ucgw', [...port0, '-o', 'log.level=debug']);
  try {
    const secret = 'hunter2-Zx9';
    await h.request({
      port: p.port, path: '/healthz',
      headers: { Authorization: 'Basic ' + Buffer.from('agent1:' + secret).toString('base64'), Cookie: `JSESSIONID=${secret}` },
    });
    await h.request({ port: p.port, path: `/api/v2/nothing`, headers: { 'X-CSRF-TOKEN': secret } });
  } finally {
    assert.equal((await p.stop()).code, 0);
  }
  assert.match(p.stderr, /conn \d+: GET \/healthz -> 200/);
  assert.doesNotMatch(p.stderr, /hunter2|aHVudGVy|YWdlbnQxOmh1bnRlcjI/);
});

test('https listener with a certificate from a throw-away CA', async () => {
  const dir = h.tmpdir();
  const pki = h.makeCA(dir);
  const p = await h.start('ucgw', ['-o', 'listen=["https://127.0.0.1:0"]', '-o', `tls.cert_file=${pki.cert}`, '-o', `tls.key_file=${pki.key}`]);
  try {
    const r = await h.request({ port: p.port, path: '/api/v2/diagnostics/version', tls: true, ca: fs.readFileSync(pki.ca), servername: 'localhost' });
    assert.equal(r.status, 200);
    assert.equal(r.json.statusCode, 0);
    await assert.rejects(h.request({ port: p.port, path: '/healthz', tls: true }), /self.signed|unable to verify|certificate/i);
  } finally {
    assert.equal((await p.stop()).code, 0);
  }
});
