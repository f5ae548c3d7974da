// harden_csrf.test.js: cross-site request forgery (issue 14, item 5). REST
// and Bayeux POSTs must declare application/json (forms and text/plain go
// cross-site without a preflight): 415 otherwise; a foreign Origin on a
// state-changing request gets 403; the session cookie is SameSite=Lax
// (configurable) and Secure over TLS; the shipped configuration enforces
// the CSRF token.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const h = require('./lib/harness');
const cd = require('./lib/cometd');

const HS = { channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['long-polling'] };

// POST /api/v2/me {operationName} as agent1 with extra headers.
function op(port, name, headers = {}, { tls, ca } = {}) {
  return h.request({ port, method: 'POST', path: '/api/v2/me', tls, ca,
    headers: { Authorization: cd.basic('agent1'), ...headers }, body: JSON.stringify({ operationName: name }) });
}

// The agent's state as GET /me reports it.
async function state(port) {
  const r = await h.request({ port, path: '/api/v2/me?subresources=*', headers: { Authorization: cd.basic('agent1') } });
  return JSON.stringify(r.json.user.devices);
}

test('POSTs that are not application/json get 415 and change nothing', async () => {
  const gw = await cd.startGateway();
  try {
    assert.equal((await op(gw.port, 'StartContactCenterSession', { 'Content-Type': 'application/json' })).status, 200);
    const before = await state(gw.port);
    for (const ct of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x',
      'application/jsonx', 'text/plain; a=application/json', undefined]) {
      const r = await op(gw.port, 'Ready', ct === undefined ? {} : { 'Content-Type': ct });
      assert.equal(r.status, 415, String(ct));
      assert.deepEqual(r.json, { statusCode: 2, statusMessage: 'Content-Type must be application/json' });
    }
    const bay = await h.request({ port: gw.port, method: 'POST', path: '/api/v2/notifications',
      headers: { Authorization: cd.basic('agent1'), 'Content-Type': 'text/plain' }, body: JSON.stringify([HS]) });
    assert.equal(bay.status, 415);
    assert.equal(await state(gw.port), before, 'nothing changed');
    for (const ct of ['application/json', 'Application/JSON;charset=UTF-8', 'application/json; charset=utf-8']) {
      assert.equal((await op(gw.port, 'Ready', { 'Content-Type': ct })).status, 200, ct);
    }
    assert.notEqual(await state(gw.port), before);
  } finally {
    await cd.stopClean(gw);
  }
});

test('a foreign Origin on a state-changing request gets 403; our own and allowed ones pass', async () => {
  const gw = await cd.startGateway({}, ['-o', 'auth.cors_origins=["https://desk.example"]']);
  const json = { 'Content-Type': 'application/json' };
  try {
    assert.equal((await op(gw.port, 'StartContactCenterSession', json)).status, 200);
    const before = await state(gw.port);
    for (const origin of ['https://evil.example', 'null', `http://127.0.0.1:${gw.port}.evil.example`,
      `https://127.0.0.1:${gw.port}`]) {
      const r = await op(gw.port, 'Ready', { ...json, Origin: origin });
      assert.equal(r.status, 403, origin);
      assert.deepEqual(r.json, { statusCode: 3, statusMessage: 'Origin not allowed' });
    }
    const bay = await cd.bayeux(gw.port, [HS], { headers: { Origin: 'https://evil.example' } });
    assert.equal(bay.status, 403);
    assert.equal(await state(gw.port), before, 'nothing changed');
    // Reading is not state-changing: CORS decides what the page may see.
    const get = await h.request({ port: gw.port, path: '/api/v2/me', headers: { Authorization: cd.basic('agent1'), Origin: 'https://evil.example' } });
    assert.equal(get.status, 200);
    assert.equal(get.headers['access-control-allow-origin'], undefined);
    assert.equal((await op(gw.port, 'Ready', { ...json, Origin: `http://127.0.0.1:${gw.port}` })).status, 200);
    assert.equal((await op(gw.port, 'NotReady', { ...json, Origin: 'https://desk.example' })).status, 200);
    assert.equal((await cd.bayeux(gw.port, [HS], { headers: { Origin: 'https://desk.example' } })).json[0].successful, true);
  } finally {
    await cd.stopClean(gw);
  }
});

test('the session cookie is HttpOnly, SameSite=Lax by default (configurable), Secure over TLS', async () => {
  const gw = await cd.startGateway();
  try {
    const r = await h.request({ port: gw.port, path: '/api/v2/me', headers: { Authorization: cd.basic('agent1') } });
    assert.match(r.headers['set-cookie'][0], /^JSESSIONID=\w{32}; Path=\/; HttpOnly; SameSite=Lax$/);
  } finally {
    await cd.stopClean(gw);
  }
  const dir = h.tmpdir();
  const pki = h.makeCA(dir);
  const tls = await cd.startGateway({ listen: ['https://127.0.0.1:0'], tls: { cert_file: pki.cert, key_file: pki.key } },
    ['-o', 'auth.cookie_samesite=strict']);
  try {
    const r = await h.request({ port: tls.port, path: '/api/v2/me', tls: true, ca: fs.readFileSync(pki.ca),
      headers: { Authorization: cd.basic('agent1') } });
    assert.match(r.headers['set-cookie'][0], /^JSESSIONID=\w{32}; Path=\/; HttpOnly; SameSite=Strict; Secure$/);
  } finally {
    await cd.stopClean(tls);
  }
});

test('the shipped configuration enforces the CSRF token; the official CometD client still works', async () => {
  const shipped = path.join(h.srcdir, 'conf', 'ucgw.conf');
  const conf = cd.gatewayConfig();
  const gw = await h.start('ucgw', ['-c', shipped, '-o', 'listen=["http://127.0.0.1:0"]', '-o', 'auth.verifier=static',
    '-o', `auth.users=${JSON.stringify(JSON.parse(conf).auth.users)}`]);
  try {
    const json = { 'Content-Type': 'application/json' };
    const basicOnly = await op(gw.port, 'StartContactCenterSession', json);
    assert.equal(basicOnly.status, 403);
    assert.deepEqual(basicOnly.json, { statusCode: 3, statusMessage: 'Missing or invalid Csrf token' });
    const me = await h.request({ port: gw.port, path: '/api/v2/me', headers: { Authorization: cd.basic('agent1') } });
    const cookie = me.headers['set-cookie'][0].split(';')[0];
    const good = await h.request({ port: gw.port, method: 'POST', path: '/api/v2/me',
      headers: { Cookie: cookie, 'X-CSRF-TOKEN': me.headers['x-csrf-token'], ...json },
      body: JSON.stringify({ operationName: 'StartContactCenterSession' }) });
    assert.equal(good.status, 200);
    // The official client posts application/json (with the session cookie here).
    const c = await cd.newClient(gw.port, 'agent1', { cookie });
    await cd.handshake(c);
    await cd.subscribe(c, '/v2/me/**');
    await cd.connected(c);
    await cd.disconnect(c);
  } finally {
    await cd.stopClean(gw);
  }
});
