// reload.js: helpers for the reload and recording end-to-end tests: a
// translation file in a temporary directory that the test rewrites, ucgw
// started on it in front of ucwa-sim, desktops whose CometD clients record
// every /meta/connect answer, and message exchanges both ways whose every
// HTTP answer is checked.
'use strict';

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const h = require('./harness');
const im = require('./im');

// Write rules (an object, or text as is) to file.
function writeRules(file, rules) {
  fs.writeFileSync(file, typeof rules === 'string' ? rules : JSON.stringify(rules, null, 1) + '\n');
}

// ucwa-sim + ucgw on the rules file (plus extra -o args) with users logged in;
// each desktop's client keeps every /meta/connect and /meta/unsuccessful reply.
async function setup(rulesFile, users, gwArgs = []) {
  const env = await im.setup([], { gwArgs: ['-o', `translate.file=${rulesFile}`, ...gwArgs] });
  for (const u of users) {
    const d = new im.Desktop(env.gw.port, u);
    env.desks[u] = d;
    await d.login();
    d.connects = [];
    d.unsuccessful = [];
    d.client.addListener('/meta/connect', (m) => d.connects.push(m));
    d.client.addListener('/meta/unsuccessful', (m) => d.unsuccessful.push(m));
  }
  return env;
}

// SIGHUP the gateway and wait for the outcome (nth "reload done"/"reload refused").
async function hup(gw, what = 'reload done') {
  const re = new RegExp(what, 'g');
  const before = (gw.stderr.match(re) || []).length;
  gw.signal_('SIGHUP');
  await h.waitFor(() => (gw.stderr.match(re) || []).length > before, 10000 * h.slow,
    () => `no "${what}" in the gateway log:\n${gw.stderr.slice(-2000)}`);
}

// The desktop sends text in session id; the answer must be statusCode 0.
async function send(d, id, text) {
  const r = await d.op(`/me/im-sessions/${id}`, { operationName: 'SendMessage', text });
  assert.equal(r.status, 200, `SendMessage ${text}: ${r.status} ${r.body}`);
  assert.deepEqual(r.json, { statusCode: 0 }, `SendMessage ${text}`);
}

// The remote (an im.REMOTES entry) writes text to user.
async function remoteSays(simPort, remote, user, text) {
  const r = await im.sim(simPort, 'POST', `/remotes/${remote.id}/message`, { to: user, text });
  assert.equal(r.status, 200, `remote message ${text}: ${r.body}`);
}

// Texts the remote received from user, oldest first.
async function receivedFrom(simPort, remote, user) {
  const r = await im.sim(simPort, 'GET', `/remotes/${remote.id}/received`);
  return r.json.received.filter((e) => e.type === 'message' && e.from === `sip:agent${im.PHONES[user]}@example.com`).map((e) => e.text);
}

// NewMessage notifications of the desktop for session id.
function messages(d, id) {
  return d.im().filter((n) => n.notificationType === 'NewMessage' && n.imSessionPath === `/im-sessions/${id}`);
}

// The client never handshook again and every /meta/connect answer succeeded.
// Right after an answer the client is briefly "connecting" (its next
// /meta/connect is sent on the next tick): wait for "connected".
async function longPollKept(d) {
  assert.equal(d.client.handshakes.length, 1, `${d.user}: the CometD client handshook again`);
  assert.ok(d.connects.length > 0, `${d.user}: no /meta/connect answer seen`);
  assert.ok(d.connects.every((m) => m.successful), `${d.user}: a failed /meta/connect: ${JSON.stringify(d.connects.filter((m) => !m.successful))}`);
  assert.deepEqual(d.unsuccessful, [], `${d.user}: unsuccessful Bayeux messages`);
  await h.waitFor(() => d.client.getStatus() === 'connected', 2000, `${d.user}: CometD client connected`);
  assert.equal(d.client.handshakes.length, 1, `${d.user}: the CometD client handshook again`);
}

// The simulator's applications by user: {user: {id, acked}}.
async function applications(simPort) {
  const r = await im.sim(simPort, 'GET', '/state');
  assert.equal(r.status, 200);
  const out = {};
  for (const [user, phone] of Object.entries(im.PHONES)) {
    const apps = r.json.applications.filter((a) => a.user === `sip:agent${phone}@example.com`);
    assert.ok(apps.length <= 1, `${user} has ${apps.length} applications`);
    if (apps.length === 1) out[user] = apps[0];
  }
  return out;
}

module.exports = { writeRules, setup, hup, send, remoteSays, receivedFrom, messages, longPollKept, applications };
