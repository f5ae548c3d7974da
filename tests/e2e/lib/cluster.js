// cluster.js: a whole cluster for the end-to-end tests, with real
// processes: redis-server (its own free port and temporary directory, no
// persistence), ucwa-sim, N ucgw nodes in cluster mode sharing one key file,
// and, if asked, haproxy in front of them with the configuration of
// docs/cluster.md. teardown() stops everything even after a failure and
// checks that the nodes still running exit 0 with no sanitizer report.
'use strict';

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { spawn } = require('node:child_process');
const h = require('./harness');
const im = require('./im');
const cm = require('./cometd');
const { startRedis, clusterFiles, args, freePort } = require('./redis');
const { haproxyConfig } = require('./haproxy');

// Lease and Redis timeout of the nodes (longer under valgrind: h.slow).
const LEASE = 900 * h.slow;
const TIMEOUT = 200 * h.slow;
const PREFIX = 'ucgw:';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Start a ucgw node in cluster mode, id, in front of env's simulator and Redis.
function startNode(env, id, { lease = env.lease || LEASE, timeout = env.timeout || TIMEOUT, extra = env.extra || {} } = {}) {
  return im.startGateway(env.sim.port, args({
    // env.where: the sentinels' keys instead of cluster.redis (cluster_sentinel.test.js)
    ...(env.where ? env.where() : { 'cluster.redis': env.redis.url }),
    'cluster.key_file': env.files.key,
    'cluster.node_id': id,
    'cluster.lease_ms': lease,
    'cluster.timeout_ms': timeout,
    'cluster.backoff_min_ms': 20,
    'cluster.backoff_max_ms': 200,
    'proxy.trusted': ['127.0.0.1'],
    ...extra,
  }));
}

// GET /healthz of a node (or of haproxy).
async function healthz(port) {
  return (await h.request({ port, path: '/healthz' })).json;
}

// Wait until the node on port is in the registry.
function waitRegistered(port, ms = 5000 * h.slow) {
  return h.waitFor(async () => (await healthz(port)).cluster.registered, ms, `node on port ${port} registered`);
}

// Redis, ucwa-sim and registered nodes named by ids (node-a, node-b by
// default; env.a, env.b, … are the nodes in order, env.nodes all of them).
// opts: lease, timeout, extra (more -o keys for every node), simArgs (more
// ucwa-sim arguments, e.g. load.users), ids.
async function startCluster({ ids = ['node-a', 'node-b'], lease, timeout, extra, simArgs = [] } = {}) {
  const env = { desks: [], procs: [], nodes: [], ids, lease, timeout, extra };
  try {
    env.redis = await startRedis();
    env.files = clusterFiles();
    env.sim = await im.startSim(simArgs);
    for (const [i, id] of ids.entries()) {
      const n = await startNode(env, id);
      n.id = id;
      env.nodes.push(n);
      env[String.fromCharCode(97 + i)] = n;
    }
    for (const n of env.nodes) await waitRegistered(n.port);
  } catch (e) {
    await teardown(env).catch(() => {});
    throw e;
  }
  return env;
}

// Stop everything, even after a failure; the nodes still running must exit 0.
// A node the test stopped itself is marked by setting env[letter] to null.
async function teardown(env) {
  for (const c of env.desks) await cm.disconnect(c).catch(() => {});
  for (const p of env.procs) { try { p.kill('SIGKILL'); } catch (_) { /* gone */ } }
  if (process.env.UCGW_CLUSTER_LOGS) {
    for (const n of env.nodes) fs.appendFileSync(path.join(process.env.UCGW_CLUSTER_LOGS, `${n.id}.log`), n.stderr);
  }
  const codes = {};
  for (const [i] of env.ids.entries()) {
    const k = String.fromCharCode(97 + i);
    if (env[k]) codes[k] = (await env[k].stop()).code;
  }
  if (env.sim) await env.sim.stop();
  if (env.redis) await env.redis.stop();
  for (const r of env.more || []) await r.stop(); // replicas, sentinels
  for (const k of Object.keys(codes)) {
    assert.equal(codes[k], 0, `node ${k} exit; log:\n${env[k].stderr.slice(-3000)}`);
    assert.doesNotMatch(env[k].stderr, /Sanitizer|runtime error/);
  }
}

// A GWS request to port with the given headers (and a JSON body).
function gws(port, p, headers = {}, method = 'GET', body) {
  const hdrs = { ...headers };
  if (body !== undefined) hdrs['Content-Type'] = 'application/json';
  return h.request({ port, method, path: `/api/v2${p}`, headers: hdrs,
    body: body === undefined ? undefined : JSON.stringify(body) });
}

// The UCWA applications ucwa-sim holds for user (a test agent, or a
// load.users name such as load7@contoso.com).
async function apps(env, user) {
  const uri = im.PHONES[user] ? `sip:agent${im.PHONES[user]}@example.com` : `sip:${user}`;
  const st = await im.sim(env.sim.port, 'GET', '/state');
  return st.json.applications.filter((a) => a.user === uri);
}

// The node id holding user's lease ('' when none).
const holder = (env, user) => env.redis.cli('GET', `${PREFIX}lease:agent:${user}`);

// Response headers without those that differ between two answers anyway.
const noDate = (hd) => {
  const { date, connection, 'keep-alive': ka, ...rest } = hd;
  return rest;
};

// haproxy in front of env's nodes (killed by teardown); resolves
// {port, proc, log()} once it answers /healthz.
async function startHaproxy(env, nodes = env.nodes) {
  const port = await freePort();
  const dir = h.tmpdir('ucgw-haproxy-');
  const cfg = path.join(dir, 'haproxy.cfg');
  fs.writeFileSync(cfg, haproxyConfig(port, nodes));
  const proc = spawn('/usr/sbin/haproxy', ['-db', '-f', cfg], { stdio: ['ignore', 'pipe', 'pipe'] });
  env.procs.push(proc);
  let log = '';
  proc.stdout.on('data', (x) => { log += x; });
  proc.stderr.on('data', (x) => { log += x; });
  await h.waitFor(async () => {
    try { return (await h.request({ port, path: '/healthz' })).status === 200; } catch (_) { return false; }
  }, 10000 * h.slow, () => `haproxy did not start:\n${log}`);
  return { port, proc, log: () => log };
}

module.exports = {
  LEASE, TIMEOUT, PREFIX, sleep, startNode, startCluster, teardown, healthz, waitRegistered,
  gws, apps, holder, noDate, haproxyConfig, startHaproxy,
};
