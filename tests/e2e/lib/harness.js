// harness.js: starts the project's real binaries on ephemeral loopback ports
// for end-to-end tests, waits for their "listening on HOST:PORT" lines (never
// a fixed sleep), and kills every process it started, even when a test fails
// or the runner is interrupted. Also: small HTTP(S) client helpers, polling,
// temporary directories and a throw-away CA made with the openssl command.
'use strict';

const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const https = require('node:https');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const builddir = process.env.UCGW_BUILDDIR || path.resolve(__dirname, '../../..');
const srcdir = process.env.UCGW_SRCDIR || path.resolve(__dirname, '../../..');
const slow = process.env.UCGW_WRAP ? 10 : 1; // valgrind and friends are slow
const live = new Set();

function killAll() {
  for (const p of live) {
    try { p.kill('SIGKILL'); } catch (_) { /* already gone */ }
  }
  live.clear();
}
process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => { killAll(); process.exit(130); });
}

// A running daemon: its output, its listening addresses, and how to stop it.
class Proc {
  constructor(name, child) {
    this.name = name;
    this.child = child;
    this.stdout = '';
    this.stderr = '';
    this.addrs = [];
    this.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        live.delete(child);
        this.code = code;
        this.signal = signal;
        resolve({ code, signal });
      });
    });
    child.stdout.on('data', (d) => {
      this.stdout += d;
      for (const m of String(d).matchAll(/^listening on (\S+)$/gm)) this.addrs.push(m[1]);
    });
    child.stderr.on('data', (d) => { this.stderr += d; });
  }

  get port() { return Number(this.addrs[0].split(':').pop()); }
  portOf(i) { return Number(this.addrs[i].split(':').pop()); }
  signal_(sig) { this.child.kill(sig); }

  // SIGTERM, then the exit status; SIGKILL if it does not exit in time.
  async stop(timeoutMs = 10000 * slow) {
    if (this.code !== undefined || this.signal) return this.exited;
    this.child.kill('SIGTERM');
    const t = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    const r = await this.exited;
    clearTimeout(t);
    return r;
  }
}

// Start a binary of the build tree; resolves once `listeners` lines were printed.
// prefix: a command that execs the rest (e.g. prlimit) and keeps the pid.
async function start(binary, args = [], { listeners = 1, env = {}, timeoutMs = 15000 * slow, prefix = [] } = {}) {
  const exe = path.join(builddir, binary);
  const wrap = process.env.UCGW_WRAP ? process.env.UCGW_WRAP.split(/\s+/) : [];
  const argv = [...prefix, ...wrap, exe, ...args];
  const child = spawn(argv[0], argv.slice(1), {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  const p = new Proc(binary, child);
  await waitFor(() => p.addrs.length >= listeners || p.code !== undefined, timeoutMs,
    () => `${binary} did not print ${listeners} "listening on" line(s); stderr:\n${p.stderr}`);
  if (p.addrs.length < listeners) {
    throw new Error(`${binary} exited (${p.code}) before listening; stderr:\n${p.stderr}`);
  }
  return p;
}

// Run a binary to completion; returns {code, stdout, stderr}.
function run(binary, args = [], opts = {}) {
  return new Promise((resolve) => {
    const child = spawn(path.join(builddir, binary), args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    live.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('exit', (code) => { live.delete(child); resolve({ code, stdout, stderr }); });
  });
}

// Poll cond() every 10 ms until it is truthy or timeoutMs passes.
async function waitFor(cond, timeoutMs = 5000 * slow, what = 'condition') {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (Date.now() > until) throw new Error(typeof what === 'function' ? what() : `timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

// One HTTP(S) request; resolves {status, headers, body, json}.
function request({ port, host = '127.0.0.1', method = 'GET', path: p = '/', headers = {}, body, tls, ca, servername, agent = false, timeoutMs = 10000 * slow }) {
  const mod = tls ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.request({ host, port, method, path: p, headers, agent, ca, servername, timeout: timeoutMs }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json;
        try { json = JSON.parse(text); } catch (_) { json = undefined; }
        resolve({ status: res.statusCode, headers: res.headers, body: text, json });
      });
    });
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    if (body !== undefined) req.write(typeof body === 'string' ? body : JSON.stringify(body));
    req.end();
  });
}

// A raw TCP connection for byte-level tests; read() resolves with what arrived.
function rawConnect(port, host = '127.0.0.1') {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, host, () => resolve(wrapRaw(s)));
    s.on('error', reject);
  });
}

function wrapRaw(s) {
  let data = '';
  let closed = false;
  s.on('data', (d) => { data += d; });
  s.on('close', () => { closed = true; });
  s.on('error', () => { closed = true; });
  return {
    socket: s,
    write: (b) => s.write(b),
    get data() { return data; },
    get closed() { return closed; },
    until: (re, ms = 5000 * slow) => waitFor(() => re.test(data), ms, () => `no ${re} in: ${JSON.stringify(data)}`),
    waitClosed: (ms = 5000 * slow) => waitFor(() => closed, ms, 'the connection to close'),
    end: () => s.destroy(),
  };
}

function tmpdir(prefix = 'ucgw-e2e-') {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

// A throw-away CA and a server certificate for names (DNS or IP), made with openssl.
function makeCA(dir, names = ['localhost', '127.0.0.1'], { cn = 'ucgw test CA' } = {}) {
  const ossl = (...a) => execFileSync('openssl', a, { cwd: dir, stdio: 'pipe' });
  ossl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem',
    '-days', '2', '-subj', `/CN=${cn}`);
  const san = names.map((n) => (/^[\d.]+$|:/.test(n) ? `IP:${n}` : `DNS:${n}`)).join(',');
  fs.writeFileSync(path.join(dir, 'ext.cnf'), `subjectAltName=${san}\nbasicConstraints=CA:FALSE\n`);
  ossl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr',
    '-subj', `/CN=${names[0]}`);
  ossl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial',
    '-out', 'server.pem', '-days', '2', '-extfile', 'ext.cnf');
  return {
    ca: path.join(dir, 'ca.pem'),
    cert: path.join(dir, 'server.pem'),
    key: path.join(dir, 'server.key'),
  };
}

module.exports = { builddir, srcdir, start, run, request, rawConnect, waitFor, tmpdir, makeCA, killAll, slow };
