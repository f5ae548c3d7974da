// gws_me.test.js: the agent's own GWS resources (me, devices, features),
// the agent operations on POST /me, and the agent's life: signed in to
// Skype for Business by its first request, signed out (application
// deleted upstream, cookie invalid) by EndContactCenterSession.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const h = require('./lib/harness');
const im = require('./lib/im');
const cm = require('./lib/cometd');

const sample = (f) => JSON.parse(fs.readFileSync(path.join(h.srcdir, 'proto', 'gws-samples', f), 'utf8'));
const keys = (o) => Object.keys(o).sort();

test('GET /me, /me/devices and /features have the published shapes', async () => {
  const s = await im.startSim();
  const g = await im.startGateway(s.port);
  const d = new im.Desktop(g.port, 'agent1');
  try {
    const ver = await h.request({ port: g.port, path: '/api/v2/diagnostics/version' });
    assert.deepEqual(keys(ver.json), keys(sample('diagnostics-version.response.json')));
    const me = await d.rest('GET', '/me');
    assert.equal(me.status, 200);
    assert.deepEqual(keys(me.json), keys(sample('me.response.json')));
    assert.deepEqual(keys(me.json.user), keys(sample('me.response.json').user));
    assert.equal(me.json.user.userName, 'agent1');
    assert.match(me.json.user.id, /^[0-9a-f]{32}$/);
    assert.equal(me.json.user.path, `/users/${me.json.user.id}`);
    assert.equal(me.headers['x-csrf-header'], 'X-CSRF-TOKEN');
    assert.match(me.headers['x-csrf-token'], /^[0-9a-f-]{36}$/);
    const all = await d.rest('GET', '/me?subresources=*');
    assert.deepEqual(keys(all.json.user), [...keys(me.json.user), 'channels', 'devices', 'features', 'settings'].sort());
    const some = await d.rest('GET', '/me?subresources=features,devices');
    assert.deepEqual(keys(some.json.user), [...keys(me.json.user), 'devices', 'features'].sort());
    const dev = all.json.user.devices[0];
    const want = sample('devices-list.response.json').devices[0];
    for (const k of Object.keys(want).filter((x) => x !== 'voiceEnvironmentUri')) {
      assert.ok(k in dev, `device has ${k}`);
      assert.equal(typeof dev[k], typeof want[k], `device.${k} type`);
    }
    assert.deepEqual(keys(dev.userState), keys(want.userState));
    assert.equal(dev.phoneNumber, '5001', 'the agent\'s number from its SIP URI through the address rules');
    const uris = await d.rest('GET', '/me/devices');
    assert.deepEqual(uris.json, { statusCode: 0, uris: [`http://127.0.0.1:${g.port}/api/v2/devices/${dev.id}`] });
    const devs = await d.rest('GET', '/me/devices?fields=*');
    assert.deepEqual(devs.json.devices[0], dev);
    const f = await d.rest('GET', '/features?fields=*');
    assert.deepEqual(f.json.features.map((x) => x.id), ['api-voice-instant-messaging']);
    const fu = await d.rest('GET', '/features');
    assert.deepEqual(fu.json.uris, [`http://127.0.0.1:${g.port}/api/v2/features/api-voice-instant-messaging`]);
  } finally {
    assert.equal((await g.stop()).code, 0);
    assert.equal((await s.stop()).code, 0);
  }
});

test('POST /me: operations, errors, and EndContactCenterSession signs the agent out', async () => {
  const env = await im.setup(['agent1']);
  const d = env.desks.agent1;
  try {
    const state = async () => (await im.sim(env.sim.port, 'GET', '/state')).json;
    const apps = (st) => st.applications.filter((a) => a.user === 'sip:agent5001@example.com');
    assert.equal(apps(await state()).length, 1, 'signed in upstream: one application');
    for (const [body, code] of [[{ operationName: 'Dance' }, 2], [{}, 1], [{ operationName: 'StartContactCenterSession', channels: 'im' }, 2]]) {
      const r = await d.op('/me', body);
      assert.equal(r.status, 400);
      assert.equal(r.json.statusCode, code, JSON.stringify(body));
    }
    const login = await h.request({ port: env.gw.port, path: '/api/v2/me', headers: { Authorization: cm.basic('agent1') } });
    const cookie = login.headers['set-cookie'].find((c) => c.startsWith('JSESSIONID=')).split(';')[0];
    const byCookie = await h.request({ port: env.gw.port, path: '/api/v2/me', headers: { Cookie: cookie } });
    assert.equal(byCookie.status, 200);
    const end = await h.request({ port: env.gw.port, method: 'POST', path: '/api/v2/me',
      headers: { Cookie: cookie, 'Content-Type': 'application/json' }, body: '{"operationName":"EndContactCenterSession"}' });
    assert.deepEqual(end.json, { statusCode: 0 });
    const after = await h.request({ port: env.gw.port, path: '/api/v2/me', headers: { Cookie: cookie } });
    assert.equal(after.status, 401, 'the cookie is invalid after EndContactCenterSession');
    assert.equal(after.json.statusCode, 20);
    await h.waitFor(async () => apps(await state()).length === 0, 10000 * h.slow, 'the application to be deleted upstream');
    assert.match(env.gw.stderr, /agent agent1: removed \(EndContactCenterSession\)/);
  } finally {
    assert.deepEqual(await im.teardown(env), { gw: 0, sim: 0 });
  }
});

test('SIGTERM signs every agent out upstream and ends their sessions with Completed', async () => {
  const env = await im.setup(['agent1']);
  const d = env.desks.agent1;
  const s = await im.talk(d);
  const from = d.im().length;
  const mine = (st) => st.applications.filter((a) => a.user === 'sip:agent5001@example.com');
  assert.equal(mine((await im.sim(env.sim.port, 'GET', '/state')).json).length, 1);
  env.gw.signal_('SIGTERM');
  assert.deepEqual(await env.gw.exited, { code: 0, signal: null });
  const st = (await im.sim(env.sim.port, 'GET', '/state')).json;
  assert.equal(mine(st).length, 0, 'the application was deleted');
  assert.equal(env.gw.stderr.match(/agent agent1: signed in to Skype for Business/g).length, 1,
    'nobody is signed in again while draining (a reconnecting desktop gets 503)');
  assert.ok(d.im().slice(from).some((n) => n.imSession && n.imSession.id === s.id && n.imSession.state === 'Completed')
    || /session .*Completed/.test(env.gw.stderr), 'the session ended with Completed');
  env.gw = null;
  await im.teardown(env);
});
