// im.js: helpers for the IM end-to-end tests: ucwa-sim with the test agents
// as users and remote parties, ucgw in front of it signing agents in with
// their own credentials, and "desktops" that log in as GWS clients do
// (GET /me, CometD handshake and subscribe with the official client,
// StartContactCenterSession, Ready) and then operate and read notifications.
'use strict';

const h = require('./harness');
const cm = require('./cometd');

const PHONES = { agent1: '5001', agent2: '5002', agent3: '5003' };
const REMOTES = {
  bob: { uri: 'sip:agent3002@example.com', id: 'agent3002@example.com', phone: '3002', name: 'Bob Remote' },
  carol: { uri: 'sip:agent3003@example.com', id: 'agent3003@example.com', phone: '3003', name: 'Carol Remote' },
};

function simUsers() {
  return Object.entries(cm.AGENTS).map(([user, password]) => ({
    uri: `sip:agent${PHONES[user]}@example.com`, username: user, password, name: `Agent ${user}`,
  }));
}

// Start ucwa-sim (plain HTTP) with the agents and remotes; extra -o args.
async function startSim(args = [], { port = 0, remotes } = {}) {
  const rs = remotes || Object.values(REMOTES).map((r) => ({ uri: r.uri, name: r.name, accept_ms: 20 }));
  return h.start('ucwa-sim', ['-o', `listen=["http://127.0.0.1:${port}"]`,
    '-o', `users=${JSON.stringify(simUsers())}`, '-o', `remotes=${JSON.stringify(rs)}`, ...args]);
}

// Start ucgw in front of the simulator on simPort; extra -o args; opts as h.start's.
async function startGateway(simPort, args = [], opts = {}) {
  return h.start('ucgw', ['-o', 'listen=["http://127.0.0.1:0"]',
    '-o', `upstream.discovery_url=http://127.0.0.1:${simPort}/`,
    '-o', 'upstream.backoff_min_ms=50', '-o', 'upstream.backoff_max_ms=500', ...args], opts);
}

// The simulator's control API.
function sim(simPort, method, path, body) {
  return h.request({ port: simPort, method, path: `/_sim${path}`, body: body === undefined ? undefined : JSON.stringify(body),
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' } });
}

// A desktop of user logged in to the gateway on port.
class Desktop {
  constructor(port, user, { websocket = false } = {}) {
    this.port = port;
    this.user = user;
    this.websocket = websocket; // CometD over WebSocket instead of long-polling
    this.notes = [];
  }

  // REST call with Basic credentials; resolves {status, json}.
  rest(method, path, body, headers = {}) {
    const hdrs = { Authorization: cm.basic(this.user), ...headers };
    if (body !== undefined) hdrs['Content-Type'] = 'application/json';
    return h.request({ port: this.port, method, path: `/api/v2${path}`, headers: hdrs,
      body: body === undefined ? undefined : (typeof body === 'string' ? body : JSON.stringify(body)) });
  }

  op(path, body) { return this.rest('POST', path, body); }

  // The login sequence of gws.md §2.
  async login() {
    const me = await this.rest('GET', '/me?subresources=*');
    if (me.status !== 200) throw new Error(`GET /me: ${me.status} ${me.body}`);
    this.me = me.json.user;
    this.client = await cm.newClient(this.port, this.user, { websocket: this.websocket });
    await cm.handshake(this.client);
    await cm.subscribe(this.client, '/v2/me/*', (m) => this.notes.push(m));
    await cm.connected(this.client);
    const start = await this.op('/me', { operationName: 'StartContactCenterSession', channels: ['im'] });
    if (start.json.statusCode !== 0) throw new Error(`StartContactCenterSession: ${start.body}`);
    await this.op('/me', { operationName: 'Ready' });
    return this;
  }

  // Notifications of the IM channel so far.
  im() { return this.notes.filter((m) => m.channel === '/v2/me/im-sessions').map((m) => m.data); }

  // Wait for the first IM notification (after `from`) satisfying pred.
  async next(pred, from = 0, ms = 10000 * h.slow) {
    return h.waitFor(() => this.im().slice(from).find(pred), ms,
      () => `no matching notification for ${this.user}; got ${JSON.stringify(this.im().slice(from))}`);
  }

  // Wait for a StatusChange to state; resolves its imSession.
  async state(st, from = 0) {
    const n = await this.next((d) => d.notificationType === 'StatusChange' && d.imSession.state === st, from);
    return n.imSession;
  }

  async logout() {
    if (this.client) await cm.disconnect(this.client);
    await this.op('/me', { operationName: 'EndContactCenterSession' });
  }
}

async function desktop(port, user, opts) {
  return new Desktop(port, user, opts).login();
}

// Start the pair and log in the given agents; returns {sim, gw, desks}.
async function setup(users = ['agent1'], { simArgs = [], gwArgs = [], remotes, websocket } = {}) {
  const s = await startSim(simArgs, { remotes });
  const g = await startGateway(s.port, gwArgs);
  const desks = {};
  for (const u of users) desks[u] = await desktop(g.port, u, { websocket });
  return { sim: s, gw: g, desks };
}

// Stop everything; both daemons must exit 0 (no leak, no crash, no valgrind
// or sanitizer report): anything else fails the test.
async function teardown(env) {
  for (const d of Object.values(env.desks || {})) {
    if (d.client) await cm.disconnect(d.client).catch(() => {});
  }
  const gw = env.gw ? await env.gw.stop() : { code: 0 };
  const sm = env.sim ? await env.sim.stop() : { code: 0 };
  const codes = { gw: gw.code, sim: sm.code };
  if (codes.gw !== 0 || codes.sim !== 0) {
    throw new Error(`unclean exit ${JSON.stringify(codes)}\nucgw: ${env.gw ? env.gw.stderr.slice(-3000) : ''}` +
      `\nucwa-sim: ${env.sim ? env.sim.stderr.slice(-3000) : ''}`);
  }
  return codes;
}

// Start an outgoing session to a remote; resolves the Talking imSession.
async function talk(d, remote = REMOTES.bob, userData) {
  const from = d.im().length;
  const body = { operationName: 'InitiateIMSession', destination: { phoneNumber: remote.phone } };
  if (userData) body.userData = userData;
  const r = await d.op('/me/im-sessions', body);
  if (r.json.statusCode !== 0) throw new Error(`InitiateIMSession: ${r.status} ${r.body}`);
  return d.state('Talking', from);
}

module.exports = { PHONES, REMOTES, startSim, startGateway, sim, Desktop, desktop, setup, teardown, talk };
