// im_conversation.test.js: whole IM conversations through the gateway, as
// a GWS desktop holds them (login sequence, CometD notifications with the
// official client, IM operations), against ucwa-sim standing in for Skype
// for Business: outgoing and incoming, bursts both ways, Complete, remote
// leave, user data, and notifications shaped like the published samples.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const h = require('./lib/harness');
const im = require('./lib/im');

const sample = (f) => JSON.parse(fs.readFileSync(path.join(h.srcdir, 'proto', 'gws-samples', f), 'utf8'));

// Same keys (recursively) and same value types as the published sample.
// userData is free-form and left out when empty, so only its type is checked.
function sameShape(actual, expected, where = 'data') {
  if (expected !== null && typeof expected === 'object' && !Array.isArray(expected) &&
      ('userData' in expected || (actual && typeof actual === 'object' && 'userData' in actual))) {
    const { userData: eu, ...erest } = expected;
    const { userData: au, ...arest } = actual || {};
    if (au !== undefined) assert.equal(typeof au, 'object', `${where}.userData is an object`);
    sameShape(arest, erest, where);
    return;
  }
  if (Array.isArray(expected)) {
    assert.ok(Array.isArray(actual), `${where} is an array`);
    if (expected.length > 0 && actual.length > 0) sameShape(actual[0], expected[0], `${where}[0]`);
    return;
  }
  if (expected !== null && typeof expected === 'object') {
    assert.equal(typeof actual, 'object', `${where} is an object`);
    assert.deepEqual(Object.keys(actual).sort(), Object.keys(expected).sort(), `keys of ${where}`);
    for (const k of Object.keys(expected)) sameShape(actual[k], expected[k], `${where}.${k}`);
    return;
  }
  assert.equal(typeof actual, typeof expected, `type of ${where}`);
}

test('outgoing conversation: Initiating then Talking, shaped like the published samples', async () => {
  const env = await im.setup(['agent1']);
  const d = env.desks.agent1;
  try {
    const r = await d.op('/me/im-sessions', { operationName: 'InitiateIMSession',
      destination: { phoneNumber: '3002' }, userData: { favColor: 'blue' } });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, { statusCode: 0 });
    assert.equal(r.headers['content-type'], 'application/json');
    const initiating = await d.state('Initiating');
    const s = await d.state('Talking');
    assert.equal(s.id, initiating.id);
    assert.match(s.id, /^[0-9A-Z]{32}$/);
    assert.equal(s.path, `/im-sessions/${s.id}`);
    assert.equal(s.uri, `http://127.0.0.1:${env.gw.port}/api/v2/im-sessions/${s.id}`);
    assert.deepEqual(s.participants, [{ digits: '3002', e164Number: '3002', formattedPhoneNumber: '3002', phoneNumber: '3002' }]);
    assert.deepEqual(s.userData, { favColor: 'blue' });
    assert.deepEqual(s.capabilities, ['Complete', 'AttachUserData', 'DeleteUserData', 'UpdateUserData', 'SendMessage']);
    const note = d.im().find((n) => n.imSession && n.imSession.state === 'Talking');
    sameShape(note, sample('im-initiate.cometd.json'));
    const envelope = d.notes.find((m) => m.data === note);
    assert.equal(envelope.channel, '/v2/me/im-sessions');
    const list = await d.rest('GET', '/me/im-sessions?fields=*');
    sameShape(list.json, sample('im-sessions-list.response.json'));
    assert.equal(list.json.imSessions[0].id, s.id);
    const one = await d.rest('GET', `/me/im-sessions/${s.id}`);
    assert.equal(one.json.statusCode, 0);
    assert.equal(one.json.imSession.state, 'Talking');
    const byUri = await d.rest('GET', `/im-sessions/${s.id}`);
    assert.equal(byUri.json.imSession.id, s.id);
    const uris = await d.rest('GET', '/me/im-sessions');
    assert.deepEqual(uris.json, { statusCode: 0, uris: [s.uri] });
  } finally {
    assert.deepEqual(await im.teardown(env), { gw: 0, sim: 0 });
  }
});

test('messages both ways: SendMessage reaches the remote, replies come back once each', async () => {
  const env = await im.setup(['agent1']);
  const d = env.desks.agent1;
  try {
    await im.sim(env.sim.port, 'POST', '/remotes/agent3002@example.com/behaviour', { reply: true });
    const s = await im.talk(d);
    const from = d.im().length;
    const text = 'Hello + welcome, é 😀\r\nline two';
    const r = await d.op(`/me/im-sessions/${s.id}`, { operationName: 'SendMessage', text,
      destination: { phoneNumber: '3002' }, devicePath: `/devices/${d.me.devices[0].id}` });
    assert.deepEqual(r.json, { statusCode: 0 });
    const mine = await d.next((n) => n.messageType === 'IMLogUpdateMessage' && n.message === text, from);
    sameShape(mine, sample('im-sendmessage.cometd.json'));
    assert.equal(mine.imSessionPath, `/im-sessions/${s.id}`);
    await d.next((n) => n.messageType === 'IMLogUpdateMessage' && n.message === `echo: ${text}`, from);
    const got = await im.sim(env.sim.port, 'GET', '/remotes/agent3002@example.com/received');
    const msgs = got.json.received.filter((e) => e.type === 'message');
    assert.equal(msgs.length, 1);
    assert.equal(msgs[0].text, text);
    await new Promise((res) => setTimeout(res, 200));
    const all = d.im().slice(from).filter((n) => n.messageType === 'IMLogUpdateMessage');
    assert.equal(all.length, 2, 'each message notified exactly once');
  } finally {
    await im.teardown(env);
  }
});

test('SendMessage with an X-Request-Id: a repeat is answered again and sent once; a bad id is refused', async () => {
  const env = await im.setup(['agent1']);
  const d = env.desks.agent1;
  try {
    await im.sim(env.sim.port, 'POST', '/remotes/agent3002@example.com/behaviour', { reply: false });
    const s = await im.talk(d);
    const from = d.im().length;
    const send = (text, rid) => d.rest('POST', `/me/im-sessions/${s.id}`, { operationName: 'SendMessage', text },
      rid === undefined ? {} : { 'X-Request-Id': rid });
    for (const bad of ['', 'x'.repeat(65), 'sp ace', 'caf\u00e9']) {
      const r = await send('never', bad);
      assert.equal(r.status, 400, `X-Request-Id ${JSON.stringify(bad)}: ${r.body}`);
      assert.match(r.json.statusMessage, /X-Request-Id must be 1 to 64 printable ASCII characters/);
    }
    assert.deepEqual((await send('one', 'req-1')).json, { statusCode: 0 });
    assert.deepEqual((await send('one', 'req-1')).json, { statusCode: 0 }, 'repeat, before its delivery event or after');
    await d.next((n) => n.messageType === 'IMLogUpdateMessage' && n.message === 'one', from);
    assert.deepEqual((await send('one', 'req-1')).json, { statusCode: 0 }, 'repeat after its delivery');
    assert.deepEqual((await send('two', 'req-2')).json, { statusCode: 0 });
    assert.deepEqual((await send('two')).json, { statusCode: 0 }, 'without an id: a new message');
    await d.next((n) => n.messageType === 'IMLogUpdateMessage' && n.message === 'two', from);
    await new Promise((res) => setTimeout(res, 300));
    const got = await im.sim(env.sim.port, 'GET', '/remotes/agent3002@example.com/received');
    assert.deepEqual(got.json.received.filter((e) => e.type === 'message').map((e) => e.text), ['one', 'two', 'two']);
    const mine = d.im().slice(from).filter((n) => n.messageType === 'IMLogUpdateMessage').map((n) => n.message);
    assert.deepEqual(mine, ['one', 'two', 'two'], 'each sent message notified once');
  } finally {
    await im.teardown(env);
  }
});

test('a burst of 100 messages each way arrives complete and in order', async () => {
  const env = await im.setup(['agent1']);
  const d = env.desks.agent1;
  try {
    const s = await im.talk(d);
    const from = d.im().length;
    const sends = [];
    for (let i = 0; i < 100; i++) {
      sends.push(d.op(`/me/im-sessions/${s.id}`, { operationName: 'SendMessage', text: `out ${i}` }));
    }
    for (const r of await Promise.all(sends)) assert.equal(r.json.statusCode, 0);
    for (let i = 0; i < 100; i++) {
      const r = await im.sim(env.sim.port, 'POST', '/remotes/agent3002@example.com/message', { to: 'agent1', text: `in ${i}` });
      assert.equal(r.status, 200, r.body);
    }
    await d.next((n) => n.message === 'in 99', from);
    await d.next((n) => n.message === 'out 99', from);
    const got = await im.sim(env.sim.port, 'GET', '/remotes/agent3002@example.com/received');
    const out = got.json.received.filter((e) => e.type === 'message').map((e) => e.text);
    assert.equal(out.length, 100);
    assert.equal(new Set(out).size, 100, 'no message twice');
    const ins = d.im().slice(from).filter((n) => /^in \d+$/.test(n.message)).map((n) => n.message);
    assert.deepEqual(ins, Array.from({ length: 100 }, (_, i) => `in ${i}`));
    const delivered = d.im().slice(from).filter((n) => /^out \d+$/.test(n.message)).map((n) => n.message);
    assert.equal(delivered.length, 100);
    assert.equal(new Set(delivered).size, 100);
  } finally {
    await im.teardown(env);
  }
});

test('incoming conversation: Alerting then Talking, first message notified exactly once', async () => {
  const env = await im.setup(['agent1']);
  const d = env.desks.agent1;
  try {
    const r = await im.sim(env.sim.port, 'POST', '/remotes/agent3003@example.com/invite', { to: 'agent1', text: 'Hi+there 50%\r\n' });
    assert.equal(r.status, 200, r.body);
    const alerting = await d.state('Alerting');
    assert.deepEqual(alerting.participants, [{ digits: '3003', e164Number: '3003', formattedPhoneNumber: '3003', phoneNumber: '3003' }]);
    const talking = await d.state('Talking');
    assert.equal(talking.id, alerting.id);
    await d.next((n) => n.messageType === 'IMLogUpdateMessage' && n.message === 'Hi+there 50%');
    await new Promise((res) => setTimeout(res, 300));
    assert.equal(d.im().filter((n) => n.messageType === 'IMLogUpdateMessage').length, 1);
    const accepted = await im.sim(env.sim.port, 'GET', '/remotes/agent3003@example.com/received');
    assert.ok(accepted.json.received.some((e) => e.type === 'accepted'));
  } finally {
    await im.teardown(env);
  }
});

test('Complete ends the conversation upstream and the session leaves the list', async () => {
  const env = await im.setup(['agent1']);
  const d = env.desks.agent1;
  try {
    const s = await im.talk(d);
    const from = d.im().length;
    const r = await d.op(`/me/im-sessions/${s.id}`, { operationName: 'Complete' });
    assert.deepEqual(r.json, { statusCode: 0 });
    const done = await d.state('Completed', from);
    assert.equal(done.id, s.id);
    assert.deepEqual(done.capabilities, []);
    sameShape(d.im()[d.im().length - 1], sample('im-complete.cometd.json'));
    const list = await d.rest('GET', '/me/im-sessions?fields=*');
    assert.deepEqual(list.json.imSessions, []);
    const again = await d.op(`/me/im-sessions/${s.id}`, { operationName: 'SendMessage', text: 'x' });
    assert.equal(again.status, 404);
    assert.equal(again.json.statusCode, 6);
    await h.waitFor(async () => (await im.sim(env.sim.port, 'GET', '/remotes/agent3002@example.com/received')).json.received.some((e) => e.type === 'left'));
    const next = await im.talk(d);
    assert.notEqual(next.id, s.id, 'a new session can start after Completed');
  } finally {
    await im.teardown(env);
  }
});

test('the remote leaving ends the session with Completed', async () => {
  const env = await im.setup(['agent1']);
  const d = env.desks.agent1;
  try {
    const s = await im.talk(d);
    const from = d.im().length;
    assert.equal((await im.sim(env.sim.port, 'POST', '/remotes/agent3002@example.com/leave', { to: 'agent1' })).status, 200);
    const done = await d.state('Completed', from);
    assert.equal(done.id, s.id);
    assert.deepEqual((await d.rest('GET', '/me/im-sessions')).json.uris, []);
  } finally {
    await im.teardown(env);
  }
});

test('user data: Attach, Update, Delete (key and keys) notify AttachedDataChanged with the whole session', async () => {
  const env = await im.setup(['agent1']);
  const d = env.desks.agent1;
  try {
    const s = await im.talk(d, im.REMOTES.bob, { a: '1' });
    const step = async (body, want) => {
      const from = d.im().length;
      const r = await d.op(`/me/im-sessions/${s.id}`, body);
      assert.deepEqual(r.json, { statusCode: 0 }, body.operationName);
      const n = await d.next((x) => x.notificationType === 'AttachedDataChanged', from);
      assert.equal(n.messageType, 'IMSessionStateChangeMessage');
      assert.equal(n.imSession.id, s.id);
      assert.equal(n.imSession.state, 'Talking');
      if (want === undefined) assert.equal(n.imSession.userData, undefined, 'empty userData is left out');
      else assert.deepEqual(n.imSession.userData, want);
      return n;
    };
    const n = await step({ operationName: 'AttachUserData', userData: { b: 'two', n: 3 } }, { a: '1', b: 'two', n: 3 });
    sameShape(n, sample('im-attachuserdata.cometd.json'));
    sameShape(await step({ operationName: 'UpdateUserData', userData: { a: 'one' } }, { a: 'one', b: 'two', n: 3 }),
      sample('im-updateuserdata.cometd.json'));
    sameShape(await step({ operationName: 'DeleteUserData', key: 'b' }, { a: 'one', n: 3 }),
      sample('im-deleteuserdata.cometd.json'));
    await step({ operationName: 'DeleteUserData', keys: ['a', 'n'] }, undefined);
  } finally {
    await im.teardown(env);
  }
});

test('a second InitiateIMSession is refused with statusCode 2 and changes nothing', async () => {
  const env = await im.setup(['agent1']);
  const d = env.desks.agent1;
  try {
    const s = await im.talk(d);
    const r = await d.op('/me/im-sessions', { operationName: 'InitiateIMSession', destination: { phoneNumber: '3003' } });
    assert.equal(r.status, 400);
    assert.equal(r.json.statusCode, 2);
    assert.match(r.json.statusMessage, /Invalid state/);
    assert.deepEqual(Object.keys(r.json).sort(), ['statusCode', 'statusMessage']);
    const list = await d.rest('GET', '/me/im-sessions?fields=*');
    assert.equal(list.json.imSessions.length, 1);
    assert.equal(list.json.imSessions[0].id, s.id);
  } finally {
    await im.teardown(env);
  }
});

test('two agents at once are isolated from each other', async () => {
  const env = await im.setup(['agent1', 'agent2']);
  const [d1, d2] = [env.desks.agent1, env.desks.agent2];
  try {
    const s1 = await im.talk(d1);
    const s2 = await im.talk(d2, im.REMOTES.carol);
    assert.notEqual(s1.id, s2.id);
    for (const [path, body] of [[`/me/im-sessions/${s1.id}`, undefined], [`/im-sessions/${s1.id}`, undefined]]) {
      const r = await d2.rest('GET', path, body);
      assert.equal(r.status, 404);
      assert.equal(r.json.statusCode, 6);
    }
    const op = await d2.op(`/me/im-sessions/${s1.id}`, { operationName: 'SendMessage', text: 'intrusion' });
    assert.equal(op.json.statusCode, 6);
    const cplt = await d2.op(`/me/im-sessions/${s1.id}`, { operationName: 'Complete' });
    assert.equal(cplt.json.statusCode, 6);
    await d1.op(`/me/im-sessions/${s1.id}`, { operationName: 'SendMessage', text: 'for agent1 only' });
    await d1.next((n) => n.message === 'for agent1 only');
    await new Promise((res) => setTimeout(res, 200));
    assert.ok(d2.im().every((n) => !n.imSession || n.imSession.id === s2.id), 'agent2 saw only its session');
    assert.ok(!d2.im().some((n) => n.message === 'for agent1 only'));
    assert.deepEqual((await d2.rest('GET', '/me/im-sessions')).json.uris, [s2.uri]);
  } finally {
    await im.teardown(env);
  }
});

test('over CometD WebSocket: two agents converse at once, each notified of its own messages only', async () => {
  const env = await im.setup(['agent1', 'agent2'], { websocket: true });
  const [d1, d2] = [env.desks.agent1, env.desks.agent2];
  try {
    assert.equal(d1.client.getTransport().type, 'websocket');
    assert.equal(d2.client.getTransport().type, 'websocket');
    const s1 = await im.talk(d1);
    const s2 = await im.talk(d2, im.REMOTES.carol);
    await d1.op(`/me/im-sessions/${s1.id}`, { operationName: 'SendMessage', text: 'ws for agent1' });
    await d2.op(`/me/im-sessions/${s2.id}`, { operationName: 'SendMessage', text: 'ws for agent2' });
    await d1.next((n) => n.message === 'ws for agent1');
    await d2.next((n) => n.message === 'ws for agent2');
    await new Promise((res) => setTimeout(res, 200));
    assert.ok(!d1.im().some((n) => n.message === 'ws for agent2'));
    assert.ok(!d2.im().some((n) => n.message === 'ws for agent1'));
    assert.equal((env.gw.stderr.match(/cometd: websocket of agent[12]/g) || []).length, 2);
  } finally {
    await im.teardown(env);
  }
});

test('Ready and NotReady change the device state and notify /v2/me/devices', async () => {
  const env = await im.setup(['agent1']);
  const d = env.desks.agent1;
  try {
    await h.waitFor(() => d.notes.some((m) => m.channel === '/v2/me/devices' && m.data.devices[0].userState.state === 'Ready'));
    const from = d.notes.length;
    assert.deepEqual((await d.op('/me', { operationName: 'NotReady' })).json, { statusCode: 0 });
    const n = await h.waitFor(() => d.notes.slice(from).find((m) => m.channel === '/v2/me/devices'));
    sameShape({ data: n.data, channel: n.channel }, (() => {
      const s = sample('devices-statechange.cometd.json');
      delete s.data.devices[0].voiceEnvironmentUri;
      s.data.devices[0].uri = ''; s.data.devices[0].path = ''; s.data.devices[0].channels = [];
      return s;
    })());
    assert.equal(n.data.devices[0].userState.state, 'NotReady');
    const dev = await d.rest('GET', '/me/devices?fields=*');
    assert.equal(dev.json.devices[0].userState.state, 'NotReady');
    assert.equal(dev.json.devices[0].id, d.me.devices[0].id);
  } finally {
    await im.teardown(env);
  }
});

test('notification templates see the message time and sender on live traffic', async () => {
  const dir = h.tmpdir();
  const file = path.join(dir, 'translate.json');
  fs.writeFileSync(file, '{"notifications": {"NewMessage": {"sentAt": "$timestamp", "from": "$sender_phone"}}}\n');
  const env = await im.setup(['agent1'], { gwArgs: ['-o', `translate.file=${file}`] });
  const d = env.desks.agent1;
  try {
    const s = await im.talk(d);
    const from = d.im().length;
    await im.sim(env.sim.port, 'POST', '/remotes/agent3002@example.com/message', { to: 'agent1', text: 'what time is it?' });
    const n = await d.next((x) => x.message === 'what time is it?', from);
    assert.match(n.sentAt, /^\/Date\(\d+\)\/$/);
    assert.equal(n.from, '3002');
    assert.equal(n.imSessionPath, `/im-sessions/${s.id}`);
  } finally {
    await im.teardown(env);
  }
});

test('an invitation for an agent who already has a session is declined upstream, unseen by the desktop', async () => {
  const env = await im.setup(['agent1']);
  const d = env.desks.agent1;
  try {
    const s = await im.talk(d);
    const from = d.im().length;
    const r = await im.sim(env.sim.port, 'POST', '/remotes/agent3003@example.com/invite', { to: 'agent1', text: 'are you free?' });
    assert.equal(r.status, 200, r.body);
    await h.waitFor(async () => (await im.sim(env.sim.port, 'GET', '/remotes/agent3003@example.com/received')).json.received
      .some((e) => e.type === 'declined'), 10000 * h.slow, 'the invitation to be declined');
    assert.deepEqual(d.im().slice(from), [], 'no notification for the declined invitation');
    const list = await d.rest('GET', '/me/im-sessions?fields=*');
    assert.deepEqual(list.json.imSessions.map((x) => x.id), [s.id]);
  } finally {
    await im.teardown(env);
  }
});
