// TLS certificate rotation on SIGHUP (issue 16): new connections get the new
// certificate, an open connection and the CometD connect parked on it keep
// theirs, and a bad pair keeps the running certificate with the reason logged.
// The configuration names its certificate with relative paths, which resolve
// against the configuration file's folder (not ucgw's working directory).
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const https = require('node:https');
const path = require('node:path');
const h = require('./lib/harness');
const cm = require('./lib/cometd');

// One HTTPS request on agent; resolves {status, json, fingerprint, socket}.
function req(port, agent, ca, { method = 'GET', path: p = '/healthz', body } = {}) {
  return new Promise((resolve, reject) => {
    const headers = { Authorization: cm.basic('agent1') };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const r = https.request({ host: '127.0.0.1', port, method, path: p, agent, ca, headers,
      servername: 'localhost', timeout: 20000 * h.slow }, (res) => {
      const chunks = [];
      const socket = res.socket;
      const fingerprint = socket.getPeerCertificate().fingerprint256;
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json;
        try { json = JSON.parse(text); } catch (_) { json = undefined; }
        resolve({ status: res.statusCode, body: text, json, fingerprint, socket });
      });
    });
    r.on('timeout', () => r.destroy(new Error('request timed out')));
    r.on('error', reject);
    if (body !== undefined) r.write(JSON.stringify(body));
    r.end();
  });
}

function fingerprintOf(pemFile) {
  return new (require('node:crypto').X509Certificate)(fs.readFileSync(pemFile)).fingerprint256;
}

test('SIGHUP rotates the certificate for new connections; open ones and parked connects keep theirs', async () => {
  const dir = h.tmpdir();
  fs.mkdirSync(path.join(dir, 'a'));
  fs.mkdirSync(path.join(dir, 'b'));
  const A = h.makeCA(path.join(dir, 'a'), ['localhost', '127.0.0.1'], { cn: 'CA one' });
  const B = h.makeCA(path.join(dir, 'b'), ['localhost', '127.0.0.1'], { cn: 'CA two' });
  const ca = [fs.readFileSync(A.ca), fs.readFileSync(B.ca)];
  const install = (cert, key) => {
    fs.copyFileSync(cert, path.join(dir, 'cert.pem'));
    fs.copyFileSync(key, path.join(dir, 'key.pem'));
  };
  install(A.cert, A.key);
  fs.writeFileSync(path.join(dir, 'ucgw.conf'), cm.gatewayConfig({
    listen: ['https://127.0.0.1:0'], tls: { cert_file: 'cert.pem', key_file: 'key.pem' },
    admin: { listen: ['http://127.0.0.1:0'] }, cometd: { timeout_ms: 60000 } }));
  const gw = await h.start('ucgw', ['-c', path.join(dir, 'ucgw.conf')], { listeners: 2 });
  const parkedNow = async () => /^ucgw_cometd_parked_connects 1$/m.test(
    (await h.request({ port: gw.portOf(1), path: '/metrics' })).body);
  const old = new https.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    // A CometD client on connection 1 (certificate A), its connect parked.
    const bayeux = (msgs) => req(gw.port, old, ca, { method: 'POST', path: '/api/v2/notifications', body: msgs });
    const hs = await bayeux([{ id: '1', channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['long-polling'] }]);
    assert.equal(hs.fingerprint, fingerprintOf(A.cert));
    const clientId = hs.json[0].clientId;
    const first = hs.socket;
    await bayeux([{ id: '2', channel: '/meta/subscribe', subscription: '/v2/me/*', clientId }]);
    await bayeux([{ id: '3', channel: '/meta/connect', connectionType: 'long-polling', clientId, advice: { timeout: 0 } }]);
    const parked = bayeux([{ id: '4', channel: '/meta/connect', connectionType: 'long-polling', clientId }]);
    await h.waitFor(parkedNow, 5000 * h.slow, 'the connect to be parked');

    // Rotate to B.
    install(B.cert, B.key);
    gw.signal_('SIGHUP');
    await h.waitFor(() => /reload done/.test(gw.stderr), 5000 * h.slow, 'reload done');
    assert.match(gw.stderr, /TLS: new connections get the certificate of \/\S+\/cert\.pem/);
    const fresh = await req(gw.port, false, ca);
    assert.equal(fresh.status, 200);
    assert.equal(fresh.fingerprint, fingerprintOf(B.cert), 'a new connection gets the new certificate');

    // The parked connect on the old connection is answered there, with the message.
    const pub = await req(gw.port, false, ca, { method: 'POST', path: '/api/v2/diagnostics/publish',
      body: { messages: [{ channel: '/v2/me/im-sessions', data: { n: 42 } }] } });
    assert.equal(pub.status, 200, pub.body);
    const answered = await parked;
    assert.equal(answered.status, 200);
    assert.ok(answered.json.some((m) => m.channel === '/v2/me/im-sessions' && m.data.n === 42), answered.body);
    assert.equal(answered.socket, first, 'same connection');
    assert.equal(answered.fingerprint, fingerprintOf(A.cert), 'the open connection keeps its certificate');
    const again = await req(gw.port, old, ca);
    assert.equal(again.status, 200);
    assert.equal(again.socket, first);

    // A pair that does not match: the reload is refused, B stays.
    fs.copyFileSync(A.cert, path.join(dir, 'cert.pem'));
    gw.signal_('SIGHUP');
    await h.waitFor(() => /reload refused/.test(gw.stderr), 5000 * h.slow, 'reload refused');
    assert.match(gw.stderr, /TLS certificate \S+cert\.pem \/ key \S+key\.pem: .*(mismatch|key values)/i);
    const still = await req(gw.port, false, ca);
    assert.equal(still.fingerprint, fingerprintOf(B.cert), 'a bad pair keeps the running certificate');
  } finally {
    old.destroy();
    await cm.stopClean(gw);
  }
});

test('relative paths resolve against the configuration file, -o paths against the working directory', async () => {
  const dir = h.tmpdir();
  fs.mkdirSync(path.join(dir, 'etc'));
  fs.copyFileSync(path.join(h.srcdir, 'conf', 'translate.json'), path.join(dir, 'etc', 'rules.json'));
  fs.writeFileSync(path.join(dir, 'etc', 'ucgw.conf'), '{ "translate": { "file": "rules.json" } }');
  const ok = await h.run('ucgw', ['-t', '-c', path.join(dir, 'etc', 'ucgw.conf')], { cwd: '/' });
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(ok.stdout, 'configuration OK\n');
  // The same relative name on the command line is taken from the working directory.
  const wd = await h.run('ucgw', ['-t', '-o', 'translate.file=rules.json'], { cwd: path.join(dir, 'etc') });
  assert.equal(wd.code, 0, wd.stderr);
  const missing = await h.run('ucgw', ['-t', '-o', 'translate.file=rules.json'], { cwd: dir });
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /rules\.json/);
  // And a file elsewhere: the error names the resolved path.
  fs.writeFileSync(path.join(dir, 'etc', 'bad.conf'), '{ "translate": { "file": "nope.json" } }');
  const bad = await h.run('ucgw', ['-t', '-c', path.join(dir, 'etc', 'bad.conf')], { cwd: '/' });
  assert.equal(bad.code, 1);
  assert.ok(bad.stderr.includes(path.join(dir, 'etc', 'nope.json')), bad.stderr);
});

test('without -c the default configuration file is named by -h and used only when it exists', async () => {
  const r = await h.run('ucgw', ['-h']);
  assert.equal(r.code, 0);
  const m = /default: (\/\S+\/ucgw\/ucgw\.conf) if it exists, else built-in defaults/.exec(r.stdout);
  assert.ok(m, r.stdout);
  assert.match(r.stdout, /ucgw xlate/);
  assert.match(r.stdout, /--print-keys/);
  if (!fs.existsSync(m[1])) {
    const t = await h.run('ucgw', ['-t', '-o', 'log.level=info']);
    assert.equal(t.code, 0);
    assert.match(t.stderr, /checked \(defaults\)/);
  }
  const x = await h.run('ucgw', ['xlate', '--help']);
  assert.equal(x.code, 0, x.stderr);
  assert.match(x.stdout, /usage: ucgw xlate/);
});

test('X-Forwarded-For and -Proto are believed from proxy.trusted only', async () => {
  const dir = h.tmpdir();
  const gw = await cm.startGateway({ proxy: { trusted: ['10.0.0.0/8', '127.0.0.1'] }, log: { level: 'info', access: true } }, [], dir);
  const me = () => h.request({ port: gw.port, path: '/api/v2/me',
    headers: { Authorization: cm.basic('agent1'), 'X-Forwarded-For': '198.51.100.9, 203.0.113.7, 10.1.2.3', 'X-Forwarded-Proto': 'https' } });
  try {
    const r = await me();
    assert.equal(r.status, 200);
    assert.match(r.headers['set-cookie'][0], /^JSESSIONID=\w+; Path=\/; HttpOnly; SameSite=Lax; Secure$/);
    assert.match(r.json.user.uri || JSON.stringify(r.json), /https:\/\//);
    await h.waitFor(() => /access: 203\.0\.113\.7 GET \/api\/v2\/me -> 200 \d+ bytes [\d.]+ ms agent agent1/.test(gw.stderr),
      5000 * h.slow, () => `access line with the forwarded client in:\n${gw.stderr}`);
    // The same request from a peer that is not trusted: the headers are ignored.
    fs.writeFileSync(path.join(dir, 'ucgw.conf'), cm.gatewayConfig({ proxy: { trusted: ['10.0.0.0/8'] }, log: { level: 'info', access: true } }));
    gw.signal_('SIGHUP');
    await h.waitFor(() => /reload done/.test(gw.stderr), 5000 * h.slow, 'reload done');
    const plain = await me();
    assert.equal(plain.status, 200);
    assert.doesNotMatch(plain.headers['set-cookie'][0], /Secure/);
    await h.waitFor(() => /access: 127\.0\.0\.1:\d+ GET \/api\/v2\/me -> 200/.test(gw.stderr), 5000 * h.slow,
      () => `access line with the peer in:\n${gw.stderr}`);
  } finally {
    await cm.stopClean(gw);
  }
  // The text log, access lines included, holds no credential.
  const cookie = /JSESSIONID=(\w+)/.exec(gw.stderr);
  assert.equal(cookie, null, 'no session cookie in the log');
  for (const secret of [cm.AGENTS.agent1, cm.basic('agent1').slice(6), 'Authorization', 'X-CSRF-TOKEN']) {
    assert.equal(gw.stderr.includes(secret), false, `"${secret}" appears in the log`);
  }
});
