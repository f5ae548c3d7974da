#!/usr/bin/env node
// bench.js: the benchmark driver behind tests/bench/run (not a test; CI
// neither runs nor times it). Starts ucwa-sim, ucgw and nginx on 127.0.0.1,
// runs the scenarios of issue 8 and prints one table: the machine, the
// command lines and the figures. Every process it starts, it stops.
//   node bench.js BUILDDIR [scenarios=a,b,c,d]
// Environment: BENCH_SECONDS (wrk run length, 5), BENCH_ROUNDS (3), BENCH_CONNS ("16,64,256"),
// BENCH_FAN ("100,1000"), BENCH_RATES ("100,1000" messages/s; the
// first at every N, the others only at the largest N), BENCH_FAN_SECONDS (10),
// BENCH_SCALE ("1000,9000"), BENCH_DIR (work directory), BENCH_PERF=DIR
// (perf record ucgw in the first ucgw round of (a) and each window of (b)),
// BENCH_STRACE=DIR (strace -c ucgw, the same windows), BENCH_CALLGRIND=DIR
// (ucgw under callgrind; one dump per window), BENCH_TRANSPORTS ("long-polling,websocket"
// for (b)), BENCH_SAT_SECONDS (5; the saturation rows of (b)), BENCH_SAT_BATCH (10),
// BENCH_BUSY=1 (a busy loop per core during (a)), BENCH_UCGW_OPTS ("key=value ...":
// more -o options for ucgw).
// Cluster mode (issue 15), scenarios e, f, g: BENCH_CLUSTER_CONNS (64: wrk connections and
// sessions of (e)), BENCH_REDIS_CALLGRIND=DIR (redis-server under callgrind, one dump for
// the cluster node's window of (e); give it BENCH_CALLGRIND's DIR), BENCH_TAKEOVER_RUNS (20),
// BENCH_LEASE_MS (1000: the lease of (f)),
// BENCH_TAKEOVER_EVERY_MS (20: the remote's message cadence in (f)), BENCH_REDIS_AGENTS (100:
// agents of (g)), BENCH_TOKEN_LENS ("1536,2048": the realistic token lengths of (g), each issued
// by a simulator of its own; empty: only the default 64),
// BENCH_LISTPACK_VALUE (4096: the last row of (g) with Redis's hash-max-listpack-value so; 0: none).
'use strict';

const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const lib = require('./lib');
const { haproxyConfig } = require('../e2e/lib/haproxy');

const builddir = path.resolve(process.argv[2] || '.');
const only = (process.argv[3] || 'a,b,c,d').split(',');
const here = __dirname;
const env = (k, d) => (process.env[k] !== undefined && process.env[k] !== '' ? process.env[k] : d);
const SECS = Number(env('BENCH_SECONDS', 5));
const ROUNDS = Number(env('BENCH_ROUNDS', 3));
const CONNS = env('BENCH_CONNS', '16,64,256').split(',').map(Number);
const FAN = env('BENCH_FAN', '100,1000').split(',').map(Number);
const RATES = env('BENCH_RATES', '100,1000').split(',').map(Number);
const FAN_SECS = Number(env('BENCH_FAN_SECONDS', 10));
const SCALE = env('BENCH_SCALE', '1000,9000').split(',').map(Number);
const TRANSPORTS = env('BENCH_TRANSPORTS', 'long-polling,websocket').split(',');
const SAT_SECS = Number(env('BENCH_SAT_SECONDS', 5));
const SAT_BATCH = Number(env('BENCH_SAT_BATCH', 10));
const BUSY = env('BENCH_BUSY', '') === '1';
const dir = env('BENCH_DIR', fs.mkdtempSync(path.join(os.tmpdir(), 'ucgw-bench-')));
const SIM = path.join(builddir, 'ucwa-sim');
const UCGW = path.join(builddir, 'ucgw');
const procs = new Set();
const rows = [];
const cmds = [];
const notes = [];

// Users of ucwa-sim's load.users: each scenario takes its own range.
const U = { gwSessions: 1, ucwa: 1001, profiles: 1301, fan: 2001, scale: 4001,
  clusterOff: 20001, clusterOn: 21001, cluster3: 22001, takeover: 23001, redisMem: 24001 };
const CL_CONNS = Number(env('BENCH_CLUSTER_CONNS', 64));
const TK_RUNS = Number(env('BENCH_TAKEOVER_RUNS', 20));
const TK_LEASE = Number(env('BENCH_LEASE_MS', 1000));
const TK_EVERY = Number(env('BENCH_TAKEOVER_EVERY_MS', 20));
const RM_AGENTS = Number(env('BENCH_REDIS_AGENTS', 100));
const TOKEN_LENS = env('BENCH_TOKEN_LENS', '1536,2048').split(',').filter(Boolean).map(Number);
const SIM_USERS = Math.max(U.scale + Math.max(...SCALE), U.redisMem + RM_AGENTS) + 10;

function say(s) { process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${s}\n`); }

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
    s.on('error', reject);
  });
}

async function started(p) { procs.add(p); return p; }
async function stopped(p) { if (p) { await p.stop(); procs.delete(p); } }

function startSim(extra = []) {
  return lib.start(SIM, [...extra, '-o', 'listen=["http://127.0.0.1:0"]', '-o', 'log.level=error',
    '-o', `load.users=${SIM_USERS}`, '-o', 'limits.outstanding_per_user=1000',
    '-o', `remotes=${JSON.stringify([{ uri: lib.REMOTE.uri, name: 'Bench Remote', accept_ms: 1 }])}`]).then(started);
}

function gwArgs(simPort, extra = []) {
  return ['-o', 'listen=["http://127.0.0.1:0"]', '-o', `upstream.discovery_url=http://127.0.0.1:${simPort}/`,
    '-o', 'log.level=warn', ...extraOpts(), ...extra];
}
// BENCH_UCGW_OPTS="key=value ...": more -o options for every ucgw started.
function extraOpts() {
  return (process.env.BENCH_UCGW_OPTS || '').split(/\s+/).filter(Boolean).flatMap((kv) => ['-o', kv]);
}
// BENCH_CALLGRIND=DIR runs ucgw under callgrind for (b); its counters cover
// each measurement window only (zeroed at the start, dumped at the end).
function gwWrap(args) {
  const d = process.env.BENCH_CALLGRIND;
  if (!d) return [UCGW, args];
  fs.mkdirSync(d, { recursive: true });
  return ['valgrind', ['--tool=callgrind', `--callgrind-out-file=${path.join(d, 'callgrind.out.%p')}`, UCGW, ...args]];
}
function startGw(simPort, extra = []) {
  const [bin, args] = gwWrap(gwArgs(simPort, extra));
  return lib.start(bin, args).then(started);
}

// nginx with proxy_pass and upstream keep-alive in front of ucwa-sim.
async function startNginx(simPort) {
  const port = await freePort();
  const ndir = path.join(dir, 'nginx');
  fs.mkdirSync(ndir, { recursive: true });
  const conf = path.join(ndir, 'nginx.conf');
  fs.writeFileSync(conf, `# generated by tests/bench/bench.js
daemon off;
master_process off;
worker_processes 1;
pid ${ndir}/nginx.pid;
error_log ${ndir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${ndir}/body;
  proxy_temp_path ${ndir}/proxy;
  fastcgi_temp_path ${ndir}/fcgi;
  uwsgi_temp_path ${ndir}/uwsgi;
  scgi_temp_path ${ndir}/scgi;
  keepalive_requests 1000000;
  upstream ucwa { server 127.0.0.1:${simPort}; keepalive 512; keepalive_requests 1000000; }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://ucwa;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_buffering on;
    }
  }
}
`);
  const p = spawn('nginx', ['-p', ndir, '-e', path.join(ndir, 'error.log'), '-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  p.stderr.on('data', (d) => { err += d; });
  const h = { proc: p, pid: p.pid, port, stop: () => lib.stop(p), conf };
  procs.add(h);
  await lib.waitFor(() => new Promise((res) => {
    const s = net.connect(port, '127.0.0.1', () => { s.destroy(); res(true); });
    s.on('error', () => res(false));
  }), 10000, `nginx on ${port} (${err})`);
  cmds.push(`nginx -p ${ndir} -c ${conf}   (worker_processes 1; upstream keepalive 512; proxy_http_version 1.1)`);
  return h;
}

// "2.90ms" -> 2.9 (ms).
function ms(s) {
  const m = /([\d.]+)(us|ms|s)/.exec(s || '');
  if (!m) return NaN;
  return Number(m[1]) * (m[2] === 'us' ? 1e-3 : m[2] === 's' ? 1e3 : 1);
}

// Run wrk; resolves {rps, p50, p99, non2xx, sockerr, out}.
// With pid, also the CPU that process used per request (µs).
function wrk(args, fileEnv, label, pid) {
  const cpu0 = pid ? lib.cpuUs(pid) : 0;
  return new Promise((resolve) => {
    const e = { ...process.env, BENCH_LUA: path.join(here, 'wrk'), ...fileEnv };
    const envs = Object.entries(fileEnv).map(([k, v]) => `${k}=${v}`).join(' ');
    if (label) cmds.push(`${label}: ${envs} wrk ${args.join(' ')}`);
    const p = spawn('wrk', args, { env: e, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { out += d; });
    p.on('exit', () => {
      if (process.env.BENCH_VERBOSE) process.stderr.write(out);
      const g = (re) => { const m = re.exec(out); return m ? m[1] : undefined; };
      const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
      const total = Number(g(/(\d+) requests in/));
      resolve({
        cpu: pid && total ? (lib.cpuUs(pid) - cpu0) / total : NaN,
        rps: Number(g(/Requests\/sec:\s+([\d.]+)/)),
        p50: ms(g(/^\s+50%\s+(\S+)/m)), p99: ms(g(/^\s+99%\s+(\S+)/m)),
        non2xx: Number(g(/Non-2xx or 3xx responses: (\d+)/) || 0),
        sockerr: sock ? sock.slice(1).reduce((a, b) => a + Number(b), 0) : 0,
        extra: g(/^((?:initiate|login): .*)$/m),
        out,
      });
    });
  });
}

function fmt(x, d = 2) { return Number.isFinite(x) ? x.toFixed(d) : '-'; }

function row(scn, what, conns, r, extra = '') {
  rows.push({ scn, what, conns: String(conns), rps: Number.isFinite(r.rps) ? r.rps.toFixed(0) : '-',
    p50: fmt(r.p50), p99: fmt(r.p99), extra: extra + (r.non2xx || r.sockerr ? ` errors:${r.non2xx + r.sockerr}` : '') });
}

// BENCH_BUSY=1: one CPU-burning process per core, at normal priority, for
// the whole of (a)'s measurements: ucgw and nginx must share the machine.
function busyLoops() {
  const n = os.cpus().length;
  cmds.push(`BENCH_BUSY: ${n} x sh -c 'while :; do :; done' during (a)`);
  return Array.from({ length: n }, () => {
    const p = spawn('sh', ['-c', 'while :; do :; done'], { stdio: 'ignore' });
    const b = { proc: p, stop: () => lib.stop(p) };
    procs.add(b);
    return b;
  });
}

// (a) SendMessage through ucgw vs nginx vs straight to ucwa-sim.
async function scenarioA(sim) {
  const maxc = Math.max(...CONNS);
  const gw = await startGw(sim.port);
  cmds.push(`ucgw ${gwArgs(sim.port).join(' ')}`);
  say(`(a) signing in ${maxc} agents through ucgw, each with a Talking session`);
  const adir = path.join(dir, 'a');
  fs.mkdirSync(adir, { recursive: true });
  const setupArgs = [path.join(here, 'setup.js'), '--gateway', `http://127.0.0.1:${gw.port}`, '--agents', String(maxc),
    '--first', String(U.gwSessions), '--out', adir];
  cmds.push(`setup: node ${setupArgs.join(' ').replace(here + '/', 'tests/bench/')}`);
  const s1 = spawnSync('node', setupArgs, { encoding: 'utf8' });
  if (s1.status !== 0) throw new Error(`setup.js failed: ${s1.stderr}`);
  say('(a) connecting the same number of UCWA conversations straight to ucwa-sim (baselines)');
  const ucwaArgs = [path.join(here, 'setup.js'), '--ucwa', `http://127.0.0.1:${sim.port}`, '--agents', String(maxc),
    '--first', String(U.ucwa), '--out', adir];
  cmds.push(`setup: node ${ucwaArgs.join(' ').replace(here + '/', 'tests/bench/')}  (keeps draining the event channels)`);
  const drain = spawn('node', ucwaArgs, { stdio: ['ignore', 'pipe', 'inherit'] });
  const dh = { proc: drain, stop: () => lib.stop(drain) };
  procs.add(dh);
  let dout = '';
  drain.stdout.on('data', (d) => { dout += d; });
  await lib.waitFor(() => /draining/.test(dout) || drain.exitCode !== null, 60000, 'UCWA setup');
  if (drain.exitCode !== null) throw new Error('setup.js --ucwa failed');
  const ngx = await startNginx(sim.port);
  const url = (p) => `http://127.0.0.1:${p}`;
  // Rounds interleave the three targets so that a burst of load from
  // elsewhere on the machine hits all three alike; the round with the
  // median req/s of each target is reported.
  const median = (rs) => rs.slice().sort((x, y) => x.rps - y.rps)[Math.floor(rs.length / 2)];
  const busy = BUSY ? busyLoops() : [];
  const tag = BUSY ? ` (BENCH_BUSY: ${busy.length} busy loops)` : '';
  for (const c of CONNS) {
    const base = ['-t1', `-c${c}`, `-d${SECS}s`, '--latency', '--timeout', '10s'];
    const R = { d: [], n: [], g: [] };
    for (let r = 0; r < ROUNDS; r++) {
      say(`(a) ${c} connections, round ${r + 1}/${ROUNDS}: ucwa-sim, nginx, ucgw`);
      const log = r === 0 ? (k) => k : null;
      R.d.push(await wrk([...base, '-s', path.join(here, 'wrk/ucwa_sendmessage.lua'), url(sim.port)],
        { BENCH_FILE: path.join(adir, 'ucwa.tsv') }, log && `a/ucwa-sim/${c}`, sim.pid));
      R.n.push(await wrk([...base, '-s', path.join(here, 'wrk/ucwa_sendmessage.lua'), url(ngx.port)],
        { BENCH_FILE: path.join(adir, 'ucwa.tsv') }, log && `a/nginx/${c}`, ngx.pid));
      const prof = r === 0 ? perfStart(gw.pid, `a-${c}`) : null;
      R.g.push(await wrk([...base, '-s', path.join(here, 'wrk/sendmessage.lua'), url(gw.port)],
        { BENCH_FILE: path.join(adir, 'sessions.tsv') }, log && `a/ucgw/${c}`, gw.pid));
      await perfStop(prof);
    }
    const d = median(R.d);
    const n = median(R.n);
    const g = median(R.g);
    const spread = (rs) => `rounds ${rs.map((x) => x.rps.toFixed(0)).join('/')}`;
    row('a', `sendMessage straight to ucwa-sim${tag}`, c, d, `sim CPU ${fmt(d.cpu, 1)} µs/req; ${spread(R.d)}`);
    row('a', `sendMessage via nginx proxy_pass${tag}`, c, n, `ratio 1.00; nginx CPU ${fmt(n.cpu, 1)} µs/req; ${spread(R.n)}`);
    const ok = g.rps >= 1.3 * n.rps && g.p99 <= n.p99;
    row('a', `SendMessage via ucgw${tag}`, c, g, `ratio ${fmt(g.rps / n.rps)}, p99 ${fmt(g.p99 / n.p99)}x nginx; ucgw CPU ${fmt(g.cpu, 1)} µs/req; ` +
      `target ${ok ? 'met' : 'MISSED'}; ${spread(R.g)}`);
  }
  for (const b of busy) await stopped(b);
  await stopped(ngx);
  await stopped(dh);
  // The other shipped profiles, once each, through ucgw.
  say('(a) other profiles: session list, InitiateIMSession/Complete, login');
  const pdir = path.join(dir, 'profiles');
  fs.mkdirSync(pdir, { recursive: true });
  const s2 = spawnSync('node', [path.join(here, 'setup.js'), '--gateway', url(gw.port), '--agents', '4',
    '--first', String(U.profiles), '--no-sessions', '--out', pdir], { encoding: 'utf8' });
  if (s2.status !== 0) throw new Error(`setup.js (profiles) failed: ${s2.stderr}`);
  const l = await wrk(['-t1', '-c16', `-d${SECS}s`, '--latency', '-s', path.join(here, 'wrk/sessions_list.lua'), url(gw.port)],
    { BENCH_FILE: path.join(adir, 'agents.tsv') }, 'profile/sessions_list');
  row('a+', 'GET /me/im-sessions?fields=* via ucgw', 16, l, 'one Talking session each');
  const i = await wrk(['-t4', '-c4', `-d${SECS}s`, '--latency', '-s', path.join(here, 'wrk/initiate.lua'), url(gw.port)],
    { BENCH_FILE: path.join(pdir, 'agents.tsv') }, 'profile/initiate');
  row('a+', 'InitiateIMSession/Complete cycles via ucgw', '4 (-t4)', i, (i.extra || '').replace(/^initiate: /, ''));
  const g2 = await wrk(['-t4', '-c4', `-d${SECS}s`, '--latency', '-s', path.join(here, 'wrk/login.lua'), url(gw.port)],
    { BENCH_FILE: path.join(pdir, 'agents.tsv') }, 'profile/login');
  row('a+', 'login sequence (5 requests, incl. UCWA sign-in) via ucgw', '4 (-t4)', g2, (g2.extra || '').replace(/^login: /, ''));
  await stopped(gw);
}

// Sign in agents [from, to) with a parked CometD long-poll each; onMsg(user, msg, t).
async function signInWithCometd(gwPort, from, to, onMsg, par = 32) {
  return lib.pool(from, to, par, async (k) => {
    const u = lib.loadUser(k);
    await lib.login(gwPort, u);
    return { u, cm: await lib.cometd(gwPort, u, (m, t) => onMsg(u, m, t)) };
  });
}

// With BENCH_PERF=DIR, perf record the gateway during a measurement window
// (flat profile; read it with perf report -i DIR/<name>.data --sort sym).
function perfStart(pid, name) {
  const d = process.env.BENCH_PERF;
  const st = process.env.BENCH_STRACE;
  if (process.env.BENCH_CALLGRIND) {
    spawnSync('callgrind_control', ['-z', String(pid)]);
    notes.push(`callgrind profile of ucgw (window ${name}): ${process.env.BENCH_CALLGRIND}`);
    return { callgrind: pid };
  }
  if (st) {
    fs.mkdirSync(st, { recursive: true });
    notes.push(`syscall counts of ucgw: ${path.join(st, `${name}.txt`)}`);
    return spawn('strace', ['-c', '-o', path.join(st, `${name}.txt`), '-p', String(pid)], { stdio: 'ignore' });
  }
  if (!d) return null;
  fs.mkdirSync(d, { recursive: true });
  const p = spawn('perf', ['record', '-e', 'cpu-clock', '-F', '1999', '-g', '-o', path.join(d, `${name}.data`), '-p', String(pid)],
    { stdio: 'ignore' });
  notes.push(`perf profile of ucgw: ${path.join(d, `${name}.data`)}`);
  return p;
}
function perfStop(p, name) {
  if (!p) return Promise.resolve();
  if (p.callgrind) {
    spawnSync('callgrind_control', [name ? `--dump=${name}` : '-d', String(p.callgrind)]);
    return Promise.resolve();
  }
  return new Promise((res) => { p.once('exit', res); p.kill('SIGINT'); });
}

// Connect a CometD client per agent on one transport (replacing the last ones).
async function fanClients(gwPort, agents, transport, onMsg) {
  await lib.pool(0, agents.length, 32, async (k) => { if (agents[k].cm) await agents[k].cm.stop(); });
  const make = transport === 'websocket' ? lib.cometdWs : lib.cometd;
  await lib.pool(0, agents.length, 32, async (k) => {
    const a = agents[k];
    a.cm = await make(gwPort, a.u, (m, t) => onMsg(a.u, m, t));
  });
}

// The fan-out saturation row: as many notifications as the gateway takes,
// published through the test-only endpoint (each agent's own request, a
// batch of SAT_BATCH each, 32 requests in flight) to N connected agents;
// the figure is notifications delivered per second of ucgw CPU (one core).
async function saturation(gw, agents, transport, count) {
  const N = agents.length;
  const body = (k) => JSON.stringify({ messages: Array.from({ length: SAT_BATCH },
    (_, i) => ({ channel: '/v2/me/im-sessions', data: { sat: k * SAT_BATCH + i } })) });
  const ka = new http.Agent({ keepAlive: true, maxSockets: 32 });
  let k = 0;
  let published = 0;
  const perf = perfStart(gw.pid, `sat-${transport}`);
  const run0 = lib.cpuUs(gw.pid);
  const got0 = count.n;
  const t0 = Date.now();
  await Promise.all(Array.from({ length: 32 }, async () => {
    while (Date.now() - t0 < SAT_SECS * 1000) {
      const u = agents[k % N].u;
      const r = await lib.request({ port: gw.port, method: 'POST', path: '/api/v2/diagnostics/publish', agent: ka,
        headers: { Authorization: lib.basic(u), 'Content-Type': 'application/json' }, body: body(k++) });
      if (r.status === 200) published += r.json.queued;
    }
  }));
  await lib.waitFor(() => count.n - got0 >= published, 10000, 'saturation deliveries').catch(() => {});
  const secs = (Date.now() - t0) / 1000;
  const cpu = (lib.cpuUs(gw.pid) - run0) / 1e6;
  await perfStop(perf);
  ka.destroy();
  const got = count.n - got0;
  rows.push({ scn: 'b+', what: `fan-out saturation, ${transport}, N=${N}, publish batches of ${SAT_BATCH}`, conns: String(N),
    rps: `${got}/${published}`, p50: '-', p99: '-',
    extra: `${fmt(got / cpu, 0)} notifications per ucgw CPU second (${fmt(1e6 * cpu / got, 1)} µs each, publish requests ` +
      `included; ucgw CPU ${fmt(cpu, 2)} s in ${fmt(secs, 1)} s: ${fmt(got / secs, 0)}/s wall-clock)` +
      (transport === 'websocket' ? `; target ${got / cpu >= 100000 ? 'met' : 'MISSED'} (100 k/s)` : '') });
}

// (b) notification fan-out, on each transport.
async function scenarioB(sim) {
  const gw = await startGw(sim.port, ['-o', 'debug.publish_endpoint=true']);
  cmds.push(`b: ucgw ${gwArgs(sim.port, ['-o', 'debug.publish_endpoint=true']).join(' ')}  (the test-only publish endpoint for the saturation row)`);
  const sent = new Map();
  const lat = [];
  const count = { n: 0 };
  const onMsg = (u, m, t) => {
    count.n++;
    const mm = /"(bm-\d+)"/.exec(JSON.stringify(m.data));
    if (mm && sent.has(mm[1])) { lat.push(Number(t - sent.get(mm[1])) / 1e6); sent.delete(mm[1]); }
  };
  const agents = [];
  const ctl = new http.Agent({ keepAlive: true, maxSockets: 16 });
  const lpCpu = {};
  let seq = 0;
  for (const N of FAN) {
    say(`(b) N=${N}: signing in with a Talking session per agent`);
    try {
      const more = await lib.pool(U.fan + agents.length, U.fan + N, 32, async (k) => {
        const u = lib.loadUser(k);
        await lib.login(gw.port, u);
        return { u };
      });
      await lib.pool(0, more.length, 32, (k) => lib.talk(gw.port, more[k].u));
      agents.push(...more);
    } catch (e) {
      notes.push(`(b) N=${N}: not measured: ${e.message}`);
      rows.push({ scn: 'b', what: `fan-out N=${N}`, conns: String(N), rps: '-', p50: '-', p99: '-', extra: `NOT MEASURED: ${e.message}` });
      break;
    }
    for (const T of TRANSPORTS) {
      say(`(b) N=${N}: a CometD ${T} client per agent`);
      await fanClients(gw.port, agents, T, onMsg);
      for (const RATE of N === Math.max(...FAN) ? RATES : RATES.slice(0, 1)) {
        lat.length = 0;
        sent.clear();
        const total = RATE * FAN_SECS;
        say(`(b) N=${N}, ${T}: ${RATE} messages/s from the remote for ${FAN_SECS} s`);
        const perf = perfStart(gw.pid, `b-${N}-${RATE}-${T}`);
        const cpu0 = lib.cpuSplitUs(gw.pid);
        const run0 = lib.cpuUs(gw.pid);
        const t0 = Date.now();
        let fails = 0;
        const inflight = [];
        for (let k = 0; k < total; k++) {
          const due = t0 + (k * 1000) / RATE;
          const wait = due - Date.now();
          if (wait > 0) await new Promise((r) => setTimeout(r, wait));
          const a = agents[k % N];
          const text = `bm-${seq++}`;
          sent.set(text, process.hrtime.bigint());
          inflight.push(lib.request({ port: sim.port, method: 'POST', agent: ctl,
            path: `/_sim/remotes/${encodeURIComponent(lib.REMOTE.id)}/message`, headers: { 'Content-Type': 'application/json' },
            body: JSON.stringify({ to: a.u.user, text }) }).then((r) => { if (r.status !== 200) { fails++; sent.delete(text); } }));
        }
        await Promise.all(inflight);
        const achieved = total / ((Date.now() - t0) / 1000);
        await lib.waitFor(() => sent.size === 0, 5000, 'deliveries').catch(() => {});
        const cpu1 = lib.cpuSplitUs(gw.pid);
        const run1 = lib.cpuUs(gw.pid);
        await perfStop(perf);
        const got = lat.length;
        lat.sort((x, y) => x - y);
        const user = cpu1.user - cpu0.user, sys = cpu1.sys - cpu0.sys;
        const per = got ? (run1 - run0) / got : NaN;
        let target = '';
        if (T === 'long-polling') lpCpu[`${N}/${RATE}`] = per;
        else if (lpCpu[`${N}/${RATE}`]) {
          const ratio = per / lpCpu[`${N}/${RATE}`];
          const p99ok = !(N === 1000 && RATE === 1000) || lib.pct(lat, 0.99) <= 2;
          target = `; ${fmt(ratio)}x the long-poll CPU; target (<= 0.5x${N === 1000 && RATE === 1000 ? ', p99 <= 2 ms' : ''}) ` +
            `${ratio <= 0.5 && p99ok ? 'met' : 'MISSED'}`;
        }
        rows.push({ scn: 'b', what: `fan-out N=${N}, ${RATE} msg/s (${achieved.toFixed(0)} achieved), ${FAN_SECS} s, ${T}`,
          conns: String(N), rps: `${got}/${total}`, p50: fmt(lib.pct(lat, 0.5)), p99: fmt(lib.pct(lat, 0.99)),
          extra: `ucgw CPU ${fmt(per, 1)} µs/notification (${((run1 - run0) / 1000).toFixed(0)} ms in all; ` +
            `sampled per tick: user ${(user / 1000).toFixed(0)}, kernel ${(sys / 1000).toFixed(0)})` +
            `${fails ? `, ${fails} control errors` : ''}${target}` });
      }
      if (N === Math.max(...FAN) && SAT_SECS > 0) {
        say(`(b) N=${N}, ${T}: saturation, ${SAT_SECS} s`);
        await saturation(gw, agents, T, count);
      }
    }
  }
  // Calibration: what one small request costs a server at 100 requests/s
  // on this machine (wake-up, loopback TCP), nginx proxied vs ucgw local.
  try {
    const ngx = await startNginx(sim.port);
    const at100 = async (pid, port, p) => {
      const c0 = lib.cpuUs(pid);
      const t0 = Date.now();
      const ka = new http.Agent({ keepAlive: true, maxSockets: 1 });
      for (let i = 0; i < 500; i++) {
        const w = t0 + i * 10 - Date.now();
        if (w > 0) await new Promise((r) => setTimeout(r, w));
        await lib.request({ port, path: p, agent: ka });
      }
      ka.destroy();
      return (lib.cpuUs(pid) - c0) / 500;
    };
    const n = await at100(ngx.pid, ngx.port, '/bench-404');
    const g = await at100(gw.pid, gw.port, '/api/v2/diagnostics/version');
    await stopped(ngx);
    rows.push({ scn: 'b0', what: 'calibration: one small request at 100 req/s, 500 requests', conns: '1', rps: '-', p50: '-', p99: '-',
      extra: `CPU per request: nginx proxying to ucwa-sim (404) ${fmt(n, 0)} µs, ucgw answering GET /api/v2/diagnostics/version ${fmt(g, 0)} µs` });
  } catch (e) {
    notes.push(`(b) calibration not measured: ${e.message}`);
  }
  for (const a of agents) if (a.cm) a.cm.quit();
  ctl.destroy();
  await stopped(gw);
}

// Count the simulator's applications with a parked P-GET among users [from, to).
async function parkedPgets(sim, from, to) {
  const st = await lib.request({ port: sim.port, path: '/_sim/state', timeoutMs: 60000, agent: false });
  let n = 0;
  for (const a of (st.json && st.json.applications) || []) {
    const m = /load(\d+)@/.exec(a.user);
    if (m && a.parked && Number(m[1]) >= from && Number(m[1]) < to) n++;
  }
  return n;
}

// (c) resident memory with signed-in agents.
async function scenarioC(sim) {
  const gw = await startGw(sim.port, ['-o', 'limits.max_connections=100000', '-o', 'cometd.max_clients=100000']);
  cmds.push(`c: ucgw ${gwArgs(sim.port, ['-o', 'limits.max_connections=100000', '-o', 'cometd.max_clients=100000']).join(' ')}`);
  const agents = [];
  const rss0 = lib.rssKiB(gw.pid);
  rows.push({ scn: 'c', what: 'ucgw VmRSS, no agent', conns: '0', rps: '-', p50: '-', p99: '-', extra: `${(rss0 / 1024).toFixed(1)} MiB` });
  let prev = { n: 0, rss: rss0 };
  for (const N of SCALE) {
    say(`(c) signing in agents up to ${N}, each with a parked P-GET upstream and a parked CometD long-poll`);
    try {
      agents.push(...await signInWithCometd(gw.port, U.scale + agents.length, U.scale + N, () => {}, 64));
      await lib.waitFor(async () => (await parkedPgets(sim, U.scale, U.scale + N)) >= N, 60000, `${N} parked P-GETs`);
    } catch (e) {
      rows.push({ scn: 'c', what: `ucgw VmRSS, ${N} agents`, conns: String(N), rps: '-', p50: '-', p99: '-', extra: `NOT MEASURED: ${e.message}` });
      break;
    }
    await new Promise((r) => setTimeout(r, 500));
    const rss = lib.rssKiB(gw.pid);
    const fds = fs.readdirSync(`/proc/${gw.pid}/fd`).length;
    rows.push({ scn: 'c', what: `ucgw VmRSS, ${N} agents (P-GET + CometD parked)`, conns: String(N), rps: '-', p50: '-', p99: '-',
      extra: `${(rss / 1024).toFixed(1)} MiB; ${((rss - rss0) / N).toFixed(1)} KiB/agent over empty, ` +
        `${((rss - prev.rss) / (N - prev.n)).toFixed(1)} KiB/agent marginal; ${fds} fds` });
    prev = { n: N, rss };
  }
  for (const a of agents) a.cm.quit();
  await stopped(gw);
}

// A translation file: conf/translate.json with n directory entries.
function translateFile(n) {
  const src = fs.readFileSync(path.join(here, '../../conf/translate.json'), 'utf8');
  const ents = [];
  for (let i = 0; i < n; i++) ents.push(`{"phone":"7${String(i).padStart(6, '0')}","sip":"sip:dir${i}@example.com"}`);
  const out = src.replace(/"directory":\s*\[[^\]]*\]/, `"directory": [\n${ents.join(',\n')}\n]`);
  if (out === src && n) throw new Error('no "directory" in conf/translate.json');
  const f = path.join(dir, `translate-${n}.json`);
  fs.writeFileSync(f, out);
  return f;
}

// (d) ucgw -t and SIGHUP reload with 10k directory entries.
async function scenarioD(sim) {
  const n = 10000;
  const conf = (tf) => {
    const f = path.join(dir, `ucgw-${path.basename(tf)}.conf`);
    fs.writeFileSync(f, JSON.stringify({ listen: ['http://127.0.0.1:0'], log: { level: 'info' },
      upstream: { discovery_url: `http://127.0.0.1:${sim.port}/` }, translate: { file: tf } }));
    return f;
  };
  for (const k of [0, n]) {
    const c = conf(translateFile(k));
    const times = [];
    for (let r = 0; r < 5; r++) {
      const t = process.hrtime.bigint();
      const p = spawnSync(UCGW, ['-t', '-c', c], { encoding: 'utf8' });
      times.push(Number(process.hrtime.bigint() - t) / 1e6);
      if (p.status !== 0) throw new Error(`ucgw -t: ${p.stdout}${p.stderr}`);
    }
    times.sort((x, y) => x - y);
    cmds.push(`d: ucgw -t -c ${c}   (${k} directory entries; 5 runs)`);
    rows.push({ scn: 'd', what: `ucgw -t, ${k} directory entries (whole process)`, conns: '-', rps: '-',
      p50: fmt(times[2]), p99: fmt(times[4]), extra: 'median / max of 5 runs' });
  }
  const c = conf(translateFile(n));
  const gw = await lib.start(UCGW, ['-c', c]).then(started);
  cmds.push(`d: ucgw -c ${c}; kill -HUP <pid> x5 while a client sends GET /api/v2/diagnostics/version back to back`);
  const ka = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const pauses = [];
  const logged = [];
  const quiet = [];
  for (let r = 0; r < 10; r++) {
    const hup = r % 2 === 1; // even rounds: the same window without SIGHUP
    let running = true;
    let worst = 0;
    const loop = (async () => {
      while (running) {
        const t = process.hrtime.bigint();
        await lib.request({ port: gw.port, path: '/api/v2/diagnostics/version', agent: ka });
        worst = Math.max(worst, Number(process.hrtime.bigint() - t) / 1e6);
      }
    })();
    await new Promise((res) => setTimeout(res, 100));
    const before = gw.log().length;
    if (hup) {
      process.kill(gw.pid, 'SIGHUP');
      await lib.waitFor(() => /reload done|reload refused/.test(gw.log().slice(before)), 10000, 'reload done');
    }
    await new Promise((res) => setTimeout(res, 100));
    running = false;
    await loop;
    if (!hup) { quiet.push(worst); continue; }
    pauses.push(worst);
    const lg = gw.log().slice(before);
    const a = /(\d\d):(\d\d):(\d\d)\.(\d{3})Z \S+\s+.*SIGHUP: reloading/.exec(lg);
    const b = /(\d\d):(\d\d):(\d\d)\.(\d{3})Z \S+\s+.*reload done/.exec(lg);
    const msOf = (m) => ((Number(m[1]) * 60 + Number(m[2])) * 60 + Number(m[3])) * 1000 + Number(m[4]);
    if (a && b) logged.push(msOf(b) - msOf(a));
  }
  ka.destroy();
  await stopped(gw);
  pauses.sort((x, y) => x - y);
  logged.sort((x, y) => x - y);
  quiet.sort((x, y) => x - y);
  const ok = pauses[4] <= 10;
  rows.push({ scn: 'd', what: `SIGHUP reload, ${n} directory entries: slowest request during the reload`, conns: '1', rps: '-',
    p50: fmt(pauses[2]), p99: fmt(pauses[4]),
    extra: `median / max of 5; log "SIGHUP: reloading"->"reload done" ${logged.join(', ')} ms; ` +
      `same window without SIGHUP: worst ${fmt(quiet[quiet.length - 1])} ms; target ${ok ? 'met' : 'MISSED'}` });
}

// ---- cluster mode (issue 15): redis-server, nodes, haproxy ----

// The cluster key every node of the benchmark shares (32 random bytes, mode 0600).
let clusterKeyFile = null;
function clusterKey() {
  if (!clusterKeyFile) {
    clusterKeyFile = path.join(dir, 'cluster.key');
    fs.writeFileSync(clusterKeyFile, require('node:crypto').randomBytes(32), { mode: 0o600 });
  }
  return clusterKeyFile;
}

// A redis-server of its own on a free port, in its own directory, no persistence.
// Its handle has cli(...args) (redis-cli --raw, synchronous: for set-up and reading, not in
// a measured window) and stop().
async function startRedis() {
  const port = await freePort();
  const rdir = path.join(dir, `redis-${port}`);
  fs.mkdirSync(rdir, { recursive: true });
  const args = ['--bind', '127.0.0.1', '--port', String(port), '--dir', rdir, '--save', '', '--appendonly', 'no',
    '--daemonize', 'no', '--logfile', '', '--protected-mode', 'no'];
  // BENCH_REDIS_CALLGRIND=DIR: redis-server under callgrind too, its counters zeroed and dumped
  // with the cluster node's window of (e) (tests/bench/cgcount.py: per SendMessage of that node).
  const rcg = process.env.BENCH_REDIS_CALLGRIND;
  if (rcg) fs.mkdirSync(rcg, { recursive: true });
  const p = rcg
    ? spawn('valgrind', ['--tool=callgrind', `--callgrind-out-file=${path.join(rcg, 'redis.%p')}`, 'redis-server', ...args],
      { stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  p.stdout.on('data', (d) => { log += d; });
  p.stderr.on('data', (d) => { log += d; });
  const r = {
    proc: p, pid: p.pid, port, url: `redis://127.0.0.1:${port}`, stop: () => lib.stop(p),
    cli: (...a) => {
      const x = spawnSync('redis-cli', ['-h', '127.0.0.1', '-p', String(port), '--raw', ...a], { encoding: 'utf8', maxBuffer: 1 << 28 });
      if (x.status !== 0) throw new Error(`redis-cli ${a.join(' ')}: ${x.stderr}`);
      return x.stdout.replace(/\n$/, '');
    },
  };
  procs.add(r);
  await lib.waitFor(() => /ready to accept connections/i.test(log) || p.exitCode !== null, 10000, `redis-server (${log})`);
  if (p.exitCode !== null) throw new Error(`redis-server exited: ${log}`);
  const v = r.cli('INFO', 'server').match(/redis_version:(\S+)/);
  cmds.push(`redis-server ${args.join(' ')}   (Redis ${v ? v[1] : '?'})`);
  return r;
}
function redisInfo(redis, key) {
  const m = new RegExp(`^${key}:(\\d+)`, 'm').exec(redis.cli('INFO', 'memory'));
  return m ? Number(m[1]) : NaN;
}

// Redis's command counts (INFO commandstats): calls per command, and all of them (less INFO).
function redisCalls(redis) {
  const o = { all: 0 };
  for (const m of redis.cli('INFO', 'commandstats').matchAll(/^cmdstat_([^:]+):calls=(\d+)/mg)) {
    if (m[1] === 'info') continue;
    o[m[1]] = Number(m[2]);
    o.all += Number(m[2]);
  }
  return o;
}

// The -o options of a cluster node (a lease of lease ms; the Redis timeout below a third of it).
function clusterArgs(redis, id, lease = 10000) {
  return [`cluster.redis=${redis.url}`, `cluster.key_file=${clusterKey()}`, `cluster.node_id=${id}`,
    `cluster.lease_ms=${lease}`, `cluster.timeout_ms=${Math.min(2000, Math.floor(lease / 4))}`,
    'proxy.trusted=["127.0.0.1"]'].flatMap((kv) => ['-o', kv]);
}
// A cluster node, resolved once it is registered in Redis (its /healthz says so).
async function startNode(sim, redis, id, lease) {
  const gw = await startGw(sim.port, clusterArgs(redis, id, lease));
  gw.id = id;
  await lib.waitFor(async () => {
    const h = await lib.request({ port: gw.port, path: '/healthz', agent: false }).catch(() => null);
    return h && h.json && h.json.cluster && h.json.cluster.registered;
  }, 30000, `node ${id} registered`);
  return gw;
}

// haproxy in front of the nodes: the configuration of docs/cluster.md (round-robin, no stickiness).
async function startHaproxy(nodes, name) {
  const port = await freePort();
  const hdir = path.join(dir, name.replace(/\W+/g, '-'));
  fs.mkdirSync(hdir, { recursive: true });
  const cfg = path.join(hdir, 'haproxy.cfg');
  // docs/cluster.md's configuration without its failure settings: no node fails here, and
  // http-server-close would add a connection per request
  fs.writeFileSync(cfg, haproxyConfig(port, nodes, { failover: false, maxconn: 4096 }));
  const bin = fs.existsSync('/usr/sbin/haproxy') ? '/usr/sbin/haproxy' : 'haproxy';
  const p = spawn(bin, ['-db', '-f', cfg], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  p.stdout.on('data', (d) => { log += d; });
  p.stderr.on('data', (d) => { log += d; });
  const hp = { proc: p, pid: p.pid, port, stop: () => lib.stop(p) };
  procs.add(hp);
  await lib.waitFor(async () => {
    const h = await lib.request({ port, path: '/healthz', agent: false }).catch(() => null);
    return h && h.status === 200;
  }, 10000, `haproxy (${log})`);
  const v = spawnSync(bin, ['-v'], { encoding: 'utf8' }).stdout.split('\n')[0];
  cmds.push(`${name}: ${bin} -db -f ${cfg}   (${v}; round-robin over ${nodes.length} node(s))`);
  return hp;
}

// Sign in agents [first, first+n) through the gateway URL, a Talking session each; their
// sessions.tsv and agents.tsv in a directory of their own.
function setupAgents(gwUrl, first, n, name) {
  const d = path.join(dir, name);
  fs.mkdirSync(d, { recursive: true });
  const a = [path.join(here, 'setup.js'), '--gateway', gwUrl, '--agents', String(n), '--first', String(first), '--out', d];
  cmds.push(`${name}: node ${a.join(' ').replace(here + '/', 'tests/bench/')}`);
  const s = spawnSync('node', a, { encoding: 'utf8' });
  if (s.status !== 0) throw new Error(`setup.js (${name}) failed: ${s.stderr}`);
  return d;
}

// (e) SendMessage req/s: cluster mode off vs on, on one node; haproxy over one node vs three.
async function scenarioE(sim) {
  const c = CL_CONNS;
  const url = (p) => `http://127.0.0.1:${p}`;
  const redis = await startRedis();
  const off = await startGw(sim.port);
  cmds.push(`e/off: ucgw ${gwArgs(sim.port).join(' ')}`);
  const n1 = await startNode(sim, redis, 'bench-n1');
  cmds.push(`e/on: ucgw ${gwArgs(sim.port, clusterArgs(redis, 'bench-n1')).join(' ')}`);
  say(`(e) signing in ${c} agents with a Talking session on the single node and on the cluster node`);
  const dOff = setupAgents(url(off.port), U.clusterOff, c, 'e-off');
  const dOn = setupAgents(url(n1.port), U.clusterOn, c, 'e-on');
  const base = ['-t1', `-c${c}`, `-d${SECS}s`, '--latency', '--timeout', '10s', '-s', path.join(here, 'wrk/sendmessage.lua')];
  const median = (rs) => rs.slice().sort((x, y) => x.rps - y.rps)[Math.floor(rs.length / 2)];
  const spread = (rs) => `rounds ${rs.map((x) => x.rps.toFixed(0)).join('/')}`;
  // Redis's CPU per request, measured alongside (wrk's pid argument measures ucgw's).
  const withRedis = async (p) => { const r0 = lib.cpuUs(redis.pid); const r = await p; r.redisCpu = (lib.cpuUs(redis.pid) - r0); return r; };
  const R = { off: [], on: [] };
  for (let r = 0; r < ROUNDS; r++) {
    say(`(e) ${c} connections, round ${r + 1}/${ROUNDS}: cluster off, cluster on`);
    const log = r === 0 ? (k) => k : () => null;
    let prof = r === 0 ? perfStart(off.pid, 'e-off') : null;
    R.off.push(await wrk([...base, url(off.port)], { BENCH_FILE: path.join(dOff, 'sessions.tsv') }, log('e/off'), off.pid));
    await perfStop(prof);
    prof = r === 0 ? perfStart(n1.pid, 'e-on') : null;
    const rprof = r === 0 && process.env.BENCH_REDIS_CALLGRIND ? { callgrind: redis.pid } : null;
    if (rprof) spawnSync('callgrind_control', ['-z', String(redis.pid)]);
    const k0 = r === 0 ? redisCalls(redis) : null;
    const x = await withRedis(wrk([...base, url(n1.port)], { BENCH_FILE: path.join(dOn, 'sessions.tsv') }, log('e/on'), n1.pid));
    await perfStop(prof);
    await perfStop(rprof);
    if (k0) { // Redis's commands per SendMessage of the cluster node (scripts' commands included)
      const k1 = redisCalls(redis);
      const per = (k) => fmt((k1[k] - (k0[k] || 0)) / (x.rps * SECS), 2);
      const kinds = Object.keys(k1).filter((k) => k !== 'all' && (k1[k] - (k0[k] || 0)) / (x.rps * SECS) >= 0.01);
      notes.push(`(e) one cluster node, round 1: Redis commands per SendMessage ${per('all')} (${kinds.map((k) => `${k} ${per(k)}`).join(', ')})`);
    }
    R.on.push(x);
  }
  const o = median(R.off);
  const n = median(R.on);
  const total = (x) => x.rps * SECS;
  row('e', 'SendMessage, single node (cluster mode off)', c, o, `ucgw CPU ${fmt(o.cpu, 1)} µs/req; ${spread(R.off)}`);
  const ok = n.rps >= 0.8 * o.rps;
  row('e', 'SendMessage, one node in cluster mode (Redis)', c, n, `ratio ${fmt(n.rps / o.rps)} of cluster off; ucgw CPU ${fmt(n.cpu, 1)} µs/req, ` +
    `redis-server CPU ${fmt(n.redisCpu / total(n), 1)} µs/req; target (>= 0.80) ${ok ? 'met' : 'MISSED'}; ${spread(R.on)}`);
  if (process.env.BENCH_CALLGRIND) notes.push(`(e) callgrind: pid ${off.pid} = cluster off, pid ${n1.pid} = cluster on (tests/bench/cgcount.py DIR)`);
  // haproxy: over the cluster node alone, then over three nodes with agents spread by round-robin.
  say('(e) starting two more nodes and haproxy');
  const hp1 = await startHaproxy([n1], 'e/haproxy-1');
  const n2 = await startNode(sim, redis, 'bench-n2');
  const n3 = await startNode(sim, redis, 'bench-n3');
  const hp3 = await startHaproxy([n1, n2, n3], 'e/haproxy-3');
  say(`(e) signing in ${c} more agents through haproxy over three nodes`);
  const d3 = setupAgents(url(hp3.port), U.cluster3, c, 'e-3');
  const owners = {};
  for (const l of fs.readFileSync(path.join(d3, 'agents.tsv'), 'utf8').split('\n').filter(Boolean)) {
    const h = redis.cli('GET', `ucgw:lease:agent:${l.split('\t')[0]}`);
    owners[h] = (owners[h] || 0) + 1;
  }
  if (process.env.BENCH_CALLGRIND) {
    // one window over the three nodes, each node's dump named e-3 (cgcount.py sums them)
    notes.push(`(e) callgrind: window e-3 = haproxy over three nodes, pids ${n1.pid} ${n2.pid} ${n3.pid}; haproxy over one node not measured`);
    const profs = [n1, n2, n3].map((g) => perfStart(g.pid, 'e-3'));
    const k0 = redisCalls(redis);
    const b = await withRedis(wrk([...base, url(hp3.port)], { BENCH_FILE: path.join(d3, 'sessions.tsv') }, 'e/haproxy-3', hp3.pid));
    for (const p of profs) await perfStop(p, 'e-3');
    const k1 = redisCalls(redis);
    const per = (x) => fmt(x / total(b), 2);
    const kinds = Object.keys(k1).filter((k) => k !== 'all' && (k1[k] - (k0[k] || 0)) / total(b) >= 0.01);
    row('e', 'SendMessage via haproxy, three cluster nodes (round-robin), under callgrind', c, b,
      `Redis commands per SendMessage ${per(k1.all - k0.all)} (${kinds.map((k) => `${k} ${per(k1[k] - (k0[k] || 0))}`).join(', ')}); ` +
      `owners ${Object.entries(owners).map(([k, v]) => `${k.replace(/^bench-/, '')}:${v}`).join(' ')}`);
    for (const p of [hp3, hp1, n3, n2, n1, off, redis]) await stopped(p);
    return;
  }
  const H = { one: [], three: [] };
  const cpuOf = (ns) => ns.reduce((a, g) => a + lib.cpuUs(g.pid), 0);
  for (let r = 0; r < ROUNDS; r++) {
    say(`(e) ${c} connections, round ${r + 1}/${ROUNDS}: haproxy over one node, over three`);
    const log = r === 0 ? (k) => k : () => null;
    let c0 = cpuOf([n1]);
    const a = await withRedis(wrk([...base, url(hp1.port)], { BENCH_FILE: path.join(dOn, 'sessions.tsv') }, log('e/haproxy-1'), hp1.pid));
    a.nodeCpu = (cpuOf([n1]) - c0) / total(a);
    H.one.push(a);
    c0 = cpuOf([n1, n2, n3]);
    const b = await withRedis(wrk([...base, url(hp3.port)], { BENCH_FILE: path.join(d3, 'sessions.tsv') }, log('e/haproxy-3'), hp3.pid));
    b.nodeCpu = (cpuOf([n1, n2, n3]) - c0) / total(b);
    H.three.push(b);
  }
  const a = median(H.one);
  const b = median(H.three);
  row('e', 'SendMessage via haproxy, one cluster node', c, a, `ucgw CPU ${fmt(a.nodeCpu, 1)} µs/req, haproxy ${fmt(a.cpu, 1)}, ` +
    `redis-server ${fmt(a.redisCpu / total(a), 1)}; ${spread(H.one)}`);
  row('e', 'SendMessage via haproxy, three cluster nodes (round-robin)', c, b, `ratio ${fmt(b.rps / a.rps)} of one node; ` +
    `ucgw CPU (3 nodes) ${fmt(b.nodeCpu, 1)} µs/req, haproxy ${fmt(b.cpu, 1)}, redis-server ${fmt(b.redisCpu / total(b), 1)}; ` +
    `owners ${Object.entries(owners).map(([k, v]) => `${k.replace(/^bench-/, '')}:${v}`).join(' ')}; ${spread(H.three)}`);
  for (const p of [hp3, hp1, n3, n2, n1, off, redis]) await stopped(p);
}

// A desktop that outlives its node: a raw Bayeux long-poll client (Basic and the session
// cookie on every request, like lib.cometd) that retries a failed request after 20 ms (it does
// not wait out Retry-After: the figure is the gateway's), re-handshakes when told to
// (402::Unknown client) and then signs in again (StartContactCenterSession, Ready), as a
// desktop that finds its session gone does. onMessage(msg, tIssued, tReceived) for each
// notification, with the time its /meta/connect was sent.
function desktop(port, u, onMessage) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 2 });
  const st = { running: true, cookie: null, clientId: null, clientIds: [], handshakes: 0, errors: 0, id: 1 };
  const post = async (msgs) => {
    const headers = { Authorization: lib.basic(u), 'Content-Type': 'application/json' };
    if (st.cookie) headers.Cookie = st.cookie;
    const r = await lib.request({ port, method: 'POST', path: '/api/v2/notifications', agent, timeoutMs: 120000,
      headers, body: JSON.stringify(msgs) });
    const sc = [].concat(r.headers['set-cookie'] || []).map((c) => /^(JSESSIONID=[^;]*)/.exec(c)).find(Boolean);
    if (sc) st.cookie = sc[1];
    return r;
  };
  const handshake = async () => {
    const hs = await post([{ id: String(st.id++), channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['long-polling'] }]);
    if (hs.status !== 200 || !hs.json || !hs.json[0].successful) throw new Error(`handshake ${u.user}: ${hs.status} ${hs.body.slice(0, 200)}`);
    st.clientId = hs.json[0].clientId;
    st.clientIds.push(st.clientId);
    st.handshakes++;
    await post([{ id: String(st.id++), channel: '/meta/connect', clientId: st.clientId, connectionType: 'long-polling', advice: { timeout: 0 } }]);
    const sub = await post([{ id: String(st.id++), channel: '/meta/subscribe', clientId: st.clientId, subscription: '/v2/me/*' }]);
    if (sub.status !== 200 || !sub.json || !sub.json[0].successful) throw new Error(`subscribe ${u.user}: ${sub.status} ${sub.body.slice(0, 200)}`);
  };
  const pause = (ms) => new Promise((r) => setTimeout(r, ms));
  st.ready = (async () => {
    await handshake();
    st.loop = (async () => {
      while (st.running) {
        const t = process.hrtime.bigint();
        let r;
        try {
          r = await post([{ id: String(st.id++), channel: '/meta/connect', clientId: st.clientId, connectionType: 'long-polling' }]);
        } catch (e) { st.errors++; await pause(20); continue; }
        if (r.status !== 200 || !Array.isArray(r.json)) { st.errors++; await pause(20); continue; }
        const tr = process.hrtime.bigint();
        for (const m of r.json) {
          if (!m.channel.startsWith('/meta/')) { onMessage(m, t, tr); continue; }
          if (m.channel === '/meta/connect' && !m.successful && st.running) {
            try {
              await handshake();
              await lib.gws(port, u, 'POST', '/me', { operationName: 'StartContactCenterSession', channels: ['im'] });
              await lib.gws(port, u, 'POST', '/me', { operationName: 'Ready' });
            } catch (e) { st.errors++; await pause(20); }
          }
        }
      }
    })();
  })();
  st.stop = async () => {
    st.running = false;
    await post([{ id: String(st.id++), channel: '/meta/disconnect', clientId: st.clientId }]).catch(() => {});
    agent.destroy();
  };
  return st;
}

// (f) take-over time: kill -9 of an agent's owner to the first notification the new owner delivers.
async function scenarioF(sim) {
  const redis = await startRedis();
  let seq = 0;
  const node = async () => startNode(sim, redis, `bench-f${++seq}`, TK_LEASE);
  let owner = await node();
  let other = await node();
  cmds.push(`f: ucgw ${gwArgs(sim.port, clusterArgs(redis, 'bench-fN', TK_LEASE)).join(' ')}   (two nodes; the killed one replaced by a new one each run)`);
  cmds.push(`f: the remote's messages: POST /_sim/remotes/${lib.REMOTE.id}/message {"to","text"} every ${TK_EVERY} ms ` +
    '(invite instead when it answers 409: no conversation)');
  const ctl = new http.Agent({ keepAlive: true, maxSockets: 4 });
  const sent = new Map(); // text -> when the remote sent it
  const times = [];
  const imTimes = [];
  const gaps = [];
  const kinds = {};
  const lost = [];
  let kept = 0;
  for (let r = 0; r < TK_RUNS; r++) {
    const u = lib.loadUser(U.takeover + r);
    say(`(f) run ${r + 1}/${TK_RUNS}: ${u.user} owned by ${owner.id}, its desktop on ${other.id}`);
    await lib.login(owner.port, u);
    const sid = await lib.talk(owner.port, u);
    const holder = redis.cli('GET', `ucgw:lease:agent:${u.user}`);
    if (holder !== owner.id) throw new Error(`lease of ${u.user} held by ${holder}, not ${owner.id}`);
    let t0 = null;
    let first = null;
    let firstIm = null;
    const got = [];
    const accepted = [];
    const desk = desktop(other.port, u, (m, tIssued, tRecv) => {
      const d = m.data || {};
      const text = d.message;
      if (typeof text === 'string') got.push(text);
      if (t0 !== null && tIssued > t0 && firstIm === null && typeof text === 'string' && text.startsWith(`tk-${r}-`)) firstIm = { t: tRecv };
      if (t0 !== null && tIssued > t0 && first === null) {
        const same = !d.imSession ? '' : d.imSession.id === sid ? ' (same session)' : ' (another session)';
        const kind = d.messageType ? `${d.messageType}${same}`
          : `${d.notificationType || m.channel}${d.imSession && d.imSession.state ? ` ${d.imSession.state}` : ''}` +
            `${same}`;
        first = { t: tRecv, kind };
      }
    });
    await desk.ready;
    const clientId = desk.clientId;
    let remoteOn = true;
    let k = 0;
    const remote = (async () => {
      while (remoteOn) {
        const text = `tk-${r}-${k++}`;
        const t = Date.now();
        sent.set(text, t);
        const body = JSON.stringify({ to: u.user, text });
        const q = (action) => lib.request({ port: sim.port, method: 'POST', agent: ctl, path: `/_sim/remotes/${encodeURIComponent(lib.REMOTE.id)}/${action}`,
          headers: { 'Content-Type': 'application/json' }, body });
        let x = await q('message').catch(() => ({ status: 0 }));
        if (x.status === 409) x = await q('invite').catch(() => ({ status: 0 }));
        if (x.status === 200) accepted.push(text);
        const w = t + TK_EVERY - Date.now();
        if (w > 0) await new Promise((res) => setTimeout(res, w));
      }
    })();
    await lib.waitFor(() => got.some((x) => x.startsWith(`tk-${r}-`)), 10000, `first remote message to ${u.user}`);
    await new Promise((res) => setTimeout(res, 300));
    t0 = process.hrtime.bigint();
    owner.proc.kill('SIGKILL');
    const deadline = 30000;
    await lib.waitFor(() => first && firstIm, deadline, `a notification after the kill (${u.user})`).catch(() => {});
    if (first) {
      times.push(Number(first.t - t0) / 1e6);
      kinds[first.kind] = (kinds[first.kind] || 0) + 1;
    } else lost.push(r);
    if (firstIm) imTimes.push(Number(firstIm.t - t0) / 1e6);
    if (desk.clientIds[desk.clientIds.length - 1] === clientId) kept++;
    remoteOn = false;
    await remote;
    await new Promise((res) => setTimeout(res, 1000));
    // The remote's messages UCWA accepted that never reached the desktop.
    gaps.push(`${accepted.filter((x) => !got.includes(x)).length}/${accepted.length}`);
    await desk.stop();
    procs.delete(owner);
    await new Promise((res) => owner.proc.exitCode !== null || owner.proc.signalCode !== null ? res() : owner.proc.once('exit', res));
    owner = other;
    other = await node();
  }
  ctl.destroy();
  times.sort((x, y) => x - y);
  const p99 = lib.pct(times, 0.99);
  rows.push({ scn: 'f', what: `take-over: kill -9 of the owner -> first notification from the new owner, lease ${TK_LEASE} ms`,
    conns: String(TK_RUNS), rps: '-', p50: fmt(lib.pct(times, 0.5), 0), p99: fmt(p99, 0),
    extra: `${times.length}/${TK_RUNS} runs; min ${fmt(times[0], 0)}, max ${fmt(times[times.length - 1], 0)} ms; ` +
      `target (p99 <= 2000 ms) ${times.length === TK_RUNS && p99 <= 2000 ? 'met' : 'MISSED'}; first notification: ` +
      `${Object.entries(kinds).map(([x, n]) => `${n}x ${x}`).join(', ')}; clientId kept in ${kept}/${TK_RUNS}; ` +
      `the remote's messages accepted upstream but never delivered, per run: ${gaps.join(' ')}` +
      `${lost.length ? `; no notification in 30 s in runs ${lost.join(',')}` : ''}` });
  imTimes.sort((x, y) => x - y);
  rows.push({ scn: 'f', what: `take-over: kill -9 of the owner -> first message of the remote delivered after it, lease ${TK_LEASE} ms`,
    conns: String(TK_RUNS), rps: '-', p50: fmt(lib.pct(imTimes, 0.5), 0), p99: fmt(lib.pct(imTimes, 0.99), 0),
    extra: `${imTimes.length}/${TK_RUNS} runs; min ${fmt(imTimes[0], 0)}, max ${fmt(imTimes[imTimes.length - 1], 0)} ms ` +
      `(the remote sends every ${TK_EVERY} ms; an invitation when its conversation is gone)` });
  await stopped(owner);
  await stopped(other);
  await stopped(redis);
}

// The Redis keys of each agent and the memory they use (MEMORY USAGE, SAMPLES 0: every
// element), read by one script (one redis-cli: the desktops' long-polls go on meanwhile).
const MEMORY_LUA = `
local function mem(k) return redis.call('MEMORY', 'USAGE', k, 'SAMPLES', '0') or 0 end
local function scan(pat)
  local out, cur = {}, '0'
  repeat
    local r = redis.call('SCAN', cur, 'MATCH', pat, 'COUNT', '1000')
    cur = r[1]
    for _, k in ipairs(r[2]) do out[#out + 1] = k end
  until cur == '0'
  return out
end
local res = {}
for _, u in ipairs(ARGV) do
  local h = 'ucgw:agent:' .. u
  local q, c = 0, 0
  for _, k in ipairs(scan('ucgw:q:' .. u .. ':*')) do q = q + mem(k) end
  for _, f in ipairs(redis.call('HKEYS', h)) do if string.sub(f, 1, 2) == 'c:' then c = 1 end end
  res[#res + 1] = mem(h); res[#res + 1] = mem('ucgw:lease:agent:' .. u); res[#res + 1] = q; res[#res + 1] = c
end
local login, n = 0, 0
for _, k in ipairs(scan('ucgw:login:*')) do login = login + mem(k); n = n + 1 end
res[#res + 1] = login; res[#res + 1] = n
return res`;
function agentMemory(redis, users) {
  const v = redis.cli('EVAL', MEMORY_LUA, '0', ...users).split('\n').map(Number);
  const per = users.map((u, i) => ({ hash: v[4 * i], lease: v[4 * i + 1], q: v[4 * i + 2], client: v[4 * i + 3] }));
  const login = v[4 * users.length];
  const logins = v[4 * users.length + 1];
  // The sizes of the hash's fields of the first agent (what the memory is made of).
  const fields = {};
  const f = redis.cli('HKEYS', `ucgw:agent:${users[0]}`).split('\n').filter(Boolean);
  for (const name of f) fields[name] = Number(redis.cli('HSTRLEN', `ucgw:agent:${users[0]}`, name));
  const avg = (g) => per.reduce((a, p) => a + g(p), 0) / per.length;
  // one login session per desktop: the mean of the login keys (logins counts them)
  const perLogin = logins ? login / logins : 0;
  return { per, login: perLogin, logins, clients: avg((p) => p.client) * per.length, fields,
    enc: redis.cli('OBJECT', 'ENCODING', `ucgw:agent:${users[0]}`),
    hash: avg((p) => p.hash), lease: avg((p) => p.lease), q: avg((p) => p.q),
    total: avg((p) => p.hash + p.lease + p.q) + perLogin };
}

// (g) Redis memory per signed-in agent with one live session (and after 60 messages): with the
// simulator's default tokens (64 characters), then with a simulator of its own per length of
// BENCH_TOKEN_LENS issuing tokens that long (auth.token_length: "cwt=" and base64, as UCWA's).
async function scenarioG(sim) {
  await gRound(sim, 64, TOKEN_LENS.length === 0);
  for (const [i, L] of TOKEN_LENS.entries()) {
    const s = await startSim(['-o', `auth.token_length=${L}`]);
    cmds.push(`g: ucwa-sim -o auth.token_length=${L} (and the options above)`);
    try {
      await gRound(s, L, i === TOKEN_LENS.length - 1);
    } finally {
      await stopped(s);
    }
  }
}

// One round of (g): its own Redis and node in front of sim, whose tokens are L characters; the
// hashes rewritten as listpacks after it when last.
async function gRound(sim, L, last) {
  const n = RM_AGENTS;
  const redis = await startRedis();
  const gw = await startNode(sim, redis, 'bench-g1');
  if (L === 64) cmds.push(`g: ucgw ${gwArgs(sim.port, clusterArgs(redis, 'bench-g1')).join(' ')}`);
  // One desktop per agent, as a browser is: Basic on its first request, then the session
  // cookie only, for REST and CometD alike (one login session each: a request with Basic and
  // no cookie makes a new one).
  const desk = async (k) => {
    const u = lib.loadUser(k);
    const me = await lib.gws(gw.port, u, 'GET', '/me?subresources=*');
    const m = /JSESSIONID=([^;]+)/.exec([].concat(me.headers['set-cookie'] || []).join(';'));
    if (me.status !== 200 || !m) throw new Error(`GET /me for ${u.user}: ${me.status}`);
    const cookie = `JSESSIONID=${m[1]}`;
    const call = (method, p, body) => lib.request({ port: gw.port, method, path: `/api/v2${p}`,
      headers: body === undefined ? { Cookie: cookie } : { Cookie: cookie, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body) });
    for (const op of [{ operationName: 'StartContactCenterSession', channels: ['im'] }, { operationName: 'Ready' }]) {
      const r = await call('POST', '/me', op);
      if (!r.json || r.json.statusCode !== 0) throw new Error(`${op.operationName} ${u.user}: ${r.status} ${r.body}`);
    }
    const cm = await lib.cometd(gw.port, u, () => {}, { cookie });
    const r = await call('POST', '/me/im-sessions', { operationName: 'InitiateIMSession', destination: { phoneNumber: lib.REMOTE.phone } });
    if (!r.json || r.json.statusCode !== 0) throw new Error(`InitiateIMSession ${u.user}: ${r.status} ${r.body}`);
    const sid = await lib.waitFor(async () => {
      const l = await call('GET', '/me/im-sessions?fields=*');
      const s = ((l.json && l.json.imSessions) || []).find((x) => x.state === 'Talking');
      return s && s.id;
    }, 30000, `Talking for ${u.user}`);
    return { u, sid, cm, call };
  };
  // A first agent before the baseline: Redis's one-off costs (scripts loaded, dictionaries made).
  const warm = await desk(U.redisMem + n);
  await new Promise((res) => setTimeout(res, 500));
  const base = redisInfo(redis, 'used_memory_dataset');
  say(`(g) signing in ${n} agents, a Talking session and a CometD long-poll client each`);
  const agents = await lib.pool(U.redisMem, U.redisMem + n, 16, desk);
  await new Promise((res) => setTimeout(res, 1000));
  const users = agents.map((a) => a.u.user);
  const line = (what, m, used) => {
    const fl = Object.entries(m.fields).map(([k, v]) => `${k.replace(/^(s|c):.*/, '$1:…')} ${v}`).join(', ');
    rows.push({ scn: 'g', what, conns: String(n), rps: '-', p50: '-', p99: '-',
      extra: `${fmt(m.total, 0)} B/agent (MEMORY USAGE: hash ${fmt(m.hash, 0)} [${m.enc}], lease ${fmt(m.lease, 0)}, ` +
        `login ${fmt(m.login, 0)} (${m.logins} login keys), CometD lists ${fmt(m.q, 0)}; ${m.clients} hashes with a CometD client); used_memory_dataset ${fmt(used, 0)} B/agent; ` +
        `target (<= 4096) ${m.total <= 4096 ? 'met' : 'MISSED'}; fields of one agent (bytes): ${fl}` });
  };
  if (process.env.BENCH_VERBOSE) {
    for (const f of ['app', 'next', 'turl', 'ep', 'texp', 'p', 'u']) say(`(g) ${users[0]} ${f}: ${redis.cli('HGET', `ucgw:agent:${users[0]}`, f)}`);
    for (const f of redis.cli('HKEYS', `ucgw:agent:${users[0]}`).split('\n').filter((x) => /^[sc]:/.test(x))) {
      say(`(g) ${users[0]} ${f}: ${redis.cli('HGET', `ucgw:agent:${users[0]}`, f)}`);
    }
  }
  const m0 = agentMemory(redis, users);
  line(`Redis memory per agent, one Talking session, a ${L}-byte token`, m0, (redisInfo(redis, 'used_memory_dataset') - base) / n);
  // The conversation of 60 messages: the desktop's 30 SendMessage and the remote's 30, alternating.
  say(`(g) 60 messages in each agent's conversation`);
  const ctl = new http.Agent({ keepAlive: true, maxSockets: 16 });
  await lib.pool(0, agents.length, 16, async (i) => {
    const a = agents[i];
    for (let k = 0; k < 30; k++) {
      const s = await a.call('POST', `/me/im-sessions/${a.sid}`, { operationName: 'SendMessage', text: `g-${k} ${'x'.repeat(40)}` });
      if (!s.json || s.json.statusCode !== 0) throw new Error(`SendMessage ${a.u.user}: ${s.body}`);
      const x = await lib.request({ port: sim.port, method: 'POST', agent: ctl, path: `/_sim/remotes/${encodeURIComponent(lib.REMOTE.id)}/message`,
        headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ to: a.u.user, text: `r-${k} ${'y'.repeat(40)}` }) });
      if (x.status !== 200) throw new Error(`remote message to ${a.u.user}: ${x.status} ${x.body}`);
    }
  });
  ctl.destroy();
  await new Promise((res) => setTimeout(res, 1000));
  if (process.env.BENCH_VERBOSE) say(`(g) ${users[0]} u after: ${redis.cli('HGET', `ucgw:agent:${users[0]}`, 'u')}`);
  const m1 = agentMemory(redis, users);
  line(`Redis memory per agent, after 60 messages (30 each way, 45-byte texts), a ${L}-byte token`, m1,
    (redisInfo(redis, 'used_memory_dataset') - base) / n);
  // The same hashes once Redis keeps them as listpacks (hash-max-listpack-value above the
  // largest field): each rewritten by a script (read, delete, write again, same expiry).
  const lp = Number(env('BENCH_LISTPACK_VALUE', 4096));
  if (last && lp > 0) {
    redis.cli('CONFIG', 'SET', 'hash-max-listpack-value', String(lp));
    const again = "for _, k in ipairs(KEYS) do local t = redis.call('HGETALL', k) local ttl = redis.call('PTTL', k) " +
      "redis.call('DEL', k) if #t > 0 then redis.call('HSET', k, unpack(t)) end " +
      "if ttl > 0 then redis.call('PEXPIRE', k, ttl) end end return 1";
    redis.cli('EVAL', again, String(users.length), ...users.map((u) => `ucgw:agent:${u}`));
    const m = agentMemory(redis, users);
    line(`the same, Redis with hash-max-listpack-value ${lp} (the hashes rewritten as listpacks)`, m, NaN);
    cmds.push(`g: redis-cli CONFIG SET hash-max-listpack-value ${lp}; each ucgw:agent:USER rewritten by EVAL (HGETALL, DEL, HSET, PEXPIRE)`);
  }
  if (last) {
    cmds.push(`g: redis-cli MEMORY USAGE KEY SAMPLES 0 for ucgw:agent:USER, ucgw:lease:agent:USER, ucgw:q:USER:*, ucgw:login:* (/ agents); ` +
      `used_memory from INFO memory before and after`);
  }
  for (const a of [...agents, warm]) a.cm.quit();
  await stopped(gw);
  await stopped(redis);
}

function machine() {
  const cpu = (/model name\s*:\s*(.*)/.exec(fs.readFileSync('/proc/cpuinfo', 'utf8')) || [])[1] || os.cpus()[0].model;
  const mem = (/MemTotal:\s+(\d+)/.exec(fs.readFileSync('/proc/meminfo', 'utf8')) || [])[1];
  const wv = spawnSync('wrk', ['-v'], { encoding: 'utf8' });
  const nv = spawnSync('nginx', ['-v'], { encoding: 'utf8' });
  return [`machine: nproc ${os.cpus().length}, CPU ${cpu.trim()}, memory ${(Number(mem) / 1048576).toFixed(1)} GiB, ` +
    `${os.type()} ${os.release()}`,
  `tools: ${(wv.stdout + wv.stderr).split('\n')[0].trim()}; ${(nv.stderr || nv.stdout).trim()}; node ${process.version}`,
  `build: ${builddir} (optimised, no sanitizers); every process on 127.0.0.1; wrk -t1 where it competes ` +
    `with the gateway (2 cores shared by wrk, ucgw or nginx, ucwa-sim and the node drivers)`];
}

function table() {
  const head = { scn: 'scn', what: 'what', conns: 'conns', rps: 'req/s', p50: 'p50 ms', p99: 'p99 ms', extra: 'notes' };
  const all = [head, ...rows];
  const w = {};
  for (const k of Object.keys(head)) w[k] = Math.max(...all.map((r) => String(r[k]).length));
  const line = (r) => `| ${Object.keys(head).map((k) => String(r[k]).padEnd(w[k])).join(' | ')} |`;
  const sep = `|${Object.keys(head).map((k) => '-'.repeat(w[k] + 2)).join('|')}|`;
  return [line(head), sep, ...rows.map(line)].join('\n');
}

async function main() {
  const t0 = Date.now();
  const sim = await startSim();
  cmds.unshift(`ucwa-sim -o listen=["http://127.0.0.1:0"] -o log.level=error -o load.users=${SIM_USERS} ` +
    `-o limits.outstanding_per_user=1000 -o remotes=[{"uri":"${lib.REMOTE.uri}","accept_ms":1}]`);
  const scen = { a: scenarioA, b: scenarioB, c: scenarioC, d: scenarioD, e: scenarioE, f: scenarioF, g: scenarioG };
  for (const s of only) {
    if (!scen[s]) throw new Error(`unknown scenario ${s}`);
    try {
      await scen[s](sim);
    } catch (e) {
      say(`(${s}) FAILED: ${e.stack}`);
      rows.push({ scn: s, what: 'scenario failed', conns: '-', rps: '-', p50: '-', p99: '-', extra: `NOT MEASURED: ${e.message}` });
    }
  }
  await stopped(sim);
  const out = [
    `# ucgw benchmark ${new Date().toISOString()} (${((Date.now() - t0) / 1000).toFixed(0)} s)`,
    ...machine(), '', table(), '',
    'req/s for (b) = notifications received / messages sent; p50/p99 for (b) = ms from the control request that makes',
    'the simulator send to the desktop\'s receipt of the CometD message; for (d) = the slowest back-to-back request.',
    ...notes, '', 'commands:', ...cmds.map((c) => `  ${c}`),
  ].join('\n');
  console.log(out);
  fs.writeFileSync(path.join(dir, 'results.md'), out + '\n');
  say(`results also in ${path.join(dir, 'results.md')}`);
}

async function cleanup() { for (const p of [...procs]) await p.stop().catch(() => {}); }
process.on('SIGINT', () => { cleanup().then(() => process.exit(130)); });
process.on('SIGTERM', () => { cleanup().then(() => process.exit(143)); });
main().then(cleanup, async (e) => { console.error(e); await cleanup(); process.exit(1); });
