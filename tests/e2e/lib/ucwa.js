// ucwa.js: helpers for the UCWA client's end-to-end tests: run the test
// driver tests/ucwa-drive (one signed-in agent; JSON lines in and out)
// against a real ucwa-sim, send it commands and wait for what it reports.
'use strict';

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const h = require('./harness');

const live = new Set();
process.on('exit', () => {
  for (const c of live) {
    try { c.kill('SIGKILL'); } catch (_) { /* gone */ }
  }
});

// The CA of a started ucwa-sim, as a file the client can be given.
function caFile(sim) {
  const f = path.join(h.tmpdir('ucwa-ca-'), 'ca.pem');
  fs.writeFileSync(f, sim.ca);
  return f;
}

// Overrides ("-o key=value") for the driver; values are JSON-encoded.
function args(o) {
  const out = [];
  for (const [k, v] of Object.entries(o)) out.push('-o', `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  return out;
}

class Drive {
  constructor(child) {
    this.child = child;
    this.events = [];
    this.stderr = '';
    this.nextId = 1;
    let partial = '';
    child.stdout.on('data', (d) => {
      partial += d;
      let i;
      while ((i = partial.indexOf('\n')) >= 0) {
        const line = partial.slice(0, i);
        partial = partial.slice(i + 1);
        if (line.trim()) this.events.push(JSON.parse(line));
      }
    });
    child.stderr.on('data', (d) => { this.stderr += d; });
    this.exited = new Promise((resolve) => child.on('exit', (code, signal) => {
      live.delete(child);
      this.code = code;
      resolve({ code, signal });
    }));
  }

  // Events matching pred (an object of equal fields, or a function).
  find(pred) {
    const f = typeof pred === 'function' ? pred : (e) => Object.entries(pred).every(([k, v]) => e[k] === v);
    return this.events.filter(f);
  }

  async wait(pred, what = JSON.stringify(pred), timeoutMs = 10000 * h.slow) {
    return h.waitFor(() => this.find(pred)[0], timeoutMs,
      () => `no event ${what}; events:\n${this.events.map((e) => JSON.stringify(e)).join('\n')}\nstderr:\n${this.stderr.slice(-3000)}`);
  }

  // Send a command; returns its id (its "done" or "refused" event carries it).
  send(cmd) {
    const id = this.nextId++;
    this.child.stdin.write(`${JSON.stringify({ id, ...cmd })}\n`);
    return id;
  }

  // Send a command and wait for its completion.
  async cmd(cmd, timeoutMs) {
    const id = this.send(cmd);
    return this.wait((e) => (e.event === 'done' || e.event === 'refused') && e.id === id, `done of ${JSON.stringify(cmd)}`, timeoutMs);
  }

  // Sign out and exit (SIGKILL if it hangs).
  async stop(timeoutMs = 10000 * h.slow) {
    if (this.code !== undefined) return { code: this.code };
    try { this.child.stdin.end(`${JSON.stringify({ cmd: 'quit' })}\n`); } catch (_) { /* closed */ }
    const t = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    const r = await this.exited;
    clearTimeout(t);
    return r;
  }
}

// Start the driver for user against sim (overrides: more upstream.* keys;
// extra: more arguments; resume: a snapshot file to start from instead of signing in).
function drive(sim, { user = 'toshm@contoso.com', password = 'secret', overrides = {}, root, extra = [], resume } = {}) {
  const o = {
    'upstream.discovery_url': root || `https://127.0.0.1:${sim.port}/`,
    'upstream.ca_file': caFile(sim),
    'upstream.backoff_min_ms': 50,
    'upstream.backoff_max_ms': 400,
    'upstream.preview_wait_ms': 1000,
    'log.level': 'debug',
    ...overrides,
  };
  const exe = path.join(h.builddir, 'tests', 'ucwa-drive');
  const wrap = process.env.UCGW_WRAP ? process.env.UCGW_WRAP.split(/\s+/) : [];
  const who = resume ? ['--resume', resume] : ['-u', user, '-p', password];
  const argv = [...wrap, exe, ...args(o), ...extra, ...who];
  const child = spawn(argv[0], argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
  live.add(child);
  return new Drive(child);
}

// Run the driver's --fetch mode once; resolves to its fetch event.
async function fetch(url, overrides) {
  const r = await h.run(path.join('tests', 'ucwa-drive'), [...args(overrides), '--fetch', url]);
  const line = r.stdout.split('\n').find((l) => l.includes('"fetch"'));
  if (!line) throw new Error(`ucwa-drive --fetch printed nothing (exit ${r.code}); stderr:\n${r.stderr}`);
  return JSON.parse(line);
}

module.exports = { drive, fetch, caFile, Drive };
