// cluster_tls.test.js: nodes that listen on https only, as a deployment
// that encrypts every hop would run them: each advertises its https
// listener, and a request through the node that does not own its agent is
// forwarded over TLS, the owner's certificate verified against
// cluster.ca_file (a private CA). A node without it verifies against the
// system store, which does not know that CA: it refuses the peer (503, as
// a node it cannot reach, logged with the reason): the TLS handshake fails
// before any of the request is sent. A
// WebSocket upgrade through the non-owner is tunnelled over TLS too.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const h = require('./lib/harness');
const im = require('./lib/im');
const cm = require('./lib/cometd');
const { startRedis, clusterFiles, args } = require('./lib/redis');

const LEASE = 900 * h.slow;
const TIMEOUT = 200 * h.slow;

// A node on one https listener (port 0), with cluster.ca_file unless ca is null.
function startNode(env, id, ca) {
  return im.startGateway(env.sim.port, args({
    'debug.publish_endpoint': true,
    listen: ['https://127.0.0.1:0'],
    'tls.cert_file': env.pki.cert,
    'tls.key_file': env.pki.key,
    'cluster.redis': env.redis.url,
    'cluster.key_file': env.files.key,
    'cluster.node_id': id,
    'cluster.lease_ms': LEASE,
    'cluster.timeout_ms': TIMEOUT,
    'cluster.backoff_min_ms': 20,
    'cluster.backoff_max_ms': 200,
    'proxy.trusted': ['127.0.0.1'],
    'log.level': 'debug',
    ...(ca ? { 'cluster.ca_file': ca } : {}),
  }));
}

// One https request to a node, trusting the test CA.
function req(env, port, p, headers = {}, method = 'GET', body) {
  const hdrs = { ...headers };
  if (body !== undefined) hdrs['Content-Type'] = 'application/json';
  return h.request({ port, method, path: `/api/v2${p}`, headers: hdrs, tls: true, ca: env.caPem,
    servername: 'localhost', body: body === undefined ? undefined : JSON.stringify(body) });
}

async function registered(env, port) {
  await h.waitFor(async () => {
    const r = await h.request({ port, path: '/healthz', tls: true, ca: env.caPem, servername: 'localhost' });
    return r.json && r.json.cluster.registered;
  }, 5000 * h.slow, `node on ${port} registered`);
}

test('https nodes: forwarded over TLS verified with cluster.ca_file; without it the peer is refused, nothing sent', async () => {
  const env = { nodes: [] };
  try {
    env.pki = h.makeCA(h.tmpdir('ucgw-cluster-ca-'));
    env.caPem = fs.readFileSync(env.pki.ca);
    env.redis = await startRedis();
    env.files = clusterFiles();
    env.sim = await im.startSim();
    const a = await startNode(env, 'node-a', env.pki.ca);
    env.nodes.push(a);
    const b = await startNode(env, 'node-b', env.pki.ca);
    env.nodes.push(b);
    const c = await startNode(env, 'node-c', null);
    env.nodes.push(c);
    for (const n of env.nodes) await registered(env, n.port);
    // Each advertises its https listener as bound.
    for (const [id, n] of [['node-a', a], ['node-b', b]]) {
      assert.equal(await env.redis.cli('GET', `ucgw:node:${id}`), `https://127.0.0.1:${n.port}`);
    }

    // A owns agent1.
    const first = await req(env, a.port, '/me', { Authorization: cm.basic('agent1') });
    assert.equal(first.status, 200, first.body);
    assert.equal(await env.redis.cli('GET', 'ucgw:lease:agent:agent1'), 'node-a');
    const cookie = first.headers['set-cookie'][0].split(';')[0];
    // Through B: exactly A's answer, over TLS.
    for (const headers of [{ Authorization: cm.basic('agent1') }, { Cookie: cookie }]) {
      const ra = await req(env, a.port, '/me', headers);
      const rb = await req(env, b.port, '/me', headers);
      assert.equal(rb.status, 200, rb.body);
      assert.equal(rb.body, ra.body);
    }
    assert.match(a.stderr, /X-Ucgw-Forwarded|forwarded from node-b|accepted from 127\.0\.0\.1/);
    // A state change through B shows on A.
    const nr = await req(env, b.port, '/me', { Cookie: cookie }, 'POST', { operationName: 'NotReady' });
    assert.deepEqual(nr.json, { statusCode: 0 });
    const me = await req(env, a.port, '/me?subresources=*', { Cookie: cookie });
    assert.equal(me.json.user.devices[0].userState.state, 'NotReady');

    // Through C (no cluster.ca_file: the system store): A's certificate is refused.
    const rc = await req(env, c.port, '/me', { Authorization: cm.basic('agent1') });
    assert.equal(rc.status, 503, rc.body);
    assert.equal(rc.json.statusMessage, "The agent's node cannot be reached; retry later");
    assert.match(c.stderr, /forward: GET \/api\/v2\/me for \S+ to node node-a: certificate of 127\.0\.0\.1 rejected: unable to get local issuer certificate/);
    assert.equal(await env.redis.cli('GET', 'ucgw:lease:agent:agent1'), 'node-a');

    // A WebSocket through B (wss): tunnelled to A over TLS; a notification A publishes arrives.
    const WebSocket = require('ws');
    const sock = new WebSocket(`wss://localhost:${b.port}/api/v2/notifications`, {
      ca: env.caPem, headers: { Authorization: cm.basic('agent1') }, perMessageDeflate: false });
    env.sock = sock;
    const got = [];
    sock.on('message', (m) => got.push(...JSON.parse(m)));
    await new Promise((resolve, reject) => { sock.once('open', resolve); sock.once('error', reject); });
    sock.send(JSON.stringify([{ id: '1', channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['websocket'] }]));
    const hs = await h.waitFor(() => got.find((m) => m.channel === '/meta/handshake'), 5000 * h.slow, 'handshake');
    assert.equal(hs.successful, true, JSON.stringify(hs));
    sock.send(JSON.stringify([{ id: '2', channel: '/meta/subscribe', clientId: hs.clientId, subscription: '/v2/me/*' },
      { id: '3', channel: '/meta/connect', clientId: hs.clientId, connectionType: 'websocket' }]));
    await h.waitFor(() => got.some((m) => m.id === '2'), 5000 * h.slow, 'subscribed');
    assert.equal(await cm.publish(a.port, 'agent1', [{ channel: '/v2/me/im-sessions', data: { n: 'over tls' } }],
      { ca: env.pki.ca }), 1);
    await h.waitFor(() => got.some((m) => m.data && m.data.n === 'over tls'), 5000 * h.slow, 'the notification through the tunnel');
    assert.match(b.stderr, /tunnel/i);
  } finally {
    if (env.sock) env.sock.terminate();
    const codes = [];
    for (const n of env.nodes) codes.push((await n.stop()).code);
    if (env.sim) await env.sim.stop();
    if (env.redis) await env.redis.stop();
    for (const [i, code] of codes.entries()) assert.equal(code, 0, env.nodes[i].stderr.slice(-3000));
  }
});

test('ucgw -t loads cluster.ca_file and upstream.ca_file: a missing file or one without a certificate is named', async () => {
  const files = clusterFiles();
  const pki = h.makeCA(h.tmpdir('ucgw-cluster-ca-'));
  const base = ['-t', '-o', 'cluster.redis=redis://127.0.0.1:6379', '-o', `cluster.key_file=${files.key}`];
  const ok = await h.run('ucgw', [...base, '-o', `cluster.ca_file=${pki.ca}`, '-o', `upstream.ca_file=${pki.ca}`]);
  assert.equal(ok.code, 0, ok.stderr);
  for (const [key, value, why] of [
    ['cluster.ca_file', '/nonexistent/ca.pem', /cluster\.ca_file: TLS CA \/nonexistent\/ca\.pem: .*No such file/],
    ['cluster.ca_file', pki.key, /cluster\.ca_file: TLS CA .*server\.key: .*no certificate or crl found/],
    ['upstream.ca_file', '/nonexistent/ca.pem', /upstream\.ca_file: TLS CA \/nonexistent\/ca\.pem: .*No such file/],
  ]) {
    const r = await h.run('ucgw', [...base, '-o', `${key}=${value}`]);
    assert.equal(r.code, 1, `${key}=${value}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, why);
  }
});
