// lib.js: plain-HTTP helpers for the benchmarks (not tests): start a daemon
// and read its `listening on` port, keep-alive requests, GWS agents of
// ucwa-sim's load users (load<i>@contoso.com / load<i>), the login
// sequence, raw Bayeux long-polls, and an outgoing IM session to Talking.
// Everything runs on 127.0.0.1; every process started is stopped by the
// caller through stop().
'use strict';

const { spawn } = require('node:child_process');
const http = require('node:http');
const https = require('node:https');
const fs = require('node:fs');

// Start bin with args; resolves {proc, port, pid, stop()} once it printed
// `listening on HOST:PORT` (the first one).
function start(bin, args, { env, quiet = true } = {}) {
  return new Promise((resolve, reject) => {
    const p = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], env: env || process.env });
    let out = '';
    let err = '';
    let all = ''; // both streams in arrival order, the last MiB
    const keep = (d) => { all += d; if (all.length > 1 << 20) all = all.slice(-(1 << 19)); };
    let done = false;
    const wait = /valgrind/.test(bin) ? 120 : 20; // seconds (callgrind starts slowly)
    const timer = setTimeout(() => fail(new Error(`${bin}: no "listening on" in ${wait} s\n${err}`)), wait * 1000);
    function fail(e) { if (!done) { done = true; clearTimeout(timer); p.kill('SIGKILL'); reject(e); } }
    p.stdout.on('data', (d) => {
      out += d;
      keep(d);
      const m = /listening on \S+:(\d+)/.exec(out);
      if (m && !done) {
        done = true;
        clearTimeout(timer);
        resolve({ proc: p, pid: p.pid, port: Number(m[1]), log: () => all, stop: () => stop(p) });
      }
    });
    p.stderr.on('data', (d) => { keep(d); err += d; if (err.length > 1 << 20) err = err.slice(-(1 << 19)); if (!quiet) process.stderr.write(d); });
    p.on('exit', (code, sig) => fail(new Error(`${bin} exited (${code}, ${sig})\n${err.slice(-2000)}`)));
    p.on('error', fail);
  });
}

// SIGTERM, then SIGKILL after 10 s; resolves when the process is gone.
function stop(p) {
  return new Promise((resolve) => {
    if (p.exitCode !== null || p.signalCode !== null) { resolve(); return; }
    const t = setTimeout(() => p.kill('SIGKILL'), 10000);
    p.once('exit', () => { clearTimeout(t); resolve(); });
    p.kill('SIGTERM');
  });
}

const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 64 });
const keepAliveTls = new https.Agent({ keepAlive: true, maxSockets: 64 });

// A gateway or server address: a port on 127.0.0.1, or a URL string
// (http:// or https://; NODE_EXTRA_CA_CERTS names a private CA).
function target(port) {
  if (typeof port === 'number') return { mod: http, host: '127.0.0.1', port };
  const u = new URL(port);
  const tls = u.protocol === 'https:';
  return { mod: tls ? https : http, host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port || (tls ? 443 : 80)), tls };
}

// One HTTP request; resolves {status, headers, body, json}.
function request({ port, method = 'GET', path, headers = {}, body, agent, timeoutMs = 60000 }) {
  return new Promise((resolve, reject) => {
    const hdrs = { ...headers };
    if (body !== undefined) hdrs['Content-Length'] = Buffer.byteLength(body);
    const t = target(port);
    if (agent === undefined) agent = t.tls ? keepAliveTls : keepAlive;
    const r = t.mod.request({ host: t.host, port: t.port, method, path, headers: hdrs, agent }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        let json;
        try { json = JSON.parse(text); } catch (_) { json = undefined; }
        resolve({ status: res.statusCode, headers: res.headers, body: text, json });
      });
    });
    r.setTimeout(timeoutMs, () => r.destroy(new Error(`${method} ${path}: timeout`)));
    r.on('error', reject);
    if (body !== undefined) r.write(body);
    r.end();
  });
}

// ucwa-sim's generated load user i.
function loadUser(i) { return { user: `load${i}@contoso.com`, password: `load${i}` }; }

function basic(u) { return 'Basic ' + Buffer.from(`${u.user}:${u.password}`).toString('base64'); }

// The remote party the load agents talk to (accepts at once).
const REMOTE = { uri: 'sip:agent3002@example.com', phone: '3002', id: 'agent3002@example.com' };

// A GWS call of agent u on the gateway at port.
function gws(port, u, method, path, body, agent) {
  const headers = { Authorization: basic(u) };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  return request({ port, method, path: `/api/v2${path}`, headers, agent,
    body: body === undefined ? undefined : JSON.stringify(body) });
}

// The login sequence (gws.md §2) without CometD: GET /me, Start, Ready.
async function login(port, u) {
  const me = await gws(port, u, 'GET', '/me?subresources=*');
  if (me.status !== 200) throw new Error(`GET /me for ${u.user}: ${me.status} ${me.body.slice(0, 200)}`);
  const s = await gws(port, u, 'POST', '/me', { operationName: 'StartContactCenterSession', channels: ['im'] });
  if (!s.json || s.json.statusCode !== 0) throw new Error(`StartContactCenterSession ${u.user}: ${s.body}`);
  await gws(port, u, 'POST', '/me', { operationName: 'Ready' });
  return me.json.user;
}

// Poll until fn() resolves truthy; ms bound.
async function waitFor(fn, ms, what) {
  const until = Date.now() + ms;
  let delay = 5;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timeout waiting for ${what}`);
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 200);
  }
}

// Start an outgoing session of u to REMOTE; resolves its id once Talking.
async function talk(port, u) {
  const r = await gws(port, u, 'POST', '/me/im-sessions',
    { operationName: 'InitiateIMSession', destination: { phoneNumber: REMOTE.phone } });
  if (!r.json || r.json.statusCode !== 0) throw new Error(`InitiateIMSession ${u.user}: ${r.status} ${r.body}`);
  return waitFor(async () => {
    const l = await gws(port, u, 'GET', '/me/im-sessions?fields=*');
    const s = ((l.json && l.json.imSessions) || []).find((x) => x.state === 'Talking');
    return s && s.id;
  }, 30000, `Talking for ${u.user}`);
}

// Run fn(i) for i in [from, to) with at most par in flight.
async function pool(from, to, par, fn) {
  let next = from;
  const out = [];
  await Promise.all(Array.from({ length: Math.min(par, to - from) }, async () => {
    while (next < to) { const i = next++; out[i - from] = await fn(i); }
  }));
  return out;
}

// A raw Bayeux long-polling client of agent u: handshake, subscribe to
// /v2/me/*, then a connect loop that calls onMessage(msg, tRecvNs) for each
// non-meta message. Resolves {stop()} once subscribed and the first connect
// is parked.
async function cometd(port, u, onMessage, { cookie: cookie0 } = {}) {
  const agent = new (target(port).tls ? https : http).Agent({ keepAlive: true, maxSockets: 2 });
  // Like a browser desktop: Basic credentials and the session cookie the gateway set (or
  // the one its REST requests use).
  let cookie = cookie0 || null;
  const post = async (msgs) => {
    const headers = { Authorization: basic(u), 'Content-Type': 'application/json' };
    if (cookie) headers.Cookie = cookie;
    const r = await request({ port, method: 'POST', path: '/api/v2/notifications', agent, timeoutMs: 120000,
      headers, body: JSON.stringify(msgs) });
    const sc = [].concat(r.headers['set-cookie'] || []).map((c) => /^(JSESSIONID=[^;]*)/.exec(c)).find(Boolean);
    if (sc) cookie = sc[1];
    return r;
  };
  const hs = await post([{ id: '1', channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['long-polling'] }]);
  if (!hs.json || !hs.json[0].successful) throw new Error(`handshake ${u.user}: ${hs.status} ${hs.body}`);
  const clientId = hs.json[0].clientId;
  let id = 2;
  await post([{ id: String(id++), channel: '/meta/connect', clientId, connectionType: 'long-polling', advice: { timeout: 0 } }]);
  const sub = await post([{ id: String(id++), channel: '/meta/subscribe', clientId, subscription: '/v2/me/*' }]);
  if (!sub.json || !sub.json[0].successful) throw new Error(`subscribe ${u.user}: ${sub.body}`);
  let running = true;
  const loop = (async () => {
    while (running) {
      let r;
      try {
        r = await post([{ id: String(id++), channel: '/meta/connect', clientId, connectionType: 'long-polling' }]);
      } catch (e) { if (running) throw e; return; }
      const t = process.hrtime.bigint();
      for (const m of r.json || []) if (!m.channel.startsWith('/meta/')) onMessage(m, t);
    }
  })();
  loop.catch((e) => { if (running) console.error(`cometd ${u.user}: ${e.message}`); });
  return {
    clientId,
    // Stop polling without telling the server (it is going away).
    quit() { running = false; agent.destroy(); },
    async stop() {
      running = false;
      await post([{ id: String(id++), channel: '/meta/disconnect', clientId }]).catch(() => {});
      agent.destroy();
    },
  };
}

// The ws package (a dependency of cometd-nodejs-client in tests/e2e; run
// npm ci there first, as tests/bench/run does).
function wsPackage() {
  return require(require('node:path').join(__dirname, '..', 'e2e', 'node_modules', 'ws'));
}

// The same desktop as cometd() over CometD WebSocket: one socket, Basic on
// the upgrade, a /meta/connect held on it at all times. stop() disconnects.
async function cometdWs(port, u, onMessage) {
  const WebSocket = wsPackage();
  const sock = new WebSocket(`ws://127.0.0.1:${port}/api/v2/notifications`,
    { headers: { Authorization: basic(u) }, perMessageDeflate: false });
  await new Promise((resolve, reject) => {
    sock.once('open', resolve);
    sock.once('error', reject);
    sock.once('unexpected-response', (q, r) => reject(new Error(`upgrade ${u.user}: HTTP ${r.statusCode}`)));
  });
  let id = 1;
  let clientId;
  let running = true;
  const waiting = new Map();
  const send = (msg) => new Promise((resolve) => {
    msg.id = String(id++);
    waiting.set(msg.id, resolve);
    sock.send(JSON.stringify([msg]));
  });
  const connect = () => {
    if (running) sock.send(JSON.stringify([{ id: String(id++), channel: '/meta/connect', clientId, connectionType: 'websocket' }]));
  };
  sock.on('message', (d) => {
    const t = process.hrtime.bigint();
    for (const m of JSON.parse(d)) {
      if (!m.channel.startsWith('/meta/')) onMessage(m, t);
      else if (m.channel === '/meta/connect') connect();
      else if (waiting.has(m.id)) { waiting.get(m.id)(m); waiting.delete(m.id); }
    }
  });
  sock.on('error', (e) => { if (running) console.error(`cometd-ws ${u.user}: ${e.message}`); });
  const hs = await send({ channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['websocket'] });
  if (!hs.successful) throw new Error(`handshake ${u.user}: ${JSON.stringify(hs)}`);
  clientId = hs.clientId;
  const sub = await send({ channel: '/meta/subscribe', clientId, subscription: '/v2/me/*' });
  if (!sub.successful) throw new Error(`subscribe ${u.user}: ${JSON.stringify(sub)}`);
  connect();
  return {
    clientId,
    quit() { running = false; sock.terminate(); },
    async stop() {
      running = false;
      await send({ channel: '/meta/disconnect', clientId }).catch(() => {});
      sock.close();
    },
  };
}

// /proc/<pid>/stat utime+stime in µs, and VmRSS in KiB.
function cpuSplitUs(pid) {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const a = f.slice(f.lastIndexOf(')') + 2).split(' ');
  // utime and stime; CLK_TCK is 100 on Linux
  return { user: Number(a[11]) * 1e6 / 100, sys: Number(a[12]) * 1e6 / 100 };
}
// CPU time of a process in µs: the scheduler's exact runtime (schedstat, ns)
// where the kernel has it; else utime + stime, which are sampled per tick.
function cpuUs(pid) {
  try {
    return Number(fs.readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]) / 1000;
  } catch {
    const c = cpuSplitUs(pid);
    return c.user + c.sys;
  }
}
function rssKiB(pid) {
  const m = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

function pct(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

module.exports = { start, stop, request, loadUser, basic, REMOTE, gws, login, waitFor, talk, pool, cometd, cometdWs, cpuUs,
  cpuSplitUs, rssKiB, pct };
