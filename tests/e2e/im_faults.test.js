// im_faults.test.js: the IM API when things go wrong: bad input of every
// kind gets a precise error and changes nothing; Skype for Business lost
// (application killed upstream, server down and back) ends or refuses
// sessions with the documented errors and recovers.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');
const im = require('./lib/im');
const cm = require('./lib/cometd');

test('bad input: each gets the right error and leaves the session as it was', async () => {
  const env = await im.setup(['agent1'], { gwArgs: ['-o', 'limits.max_body_bytes=4096', '-o', 'limits.max_header_bytes=2048'] });
  const d = env.desks.agent1;
  try {
    const s = await im.talk(d, im.REMOTES.bob, { keep: 'me' });
    const sp = `/me/im-sessions/${s.id}`;
    const before = d.im().length;
    const cases = [
      ['malformed JSON', 'POST', sp, '{"operationName":', 400, 2, /Malformed JSON at line 1, column \d+/],
      ['body not an object', 'POST', sp, '[1,2]', 400, 2, /JSON object/],
      ['operationName missing', 'POST', sp, { text: 'x' }, 400, 1, /operationName/],
      ['operationName not a string', 'POST', sp, { operationName: 7 }, 400, 2, /operationName/],
      ['unknown operationName', 'POST', sp, { operationName: 'Transfer' }, 400, 2, /Unknown operationName/],
      ['SendMessage without text', 'POST', sp, { operationName: 'SendMessage' }, 400, 1, /text/],
      ['SendMessage text not a string', 'POST', sp, { operationName: 'SendMessage', text: 5 }, 400, 2, /text/],
      ['SendMessage destination not an object', 'POST', sp, { operationName: 'SendMessage', text: 'x', destination: '3002' }, 400, 2, /destination/],
      ['AttachUserData without userData', 'POST', sp, { operationName: 'AttachUserData' }, 400, 1, /userData/],
      ['AttachUserData nested value', 'POST', sp, { operationName: 'AttachUserData', userData: { a: { b: 1 } } }, 400, 2, /userData/],
      ['UpdateUserData not an object', 'POST', sp, { operationName: 'UpdateUserData', userData: ['x'] }, 400, 2, /userData/],
      ['DeleteUserData without key', 'POST', sp, { operationName: 'DeleteUserData' }, 400, 1, /key/],
      ['DeleteUserData keys not strings', 'POST', sp, { operationName: 'DeleteUserData', keys: [1] }, 400, 2, /keys/],
      ['second InitiateIMSession', 'POST', '/me/im-sessions', { operationName: 'InitiateIMSession', destination: { phoneNumber: '3003' } }, 400, 2, /Invalid state/],
      ['Initiate without destination', 'POST', '/me/im-sessions', { operationName: 'InitiateIMSession' }, 400, 1, /destination/],
      ['Initiate phoneNumber not a string', 'POST', '/me/im-sessions', { operationName: 'InitiateIMSession', destination: { phoneNumber: 3002 } }, 400, 2, /phoneNumber/],
      ['unknown session', 'POST', '/me/im-sessions/NOSUCHSESSION00000000000000000000', { operationName: 'Complete' }, 404, 6, /not found/],
      ['GET unknown session', 'GET', '/me/im-sessions/NOSUCHSESSION00000000000000000000', undefined, 404, 6, /not found/],
      ['body over the limit', 'POST', sp, { operationName: 'SendMessage', text: 'x'.repeat(8000) }, 413, 10, /.+/],
      ['unknown resource', 'GET', '/me/calls', undefined, 404, 6, /not found/],
    ];
    for (const [name, method, path, body, status, code, msg] of cases) {
      const r = await d.rest(method, path, body);
      assert.equal(r.status, status, `${name}: HTTP status (${r.body})`);
      assert.equal(r.headers['content-type'], 'application/json', `${name}: content type`);
      assert.deepEqual(Object.keys(r.json).sort(), ['statusCode', 'statusMessage'], name);
      assert.equal(r.json.statusCode, code, `${name}: statusCode`);
      assert.match(r.json.statusMessage, msg, name);
    }
    const big = await h.request({ port: env.gw.port, path: '/api/v2/me', headers: { Authorization: cm.basic('agent1'), 'X-Big': 'a'.repeat(4000) } });
    assert.equal(big.status, 431);
    assert.equal(big.json.statusCode, 10);
    const one = await d.rest('GET', sp);
    assert.equal(one.json.imSession.state, 'Talking');
    assert.deepEqual(one.json.imSession.userData, { keep: 'me' });
    await new Promise((res) => setTimeout(res, 200));
    assert.equal(d.im().length, before, 'no notification for refused operations');
    const ok = await d.op(sp, { operationName: 'SendMessage', text: 'still fine' });
    assert.deepEqual(ok.json, { statusCode: 0 });
  } finally {
    assert.deepEqual(await im.teardown(env), { gw: 0, sim: 0 });
  }
});

test('authentication: no or wrong credentials get 401 with statusCode 20', async () => {
  const s = await im.startSim();
  const g = await im.startGateway(s.port);
  try {
    const none = await h.request({ port: g.port, path: '/api/v2/me' });
    assert.equal(none.status, 401);
    assert.deepEqual(none.json, { statusCode: 20, statusMessage: 'Access denied' });
    const wrong = await h.request({ port: g.port, path: '/api/v2/me', headers: { Authorization: cm.basic('agent1', 'not-the-password') } });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.json.statusCode, 20);
    const good = await h.request({ port: g.port, path: '/api/v2/me', headers: { Authorization: cm.basic('agent1') } });
    assert.equal(good.status, 200);
    const cookie = good.headers['set-cookie'].find((c) => c.startsWith('JSESSIONID='));
    assert.ok(cookie, 'a session cookie is issued');
    const again = await h.request({ port: g.port, path: '/api/v2/me', headers: { Authorization: cm.basic('agent1', 'wrong-now') } });
    assert.equal(again.status, 401, 'a signed-in agent is not reachable with another password');
    const byCookie = await h.request({ port: g.port, path: '/api/v2/me/im-sessions', headers: { Cookie: cookie.split(';')[0] } });
    assert.equal(byCookie.status, 200);
    assert.equal(byCookie.json.statusCode, 0);
  } finally {
    assert.equal((await g.stop()).code, 0);
    assert.equal((await s.stop()).code, 0);
  }
  assert.doesNotMatch(g.stderr, /pw-one|not-the-password|wrong-now/, 'no password in the log');
});

test('application lost upstream: the session ends with Completed, new sessions work after recreation', async () => {
  const env = await im.setup(['agent1']);
  const d = env.desks.agent1;
  try {
    const s = await im.talk(d);
    const from = d.im().length;
    assert.equal((await im.sim(env.sim.port, 'POST', '/users/agent1/kill-applications')).status, 200);
    const done = await d.state('Completed', from);
    assert.equal(done.id, s.id);
    const next = await h.waitFor(async () => {
      const r = await d.op('/me/im-sessions', { operationName: 'InitiateIMSession', destination: { phoneNumber: '3003' } });
      return r.json.statusCode === 0 ? r : (r.status === 503 && r.json.statusCode === 4 ? null : assert.fail(r.body));
    }, 15000 * h.slow, 'a new session after the application was recreated');
    assert.deepEqual(next.json, { statusCode: 0 });
    const t = await d.state('Talking', from);
    assert.notEqual(t.id, s.id);
  } finally {
    await im.teardown(env);
  }
});

test('Skype for Business down: statusCode 4 with HTTP 503, and recovery when it returns', async () => {
  let sim = await im.startSim();
  const port = sim.port;
  const g = await im.startGateway(port);
  const env = { gw: g, desks: {} };
  try {
    const d = await im.desktop(g.port, 'agent1');
    env.desks.agent1 = d;
    assert.equal((await sim.stop()).code, 0);
    const r = await d.op('/me/im-sessions', { operationName: 'InitiateIMSession', destination: { phoneNumber: '3002' } });
    assert.equal(r.status, 503);
    assert.equal(r.json.statusCode, 4);
    assert.match(r.json.statusMessage, /not available/);
    const fresh = await h.request({ port: g.port, path: '/api/v2/me', headers: { Authorization: cm.basic('agent2') } });
    assert.equal(fresh.status, 503, 'a new agent cannot be checked while UCWA is down');
    assert.equal(fresh.json.statusCode, 4);
    assert.deepEqual((await d.rest('GET', '/me/im-sessions')).json.uris, [], 'nothing was left behind');
    sim = await im.startSim([], { port });
    env.sim = sim;
    const back = await h.waitFor(async () => {
      const x = await d.op('/me/im-sessions', { operationName: 'InitiateIMSession', destination: { phoneNumber: '3002' } });
      return x.json.statusCode === 0 ? x : null;
    }, 20000 * h.slow, 'the gateway to reach Skype for Business again');
    assert.deepEqual(back.json, { statusCode: 0 });
    await d.state('Talking');
    const two = await im.desktop(g.port, 'agent2');
    env.desks.agent2 = two;
    assert.equal(two.me.userName, 'agent2');
  } finally {
    await im.teardown(env);
  }
});

test('a silent remote: the session stays Initiating (SendMessage refused), then Completed with the reason', async () => {
  const remotes = [{ uri: im.REMOTES.bob.uri, name: 'Bob', answer: 'silent' }];
  const env = await im.setup(['agent1'], { remotes, simArgs: ['-o', 'conversations.invitation_timeout_ms=1500'] });
  const d = env.desks.agent1;
  try {
    const r = await d.op('/me/im-sessions', { operationName: 'InitiateIMSession', destination: { phoneNumber: '3002' } });
    assert.deepEqual(r.json, { statusCode: 0 });
    const s = await d.state('Initiating');
    assert.deepEqual(s.capabilities, ['Complete']);
    const send = await d.op(`/me/im-sessions/${s.id}`, { operationName: 'SendMessage', text: 'too early' });
    assert.equal(send.status, 400);
    assert.equal(send.json.statusCode, 2);
    const done = await d.next((n) => n.imSession && n.imSession.state === 'Completed');
    assert.equal(done.imSession.id, s.id);
    assert.ok(done.reason && done.reason.length > 0, `the upstream reason is given (${JSON.stringify(done)})`);
  } finally {
    await im.teardown(env);
  }
});

test('a declined invitation ends the session with Completed and the reason', async () => {
  const remotes = [{ uri: im.REMOTES.bob.uri, name: 'Bob', answer: 'decline', accept_ms: 20 }];
  const env = await im.setup(['agent1'], { remotes });
  const d = env.desks.agent1;
  try {
    const r = await d.op('/me/im-sessions', { operationName: 'InitiateIMSession', destination: { phoneNumber: '3002' } });
    assert.deepEqual(r.json, { statusCode: 0 });
    const done = await d.next((n) => n.imSession && n.imSession.state === 'Completed');
    assert.match(done.reason, /declined/i);
    assert.deepEqual((await d.rest('GET', '/me/im-sessions')).json.uris, []);
  } finally {
    await im.teardown(env);
  }
});

test('a message the remote does not receive is notified as not delivered, never as delivered', async () => {
  const remotes = [{ uri: im.REMOTES.bob.uri, name: 'Bob', accept_ms: 20, fail: true }];
  const env = await im.setup(['agent1'], { remotes });
  const d = env.desks.agent1;
  try {
    const s = await im.talk(d);
    const from = d.im().length;
    const r = await d.op(`/me/im-sessions/${s.id}`, { operationName: 'SendMessage', text: 'lost words' });
    assert.deepEqual(r.json, { statusCode: 0 });
    const n = await d.next((x) => x.messageType === 'IMLogUpdateMessage', from);
    assert.notEqual(n.message, 'lost words');
    assert.match(n.message, /not delivered/);
    assert.match(n.message, /lost words/);
  } finally {
    await im.teardown(env);
  }
});

test('Complete while the invitation is still connecting leaves nothing connected upstream', async () => {
  const remotes = [{ uri: im.REMOTES.bob.uri, name: 'Bob', accept_ms: 150 }];
  const env = await im.setup(['agent1'], { remotes, simArgs: ['-o', 'limits.conversations_per_app=5'] });
  const d = env.desks.agent1;
  try {
    // Aggregation (UCWA may send only "completed"): until the remote accepts,
    // the gateway has not even seen the conversation's link.
    assert.equal((await im.sim(env.sim.port, 'POST', '/users/agent1/faults', { fault: 'aggregation' })).status, 200);
    const conversations = async () => (await im.sim(env.sim.port, 'GET', '/state')).json.applications
      .filter((a) => a.user === 'sip:agent5001@example.com').flatMap((a) => a.conversations);
    for (let i = 0; i < 8; i++) {
      const from = d.im().length;
      const r = await d.op('/me/im-sessions', { operationName: 'InitiateIMSession', destination: { phoneNumber: '3002' } });
      assert.deepEqual(r.json, { statusCode: 0 }, `cycle ${i}: ${r.body}`);
      // As a fast desktop (or wrk) does: the id from the list, Complete at once.
      const s = (await d.rest('GET', '/me/im-sessions?fields=*')).json.imSessions[0];
      const c = await d.op(`/me/im-sessions/${s.id}`, { operationName: 'Complete' });
      assert.deepEqual(c.json, { statusCode: 0 }, `cycle ${i}: ${c.body}`);
      await d.next((n) => n.imSession && n.imSession.id === s.id && n.imSession.state === 'Completed', from);
      // The remote accepts only now, after the desktop completed.
      await h.waitFor(async () => !(await conversations()).some((x) => /Connecting/.test(x.state)), 5000 * h.slow,
        'the remote to answer');
    }
    const live = async () => (await im.sim(env.sim.port, 'GET', '/state')).json.applications
      .filter((a) => a.user === 'sip:agent5001@example.com')
      .flatMap((a) => a.conversations).filter((c) => !/Disconnected|Failed|Canceled/.test(c.state));
    await h.waitFor(async () => (await live()).length === 0, 10000 * h.slow,
      async () => `conversations still live upstream: ${JSON.stringify(await live())}`);
    const t = await im.talk(d);
    assert.ok(t.id, 'a conversation still starts after the cycles (no TooManyConversations)');
  } finally {
    await im.teardown(env);
  }
});
