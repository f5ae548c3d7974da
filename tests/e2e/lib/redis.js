// redis.js: helpers for the cluster tests: a real redis-server started by
// the test on a free loopback port (or a unix socket) in a temporary
// directory, with no persistence, stopped (and killed if it must be) even
// when the test fails; redis-cli for looking at what it holds; and the
// lease driver tests/lease-drive (line commands in, line events out).
'use strict';

const { spawn, execFile } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const h = require('./harness');

// Lease and Redis timeout of the lease driver (longer under valgrind: h.slow).
const LEASE = 600 * h.slow;
const TIMEOUT = 150 * h.slow;

const live = new Set();
function killAll() {
  for (const c of live) {
    try { c.kill('SIGKILL'); } catch (_) { /* gone */ }
  }
}
process.on('exit', killAll);

// A free loopback TCP port (the kernel's choice, released at once).
function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// A running redis-server.
class Redis {
  constructor({ dir, port, socket, password, extraArgs = [] }) {
    this.dir = dir;
    this.port = port;
    this.socket = socket;
    this.password = password;
    this.extraArgs = extraArgs; // e.g. --replicaof HOST PORT
  }

  get url() { return this.socket ? `unix:${this.socket}` : `redis://127.0.0.1:${this.port}`; }

  // Start (again, on the same port or socket: an empty Redis, as after a restart).
  async start() {
    const args = ['--bind', '127.0.0.1', '--port', String(this.socket ? 0 : this.port),
      '--dir', this.dir, '--save', '', '--appendonly', 'no', '--daemonize', 'no',
      '--logfile', '', '--protected-mode', 'no'];
    if (this.socket) args.push('--unixsocket', this.socket, '--unixsocketperm', '700');
    if (this.password) args.push('--requirepass', this.password);
    args.push(...this.extraArgs);
    const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(child);
    this.child = child;
    this.log = '';
    this.exited = new Promise((resolve) => child.on('exit', (code, signal) => {
      live.delete(child);
      resolve({ code, signal });
    }));
    let gone = false;
    child.on('exit', () => { gone = true; });
    child.stdout.on('data', (d) => { this.log += d; });
    child.stderr.on('data', (d) => { this.log += d; });
    try {
      await h.waitFor(() => /ready to accept connections/i.test(this.log) || gone, 10000 * h.slow,
        () => `redis-server did not start; log:\n${this.log}`);
    } catch (e) {
      child.kill('SIGKILL');
      throw e;
    }
    if (gone) throw new Error(`redis-server exited; log:\n${this.log}`);
    return this;
  }

  // kill -9 (a crash); resolves once it is gone.
  async kill() {
    if (!this.child) return;
    this.child.kill('SIGKILL');
    await this.exited;
    this.child = null;
  }

  // Stop it for good (SIGTERM, SIGKILL if it lingers).
  async stop() {
    if (!this.child) return;
    this.child.kill('SIGTERM');
    const t = setTimeout(() => this.child && this.child.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(t);
    this.child = null;
  }

  signal(sig) { this.child.kill(sig); }

  // Run one command with redis-cli; resolves to its raw output, trimmed.
  cli(...cmd) {
    const target = this.socket ? ['-s', this.socket] : ['-h', '127.0.0.1', '-p', String(this.port)];
    const auth = this.password ? ['--no-auth-warning', '-a', this.password] : [];
    return new Promise((resolve, reject) => {
      execFile('redis-cli', [...target, ...auth, '--raw', ...cmd], { timeout: 5000 }, (err, out) => {
        if (err) reject(err); else resolve(String(out).replace(/\n$/, ''));
      });
    });
  }
}

// Start a redis-server in its own temporary directory: TCP on a free port, or a unix socket.
async function startRedis({ unix = false, password, extraArgs } = {}) {
  const dir = h.tmpdir('ucgw-redis-');
  for (let attempt = 0; ; attempt++) {
    const port = unix ? 0 : await freePort();
    const r = new Redis({ dir, port, socket: unix ? path.join(dir, 'redis.sock') : undefined, password, extraArgs });
    try {
      return await r.start();
    } catch (e) {
      if (attempt >= 3 || !/Address already in use/.test(String(e))) throw e;
    }
  }
}

// Files a cluster node needs: a 32-byte key and, if asked, a password file.
function clusterFiles({ password } = {}) {
  const dir = h.tmpdir('ucgw-cluster-');
  const key = path.join(dir, 'cluster.key');
  fs.writeFileSync(key, require('node:crypto').randomBytes(32), { mode: 0o600 });
  let passwordFile;
  if (password !== undefined) {
    passwordFile = path.join(dir, 'redis.pass');
    fs.writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
  }
  return { dir, key, passwordFile, keyBytes: fs.readFileSync(key) };
}

// "-o key=value" arguments; values are JSON-encoded unless strings.
function args(o) {
  const out = [];
  for (const [k, v] of Object.entries(o)) out.push('-o', `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  return out;
}

// The lease driver: send lines, wait for lines.
class LeaseDrive {
  constructor(child, node) {
    this.child = child;
    this.node = node;
    this.lines = [];
    this.stderr = '';
    let partial = '';
    child.stdout.on('data', (d) => {
      partial += d;
      const parts = partial.split('\n');
      partial = parts.pop();
      this.lines.push(...parts);
    });
    child.stderr.on('data', (d) => { this.stderr += d; });
    this.exited = new Promise((resolve) => child.on('exit', (code, signal) => {
      live.delete(child);
      this.code = code;
      this.signal = signal;
      resolve({ code, signal });
    }));
  }

  send(line) { this.child.stdin.write(`${line}\n`); }

  // The first line (after index from) matching re.
  async wait(re, { from = 0, timeoutMs = 10000 * h.slow } = {}) {
    return h.waitFor(() => this.lines.slice(from).find((l) => re.test(l)), timeoutMs,
      () => `${this.node}: no line ${re}; lines:\n${this.lines.join('\n')}\nstderr:\n${this.stderr.slice(-3000)}`);
  }

  async stop() {
    if (this.code !== undefined) return { code: this.code, signal: this.signal };
    try { this.child.stdin.end('quit\n'); } catch (_) { /* closed */ }
    const t = setTimeout(() => this.child.kill('SIGKILL'), 10000 * h.slow);
    const r = await this.exited;
    clearTimeout(t);
    return r;
  }

  async kill() {
    this.child.kill('SIGKILL');
    await this.exited;
  }
}

// Start the lease driver as node against redis (overrides: more keys).
function leaseDrive(redis, files, node, overrides = {}) {
  const o = {
    'cluster.redis': redis.url,
    'cluster.key_file': files.key,
    'cluster.node_id': node,
    'cluster.lease_ms': LEASE,
    'cluster.timeout_ms': TIMEOUT,
    'cluster.backoff_min_ms': 20,
    'cluster.backoff_max_ms': 200,
    'log.level': 'debug',
    ...(files.passwordFile ? { 'cluster.password_file': files.passwordFile } : {}),
    ...overrides,
  };
  const exe = path.join(h.builddir, 'tests', 'lease-drive');
  const wrap = process.env.UCGW_WRAP ? process.env.UCGW_WRAP.split(/\s+/) : [];
  const argv = [...wrap, exe, ...args(o)];
  const child = spawn(argv[0], argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
  live.add(child);
  return new LeaseDrive(child, node);
}

module.exports = { startRedis, clusterFiles, leaseDrive, args, freePort, LEASE, TIMEOUT };
