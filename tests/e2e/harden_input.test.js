// harden_input.test.js: the smaller points of issue 14 (item 6). A NUL in a
// JSON string is refused, never cut; duplicate keys are refused with line and
// column; user data is strings or numbers within byte bounds; empty messages
// are refused; HTTP/1.1 needs exactly one Host and session URIs never come
// from it; a long text is split within text.max_parts or refused; chunked
// bodies need CRLF line ends.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');
const im = require('./lib/im');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// What bob received so far (texts).
async function received(env) {
  const r = await im.sim(env.sim.port, 'GET', '/remotes/agent3002@example.com/received');
  return r.json.received.filter((e) => e.type === 'message').map((e) => e.text);
}

test('NUL in strings and duplicate keys are refused with their position; nothing runs', async () => {
  const env = await im.setup(['agent1']);
  const d = env.desks.agent1;
  try {
    const s = await im.talk(d);
    const sp = `/me/im-sessions/${s.id}`;
    const cases = [
      ['{"operationName":"Complete\\u0000x"}', 2, /^Malformed JSON at line 1, column 18: \\u0000 \(NUL\) in a string is not accepted$/],
      ['{"operationName":"SendMessage","text":"a\\u0000b"}', 2, /column 39: \\u0000 \(NUL\) in a string/],
      ['{"operationName":"SendMessage",\n "text":"a",\n "text":"b"}', 2, /^Malformed JSON at line 3, column 2: duplicate key$/],
      ['{"operationName":"UpdateUserData","userData":{"k":"1","k":"2"}}', 2, /duplicate key/],
    ];
    for (const [body, code, re] of cases) {
      const r = await d.op(sp, body);
      assert.equal(r.status, 400, body);
      assert.equal(r.json.statusCode, code, body);
      assert.match(r.json.statusMessage, re, body);
    }
    await sleep(300);
    assert.deepEqual(await received(env), []);
    const one = await d.rest('GET', sp);
    assert.equal(one.json.imSession.state, 'Talking');
    assert.equal(one.json.imSession.userData, undefined);
  } finally {
    await im.teardown(env);
  }
});

test('user data: strings or numbers, keys and values and the session total bounded in bytes', async () => {
  const env = await im.setup(['agent1']);
  const d = env.desks.agent1;
  try {
    const bad = await d.op('/me/im-sessions', { operationName: 'InitiateIMSession',
      destination: { phoneNumber: '3002' }, userData: { vip: true } });
    assert.deepEqual(bad.json, { statusCode: 2, statusMessage: 'userData values must be strings or numbers' });
    const s = await im.talk(d);
    const sp = `/me/im-sessions/${s.id}`;
    const upd = (userData) => d.op(sp, { operationName: 'UpdateUserData', userData });
    assert.equal((await upd({ flag: false })).json.statusCode, 2);
    assert.deepEqual((await upd({ ['k'.repeat(257)]: 'v' })).json,
      { statusCode: 10, statusMessage: 'userData key longer than 256 bytes' });
    assert.deepEqual((await upd({ big: 'v'.repeat(16383) })).json,
      { statusCode: 10, statusMessage: 'userData value longer than 16384 bytes' });
    for (let i = 0; i < 4; i++) assert.equal((await upd({ [`k${i}`]: 'v'.repeat(16000) })).json.statusCode, 0);
    const over = await upd({ k4: 'v'.repeat(2000) });
    assert.deepEqual(over.json, { statusCode: 10, statusMessage: 'userData of the session would exceed 65536 bytes' });
    // Replacing a key counts its new size only.
    assert.equal((await upd({ k0: 'w'.repeat(16000), n: 7, x: 1.5 })).json.statusCode, 0);
    const one = await d.rest('GET', sp);
    assert.deepEqual(Object.keys(one.json.imSession.userData).sort(), ['k0', 'k1', 'k2', 'k3', 'n', 'x']);
    assert.equal(one.json.imSession.userData.n, 7);
  } finally {
    await im.teardown(env);
  }
});

test('empty messages are refused with statusCode 1; long texts are split within text.max_parts or refused', async () => {
  const env = await im.setup(['agent1']);
  const d = env.desks.agent1;
  try {
    const s = await im.talk(d);
    const sp = `/me/im-sessions/${s.id}`;
    for (const text of ['', ' ', '\r\n', ' \t \n ']) {
      const r = await d.op(sp, { operationName: 'SendMessage', text });
      assert.equal(r.status, 400, JSON.stringify(text));
      assert.deepEqual(r.json, { statusCode: 1, statusMessage: 'Missing parameter: text (empty)' });
    }
    const huge = await d.op(sp, { operationName: 'SendMessage', text: 'x'.repeat(1000000) });
    assert.equal(huge.status, 400);
    assert.equal(huge.json.statusCode, 10);
    assert.match(huge.json.statusMessage, /maximum parts/);
    await sleep(300);
    assert.deepEqual(await received(env), []);
    // 40000 characters: exactly 10 parts of 4000 (the default limits).
    const ok = await d.op(sp, { operationName: 'SendMessage', text: 'y'.repeat(40000) });
    assert.equal(ok.json.statusCode, 0);
    await h.waitFor(async () => (await received(env)).length === 10, 10000 * h.slow, '10 parts');
    const over = await d.op(sp, { operationName: 'SendMessage', text: 'z'.repeat(40001) });
    assert.equal(over.json.statusCode, 10);
  } finally {
    await im.teardown(env);
  }
});

test('HTTP/1.1 needs exactly one Host; session URIs come from gws.public_url or the listener, never Host', async () => {
  const env = await im.setup(['agent1'], { gwArgs: ['-o', 'gws.public_url=https://gw.example.com:8443/im/'] });
  const d = env.desks.agent1;
  try {
    const port = env.gw.port;
    for (const head of ['GET /healthz HTTP/1.1\r\n\r\n', 'GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n',
      'GET /healthz HTTP/1.0\r\nHost: a\r\nhost: a\r\n\r\n']) {
      const raw = await h.rawConnect(port);
      raw.write(head);
      await raw.until(/^HTTP\/1\.1 400 [^]*\r\n\r\n\{/);
      assert.match(raw.data, /(no|more than one) Host header/);
      raw.end();
    }
    const old = await h.rawConnect(port);
    old.write('GET /healthz HTTP/1.0\r\n\r\n');
    await old.until(/^HTTP\/1\.1 200 /);
    old.end();
    const s = await im.talk(d);
    assert.equal(s.uri, `https://gw.example.com:8443/im/api/v2/im-sessions/${s.id}`);
    const evil = await d.rest('GET', '/me/im-sessions', undefined, { Host: 'evil.example' });
    assert.deepEqual(evil.json.uris, [s.uri]);
    // The public origin counts as the gateway's own for the Origin check.
    const r = await d.op(`/me/im-sessions/${s.id}`, { operationName: 'UpdateUserData', userData: { a: '1' } });
    assert.equal(r.json.statusCode, 0);
    const o = await d.rest('POST', `/me/im-sessions/${s.id}`, { operationName: 'UpdateUserData', userData: { a: '2' } },
      { Origin: 'https://gw.example.com:8443' });
    assert.equal(o.json.statusCode, 0);
  } finally {
    await im.teardown(env);
  }
  // Unset: the listener's own address, whatever Host says.
  const env2 = await im.setup(['agent1']);
  try {
    const s = await im.talk(env2.desks.agent1);
    const evil = await env2.desks.agent1.rest('GET', '/me/im-sessions', undefined, { Host: 'evil.example' });
    assert.deepEqual(evil.json.uris, [`http://127.0.0.1:${env2.gw.port}/api/v2/im-sessions/${s.id}`]);
  } finally {
    await im.teardown(env2);
  }
});

test('a chunked body with a bare LF line end is refused', async () => {
  const gw = await h.start('ucgw', ['-o', 'listen=["http://127.0.0.1:0"]']);
  try {
    const raw = await h.rawConnect(gw.port);
    raw.write('POST /api/v2/me HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\nab\r\n0\r\n\r\n');
    await raw.until(/^HTTP\/1\.1 400 [^]*chunked body line not ended by CRLF/);
  } finally {
    assert.equal((await gw.stop()).code, 0);
  }
});
