// sim.js: helpers for the ucwa-sim tests: start the real simulator over
// HTTPS with a throw-away CA, a small UCWA client that follows links the
// way a real one must (discovery, challenge, token, applications, events),
// and a comparison of a response's structure with a published sample.
'use strict';

const assert = require('node:assert/strict');
const fs = require('node:fs');
const https = require('node:https');
const path = require('node:path');
const h = require('./harness');

const samples = path.join(h.srcdir, 'proto', 'ucwa-samples');
let pki;

// The CA and server certificate, made once per test file.
function certs() {
  if (!pki) pki = h.makeCA(h.tmpdir('ucwa-sim-ca-'));
  return pki;
}

// A published sample (parsed JSON, or the text of an .http file).
function sample(name) {
  const text = fs.readFileSync(path.join(samples, name), 'utf8');
  return name.endsWith('.json') ? JSON.parse(text) : text;
}

const USERS = [
  { uri: 'sip:toshm@contoso.com', username: 'toshm@contoso.com', password: 'secret', name: 'Tosh Meston' },
  { uri: 'sip:agent2@contoso.com', username: 'agent2@contoso.com', password: 'pw2', name: 'Agent Two' },
];
const REMOTES = [
  { uri: 'sip:lenea@contoso.com', name: 'Lene Aaling', answer: 'accept', accept_ms: 20 },
  { uri: 'sip:decliner@contoso.com', name: 'Dee Cliner', answer: 'decline', accept_ms: 10 },
  { uri: 'sip:silent@contoso.com', name: 'Sigh Lent', answer: 'silent' },
];

// Start ucwa-sim over HTTPS; opts are "-o" overrides (key: value).
async function startSim(opts = {}) {
  const c = certs();
  const o = {
    listen: ['https://127.0.0.1:0'],
    'tls.cert_file': c.cert,
    'tls.key_file': c.key,
    users: USERS,
    remotes: REMOTES,
    ...opts,
  };
  const args = [];
  for (const [k, v] of Object.entries(o)) args.push('-o', `${k}=${JSON.stringify(v)}`);
  const proc = await h.start('ucwa-sim', args);
  // Read the ports from whole lines only (a line may arrive in two chunks).
  const lines = () => [...proc.stdout.matchAll(/^listening on \S+:(\d+)\n/gm)].map((m) => Number(m[1]));
  await h.waitFor(() => lines().length >= o.listen.length, 5000, 'every listening line');
  return new Sim(proc, fs.readFileSync(c.ca), lines());
}

// One HTTPS request; like harness.request, plus rawHeaders and arrival times.
function request({ port, method, path: p, headers, body, ca, timeoutMs = 20000 * h.slow }) {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const req = https.request({ host: '127.0.0.1', port, method, path: p, headers, ca, agent: false, timeout: timeoutMs }, (res) => {
      const chunks = [];
      const headAt = Date.now();
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json;
        try { json = JSON.parse(text); } catch (_) { json = undefined; }
        resolve({ status: res.statusCode, headers: res.headers, rawHeaders: res.rawHeaders, body: text, json,
          sentAt: t0, headAt, doneAt: Date.now() });
      });
    });
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

// Every value of a response header (rawHeaders keeps repeated ones apart).
function headerValues(r, name) {
  const out = [];
  for (let i = 0; i < r.rawHeaders.length; i += 2) {
    if (r.rawHeaders[i].toLowerCase() === name.toLowerCase()) out.push(r.rawHeaders[i + 1]);
  }
  return out;
}

class Sim {
  constructor(proc, ca, ports) {
    this.proc = proc;
    this.ports = ports;
    this.port = ports[0];
    this.ca = ca;
  }

  stop() { return this.proc.stop(); }

  // One HTTPS request; path may be absolute (https://host:port/...).
  req(method, p, { token, body, ctype, headers = {}, timeoutMs } = {}) {
    const hd = { Accept: 'application/json', ...headers };
    if (token) hd.Authorization = `Bearer ${token}`;
    let b = body;
    if (b !== undefined && typeof b !== 'string') {
      b = JSON.stringify(b);
      hd['Content-Type'] = ctype || 'application/json';
    } else if (b !== undefined) {
      hd['Content-Type'] = ctype || 'text/plain; charset=UTF-8';
    }
    if (b !== undefined) hd['Content-Length'] = Buffer.byteLength(b);
    const rel = p.replace(/^https?:\/\/[^/]+/, '');
    return request({ port: this.port, method, path: rel, headers: hd, body: b, ca: this.ca, timeoutMs });
  }

  // The control API.
  async ctl(method, p, body) {
    const r = await this.req(method, `/_sim/${p}`, { body });
    return r;
  }

  async state() { return (await this.ctl('GET', 'state')).json; }
  async received(remote) { return (await this.ctl('GET', `remotes/${remote}/received`)).json.received; }

  // A token by following discovery → user (401 challenge) → password grant.
  async token(user = USERS[0].username, password = USERS[0].password) {
    const root = await this.req('GET', '/');
    const ch = await this.req('GET', root.json._links.user.href);
    const m = /MsRtcOAuth href="?([^",]+)"?/.exec(headerValues(ch, 'WWW-Authenticate').join('\n'));
    const form = `grant_type=password&username=${encodeURIComponent(user)}&password=${encodeURIComponent(password)}`;
    const t = await this.req('POST', m[1], { body: form, ctype: 'application/x-www-form-urlencoded;charset=UTF-8' });
    assert.equal(t.status, 200, t.body);
    return t.json.access_token;
  }

  // Sign in and create an application; returns a Client.
  async client({ user = USERS[0], endpointId = `ep-${Math.random()}`, available = true, formats } = {}) {
    const token = await this.token(user.username, user.password);
    const root = await this.req('GET', '/');
    const u = await this.req('GET', root.json._links.user.href, { token });
    const apps = u.json._links.applications.href;
    const r = await this.req('POST', apps, { token, body: { UserAgent: 'sim-test', EndpointId: endpointId, Culture: 'en-US' } });
    assert.equal(r.status, 201, r.body);
    const c = new Client(this, token, r.json, apps);
    if (available) {
      const body = { SupportedModalities: ['Messaging'] };
      if (formats) body.SupportedMessageFormats = formats;
      const a = await this.req('POST', r.json._embedded.me._links.makeMeAvailable.href, { token, body });
      assert.equal(a.status, 204, a.body);
    }
    return c;
  }
}

class Client {
  constructor(sim, token, app, appsUrl) {
    this.sim = sim;
    this.token = token;
    this.app = app;
    this.appsUrl = appsUrl;
    this.next = app._links.events.href;
    this.events = []; // every event received, flattened, with its sender
  }

  req(method, p, opts = {}) { return this.sim.req(method, p, { token: this.token, ...opts }); }

  // One P-GET of the current next URL; records events and follows next.
  async poll(timeoutMs = 10000 * h.slow) {
    const r = await this.req('GET', this.next, { timeoutMs });
    assert.equal(r.status, 200, r.body);
    const links = r.json._links;
    this.next = (links.next || links.resume || links.resync).href;
    for (const s of r.json.sender || []) {
      // a server profile (junk_events) may send events that are not objects, or no array
      for (const e of Array.isArray(s.events) ? s.events : []) {
        if (e !== null && typeof e === 'object' && e.link) this.events.push({ sender: s.rel, senderHref: s.href, ...e });
        else this.events.push({ sender: s.rel, senderHref: s.href, link: {}, junk: e });
      }
    }
    return r.json;
  }

  // Poll until find() locates a wanted event among those received.
  async waitEvent(pred, what = 'event', limit = 20) {
    for (let i = 0; i < limit; i++) {
      const e = this.events.find(pred);
      if (e) return e;
      await this.poll();
    }
    throw new Error(`no ${what} in ${JSON.stringify(this.events.map((e) => [e.sender, e.link.rel, e.type]))}`);
  }

  // Wait for sender › rel of type.
  ev(sender, rel, type, extra = () => true) {
    return this.waitEvent((e) => e.sender === sender && e.link.rel === rel && e.type === type && extra(e),
      `${sender} › ${rel} ${type}`);
  }
}

// Events of a sample response, flattened like Client.events.
function sampleEvents(name) {
  const out = [];
  for (const s of sample(name).sender) for (const e of s.events) out.push({ sender: s.rel, ...e });
  return out;
}

function sampleEvent(name, sender, rel, type, inRel) {
  const e = sampleEvents(name).find((x) => x.sender === sender && x.link.rel === rel && x.type === type &&
    (!inRel || (x.in && x.in.rel === inRel)));
  assert.ok(e, `sample ${name} has ${sender} › ${rel} ${type}`);
  return e;
}

const ENUMS = new Set(['rel', 'type', 'direction', 'state', 'status', 'sourceNetwork', 'importance', 'token_type', 'ms_rtc_identityscope']);
const PUT_GUARD = 'please pass this in a PUT request';

// Assert actual has the structure of the sample: every key of the sample
// (with the same value type, recursively), equal enum values, hrefs as
// strings of the same kind, data URIs and dates in UCWA's forms.
function assertShape(actual, expected, where = '$') {
  if (expected === null) return assert.equal(actual, null, where);
  if (Array.isArray(expected)) {
    assert.ok(Array.isArray(actual), `${where}: expected an array, got ${JSON.stringify(actual)}`);
    if (expected.length > 0) {
      assert.ok(actual.length > 0, `${where}: expected a non-empty array`);
      assertShape(actual[0], expected[0], `${where}[0]`);
    }
    return undefined;
  }
  assert.equal(typeof actual, typeof expected, `${where}: expected ${typeof expected}, got ${JSON.stringify(actual)}`);
  if (typeof expected === 'object') {
    for (const [k, v] of Object.entries(expected)) {
      if (v === PUT_GUARD) {
        assert.ok(Object.values(actual).includes(PUT_GUARD), `${where}: no PUT guard property`);
        continue;
      }
      assert.ok(k in actual, `${where}: missing key "${k}" (have ${Object.keys(actual).join(', ')})`);
      if (ENUMS.has(k) && typeof v === 'string') assert.equal(actual[k], v, `${where}.${k}`);
      else assertShape(actual[k], v, `${where}.${k}`);
    }
  } else if (typeof expected === 'string') {
    if (/^\/Date\(\d+\)\/$/.test(expected)) assert.match(actual, /^\/Date\(\d+\)\/$/, where);
    else if (expected.startsWith('data:')) assert.match(actual, /^data:text\/(plain|html)[;,]/, where);
    else if (/^(\/|https?:)/.test(expected)) assert.match(actual, /^(\/|https?:)/, where);
  }
  return undefined;
}

// The event keys must be exactly the sample's (link, in, status, reason, _embedded, type).
function assertEventShape(actual, expected, where) {
  const keys = (o) => Object.keys(o).filter((k) => !['sender', 'senderHref'].includes(k)).sort();
  assert.deepEqual(keys(actual), keys(expected), `${where}: event keys`);
  assertShape(actual, expected, where);
}

module.exports = { startSim, headerValues, sample, sampleEvents, sampleEvent, assertShape, assertEventShape, USERS, REMOTES, Client };
