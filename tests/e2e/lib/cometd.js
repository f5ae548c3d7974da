// cometd.js: helpers for the CometD end-to-end tests: a ucgw configured
// with test agents (static verifier) and the test-only publish endpoint,
// the official CometD client (npm cometd + cometd-nodejs-client, long-polling
// only) wrapped in promises, raw Bayeux POSTs, and a TCP proxy that can cut
// a connection after a chosen response passed through the gateway.
'use strict';

const crypto = require('node:crypto');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const h = require('./harness');

const AGENTS = { agent1: 'pw-one', agent2: 'pw-two', agent3: 'pw-three' };

// The ucgw configuration text for the test agents plus extra keys.
function gatewayConfig(extra = {}) {
  const users = Object.entries(AGENTS).map(([user, pw]) => {
    const salt = crypto.randomBytes(8).toString('hex');
    const hash = crypto.createHash('sha256').update(salt + pw).digest('hex');
    return { user, salt, password_sha256: hash };
  });
  const cfg = {
    listen: ['http://127.0.0.1:0'],
    log: { level: 'info' },
    auth: { verifier: 'static', users },
    debug: { publish_endpoint: true },
    ...extra,
  };
  return JSON.stringify(cfg, null, 1);
}

// Start ucgw; args are extra command-line arguments (-o overrides).
async function startGateway(extra = {}, args = [], dir = h.tmpdir()) {
  const file = path.join(dir, 'ucgw.conf');
  if (!fs.existsSync(file)) fs.writeFileSync(file, gatewayConfig(extra));
  const p = await h.start('ucgw', ['-c', file, ...args]);
  p.confDir = dir;
  return p;
}

// Stop the gateway; it must exit 0 with no sanitizer report.
async function stopClean(gw) {
  const assert = require('node:assert/strict');
  const r = await gw.stop();
  assert.doesNotMatch(gw.stderr, /Sanitizer|runtime error/, 'sanitizer report in the gateway log');
  assert.equal(r.code, 0, `gateway exit: ${JSON.stringify(r)}\n${gw.stderr.slice(-3000)}`);
}

function basic(user, pw = AGENTS[user]) {
  return 'Basic ' + Buffer.from(`${user}:${pw}`).toString('base64');
}

// POST a Bayeux body (array, object or string) to the endpoint (+ suffix).
function bayeux(port, body, { user = 'agent1', suffix = '', headers = {}, timeoutMs } = {}) {
  const hdrs = { 'Content-Type': 'application/json', ...headers };
  if (user) hdrs.Authorization = basic(user);
  return h.request({ port, method: 'POST', path: '/api/v2/notifications' + suffix,
    headers: hdrs, body: typeof body === 'string' ? body : JSON.stringify(body), timeoutMs });
}

// Publish messages [{channel, data}] to user's clients through the test endpoint.
// With tls set ({ca}), over https.
async function publish(port, user, messages, tls) {
  const r = await h.request({ port, method: 'POST', path: '/api/v2/diagnostics/publish',
    headers: { Authorization: basic(user), 'Content-Type': 'application/json' },
    body: JSON.stringify({ messages }),
    ...(tls ? { tls: true, ca: require('node:fs').readFileSync(tls.ca), servername: 'localhost' } : {}) });
  if (r.status !== 200) throw new Error(`publish: ${r.status} ${r.body}`);
  return r.json.queued;
}

// Raw handshake; resolves the clientId.
async function rawHandshake(port, user = 'agent1', ext) {
  const msg = { id: '1', channel: '/meta/handshake', version: '1.0',
    supportedConnectionTypes: ['long-polling'] };
  if (ext) msg.ext = ext;
  const r = await bayeux(port, [msg], { user, suffix: '/handshake' });
  if (!r.json || !r.json[0].successful) throw new Error(`handshake failed: ${r.body}`);
  return r.json[0].clientId;
}

let lib;
// Headers a WebSocket upgrade to a URL carries (what a browser sends by
// itself: its cookies); the ws package sends user:password of the URL as Basic.
const wsHeaders = new Map();
// Load the official client once (ES modules) and adapt it to Node.
async function cometdLib() {
  if (!lib) {
    const adapter = await import('cometd-nodejs-client');
    adapter.adapt();
    const WS = global.window.WebSocket; // the ws package, as the adapter installs it
    global.window.WebSocket = class extends WS {
      constructor(url, protocols) {
        super(url, protocols, { headers: wsHeaders.get(url) || {} });
      }
    };
    lib = await import('cometd');
  }
  return lib;
}

// An official CometD client for user, long-polling only, Basic on every request.
// Messages received on any subscription are collected in client.received.
// With cookie set, the client sends that Cookie header instead of Basic.
// With websocket set, the client keeps its default transports (websocket
// first); its upgrade carries the cookie or Basic (user:password in the URL).
async function newClient(port, user, { ack = true, cookie, url, websocket = false } = {}) {
  const { CometD, AckExtension } = await cometdLib();
  const c = new CometD(`${user}-${Math.random()}`);
  if (!websocket) {
    c.unregisterTransport('websocket');
    c.unregisterTransport('callback-polling');
  }
  if (ack) c.registerExtension('ack', new AckExtension());
  const requestHeaders = cookie ? { Cookie: cookie } : { Authorization: basic(user) };
  if (!url && websocket && !cookie) {
    url = `http://${user}:${AGENTS[user]}@127.0.0.1:${port}/api/v2/notifications`;
  }
  url = url || `http://127.0.0.1:${port}/api/v2/notifications`;
  if (websocket && cookie) wsHeaders.set(url.replace(/^http/, 'ws'), { Cookie: cookie });
  c.configure({ url, requestHeaders, logLevel: 'warn', maxNetworkDelay: 5000 * h.slow });
  c.received = [];
  c.handshakes = [];
  c.addListener('/meta/handshake', (m) => c.handshakes.push(m));
  return c;
}

// Handshake; resolves the reply (rejects if unsuccessful).
function handshake(c) {
  return new Promise((resolve, reject) => {
    c.handshake((m) => (m.successful ? resolve(m) : reject(new Error(JSON.stringify(m)))));
  });
}

// Subscribe; messages go to client.received (and to onMessage); resolves the reply.
// (The client also hands its own /meta messages to a "/**" subscription: skipped.)
function subscribe(c, channel, onMessage) {
  return new Promise((resolve, reject) => {
    c.subscribe(channel, (m) => {
      if (m.channel.startsWith('/meta/')) return;
      c.received.push(m);
      if (onMessage) onMessage(m);
    }, (r) => (r.successful ? resolve(r) : reject(new Error(JSON.stringify(r)))));
  });
}

// Wait until the client has a successful /meta/connect answered (it is polling).
function connected(c, timeoutMs = 5000 * h.slow) {
  return h.waitFor(() => c.isDisconnected() === false && c.getStatus() === 'connected',
    timeoutMs, 'the client to connect');
}

function disconnect(c) {
  return new Promise((resolve) => {
    if (c.isDisconnected()) { resolve(); return; }
    c.disconnect(() => resolve());
  });
}

// A TCP proxy to port. cutWhen(text) is checked on each chunk the gateway
// sends; when it returns true the chunk is dropped and both sides are cut.
// proxy.requests records the request lines; while proxy.refuse is set,
// new connections are closed at once (the gateway is unreachable).
async function cuttingProxy(port, cutWhen = () => false) {
  const socks = new Set();
  const srv = net.createServer((client) => {
    if (proxy.refuse) { client.destroy(); return; }
    const up = net.connect(port, '127.0.0.1');
    socks.add(client); socks.add(up);
    const cut = () => { client.destroy(); up.destroy(); };
    client.on('data', (d) => {
      for (const m of d.toString('latin1').matchAll(/^(POST|GET|OPTIONS) (\S+) HTTP\/1\.1\r$/gm)) {
        proxy.requests.push(`${m[1]} ${m[2]}`);
      }
      if (proxy.holdOn && d.toString('latin1').includes(proxy.holdOn)) proxy.hold = true;
      if (proxy.dropOn && d.toString('latin1').includes(proxy.dropOn)) proxy.drop = true;
      if (proxy.hold || proxy.drop) proxy.sentHeld += d.toString('latin1');
      if (proxy.drop) return; // never reaches the server (as if its sender died first)
      up.write(d);
    });
    up.on('data', (d) => {
      if (cutWhen(d.toString('utf8'))) { proxy.cuts++; cut(); return; }
      if (proxy.hold) { proxy.held += d.length; return; } // requests pass, answers are dropped
      client.write(d);
    });
    client.on('close', cut); up.on('close', cut);
    client.on('error', cut); up.on('error', cut);
  });
  const proxy = {
    port: 0,
    cuts: 0,
    requests: [],
    refuse: false,
    hold: false, // answers dropped; what was sent meanwhile is in sentHeld
    holdOn: null, // hold from the first write that holds this string
    drop: false, // requests dropped (answers too: there are none); what was sent is in sentHeld
    dropOn: null, // drop from the first write that holds this string
    held: 0,
    sentHeld: '',
    dropAll: () => { for (const s of socks) s.destroy(); },
    close: () => { for (const s of socks) s.destroy(); return new Promise((r) => srv.close(r)); },
  };
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  proxy.port = srv.address().port;
  return proxy;
}

module.exports = {
  AGENTS, gatewayConfig, startGateway, stopClean, basic, bayeux, publish, rawHandshake, cometdLib,
  newClient, handshake, subscribe, connected, disconnect, cuttingProxy,
};
