// http2.test.js: the gateway speaks HTTP/2 too: prior knowledge on plain
// listeners (h2c), ALPN "h2" on TLS listeners; many streams on one
// connection; limits per stream; GOAWAY on drain.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const http2 = require('node:http2');
const h = require('./lib/harness');

// One request on a session; resolves {status, headers, body, json}.
function h2req(session, path, { method = 'GET', body } = {}) {
  return new Promise((resolve, reject) => {
    const s = session.request({ ':method': method, ':path': path });
    let data = '';
    let headers;
    s.on('response', (hd) => { headers = hd; });
    s.setEncoding('utf8');
    s.on('data', (d) => { data += d; });
    s.on('end', () => {
      let json;
      try { json = JSON.parse(data); } catch (_) { json = undefined; }
      resolve({ status: headers && headers[':status'], headers, body: data, json });
    });
    s.on('error', reject);
    if (body !== undefined) s.end(body); else s.end();
  });
}

test('h2c with prior knowledge: concurrent streams on one connection', async () => {
  const p = await h.start('ucgw', ['-o', 'listen=["http://127.0.0.1:0"]']);
  const session = http2.connect(`http://127.0.0.1:${p.port}`);
  try {
    const paths = [];
    for (let i = 0; i < 30; i++) paths.push(i % 3 === 2 ? '/api/v2/nothing' : i % 3 ? '/api/v2/diagnostics/version' : '/healthz');
    const rs = await Promise.all(paths.map((x) => h2req(session, x)));
    rs.forEach((r, i) => {
      if (paths[i] === '/api/v2/nothing') {
        assert.equal(r.status, 404);
        assert.equal(r.json.statusCode, 6);
      } else {
        assert.equal(r.status, 200);
        assert.equal(r.headers['content-type'], 'application/json');
      }
    });
    const na = await h2req(session, '/healthz', { method: 'DELETE' });
    assert.equal(na.status, 405);
    assert.equal(na.headers.allow, 'GET, HEAD');
  } finally {
    session.close();
    assert.equal((await p.stop()).code, 0);
  }
});

test('h2 by ALPN on a TLS listener', async () => {
  const pki = h.makeCA(h.tmpdir());
  const p = await h.start('ucgw', ['-o', 'listen=["https://127.0.0.1:0"]', '-o', `tls.cert_file=${pki.cert}`, '-o', `tls.key_file=${pki.key}`]);
  const session = http2.connect(`https://localhost:${p.port}`, { ca: fs.readFileSync(pki.ca) });
  try {
    const r = await h2req(session, '/api/v2/diagnostics/version');
    assert.equal(session.alpnProtocol, 'h2');
    assert.equal(r.status, 200);
    assert.equal(r.json.statusCode, 0);
    const v1 = await h.request({ port: p.port, path: '/healthz', tls: true, ca: fs.readFileSync(pki.ca), servername: 'localhost' });
    assert.equal(v1.status, 200, 'HTTP/1.1 clients still work on the same listener');
  } finally {
    session.close();
    assert.equal((await p.stop()).code, 0);
  }
});

test('a stream whose body is over the limit is refused, the connection lives on', async () => {
  const p = await h.start('ucgw', ['-o', 'listen=["http://127.0.0.1:0"]', '-o', 'limits.max_body_bytes=2048']);
  const session = http2.connect(`http://127.0.0.1:${p.port}`);
  try {
    await assert.rejects(h2req(session, '/healthz', { method: 'POST', body: 'x'.repeat(10000) }), /REFUSED_STREAM|NGHTTP2/);
    const ok = await h2req(session, '/healthz');
    assert.equal(ok.status, 200);
  } finally {
    session.close();
    assert.equal((await p.stop()).code, 0);
  }
});

test('SIGTERM sends GOAWAY to HTTP/2 clients and exits 0', async () => {
  const p = await h.start('ucgw', ['-o', 'listen=["http://127.0.0.1:0"]']);
  const session = http2.connect(`http://127.0.0.1:${p.port}`);
  const goaway = new Promise((resolve) => session.on('goaway', resolve));
  session.on('error', () => {});
  assert.equal((await h2req(session, '/healthz')).status, 200);
  p.signal_('SIGTERM');
  await goaway;
  assert.deepEqual(await p.exited, { code: 0, signal: null });
  session.destroy();
});
