// cluster_forward.test.js: a node that forwards requests for another node's
// agent remembers the owner (issue 15, "Not yet built" item 4): a stream of
// requests through the non-owner makes one lookup in Redis, not one per
// request, and keeps cluster mode's guarantees. With real processes:
// redis-server, ucwa-sim and two or three ucgw nodes. After kill -9 of the
// owner the non-owner still takes the agent over once the lease lapses;
// after a drain of the owner the next request reaches the new owner at once;
// a remembered owner that no longer owns the agent answers 503 (a forwarded
// request is never forwarded again) and the request is routed again from
// Redis to the real owner. The first test fails without the owner
// remembered (one EVALSHA of the acquire script per request, and for a
// cookie-only request one MGET of its login session too); the last two
// fail when a failed forward to a remembered owner is not routed again.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');
const cm = require('./lib/cometd');
const {
  LEASE, sleep, startCluster, teardown, gws, holder, apps,
} = require('./lib/cluster');

const LONG = 20000 * h.slow; // a lease long enough that no renewal falls in a short stream

// Redis's calls of each command since the last CONFIG RESETSTAT.
async function calls(env) {
  const o = {};
  for (const m of (await env.redis.cli('INFO', 'commandstats')).matchAll(/^cmdstat_([^:]+):calls=(\d+)/mg)) {
    o[m[1]] = Number(m[2]);
  }
  return o;
}

// agent1 signed in on node A (its owner); its Basic header and session cookie.
async function ownedByA(env) {
  const first = await gws(env.a.port, '/me', { Authorization: cm.basic('agent1') });
  assert.equal(first.status, 200, first.body);
  assert.equal(await holder(env, 'agent1'), 'node-a');
  return { Authorization: cm.basic('agent1'), Cookie: first.headers['set-cookie'][0].split(';')[0] };
}

test('a stream of requests through the non-owner: one lookup in Redis, not one per request', async () => {
  const env = await startCluster({ lease: LONG });
  try {
    const hd = await ownedByA(env);
    await env.redis.cli('CONFIG', 'RESETSTAT');
    const N = 30;
    for (let i = 0; i < N; i++) {
      const r = await gws(env.b.port, '/me', hd);
      assert.equal(r.status, 200, r.body);
      assert.equal(r.json.user.userName, 'agent1');
    }
    const c = await calls(env);
    const lookups = (c.evalsha || 0) + (c.eval || 0);
    console.log(`# ${N} requests through the non-owner: Redis calls ${JSON.stringify(c)}`);
    assert.ok(lookups <= 2, `${lookups} lookups (acquire script) for ${N} requests`);
    // cookie only (as a desktop after its first request): no MGET of the login session either
    await env.redis.cli('CONFIG', 'RESETSTAT');
    for (let i = 0; i < N; i++) {
      const r = await gws(env.b.port, '/me', { Cookie: hd.Cookie });
      assert.equal(r.status, 200, r.body);
      assert.equal(r.json.user.userName, 'agent1');
    }
    const k = await calls(env);
    console.log(`# ${N} cookie-only requests through the non-owner: Redis calls ${JSON.stringify(k)}`);
    assert.ok((k.mget || 0) <= 1 && (k.evalsha || 0) <= 1, `${JSON.stringify(k)} for ${N} requests`);
    // a cookie that was never a login session is still looked up (and refused by auth)
    const bad = await gws(env.b.port, '/me', { Cookie: 'JSESSIONID=0123456789abcdef0123456789abcdef' });
    assert.equal(bad.status, 401, bad.body);
    assert.equal(await holder(env, 'agent1'), 'node-a');
    assert.equal((await apps(env, 'agent1')).length, 1);
  } finally {
    await teardown(env);
  }
});

test('kill -9 of the remembered owner: the non-owner takes the agent over once the lease lapses', async () => {
  const env = await startCluster();
  try {
    const hd = await ownedByA(env);
    for (let i = 0; i < 5; i++) assert.equal((await gws(env.b.port, '/me', hd)).status, 200);
    const a = env.a;
    a.child.kill('SIGKILL');
    const t0 = Date.now();
    await new Promise((r) => (a.child.exitCode !== null || a.child.signalCode !== null ? r() : a.child.once('exit', r)));
    env.a = null;
    const bad = [];
    let r;
    for (;;) {
      r = await gws(env.b.port, '/me', hd);
      if (r.status === 200) break;
      bad.push(r);
      assert.ok(Date.now() - t0 < LEASE + 5000 * h.slow, `no take-over within the lease: ${r.status} ${r.body}`);
      await sleep(20);
    }
    const took = Date.now() - t0;
    console.log(`# taken over after ${took} ms (lease ${LEASE} ms), ${bad.length} requests answered 503 meanwhile`);
    for (const x of bad) {
      assert.equal(x.status, 503, x.body);
      assert.match(x.headers['retry-after'] || '', /^\d+$/);
    }
    assert.equal(r.json.user.userName, 'agent1');
    assert.equal(await holder(env, 'agent1'), 'node-b');
  } finally {
    await teardown(env);
  }
});

test('the remembered owner drained: the next request reaches the new owner at once', async () => {
  const env = await startCluster({ lease: LONG });
  try {
    const hd = await ownedByA(env);
    for (let i = 0; i < 5; i++) {
      assert.equal((await gws(env.b.port, '/me', hd)).status, 200);
      assert.equal((await gws(env.b.port, '/me', { Cookie: hd.Cookie })).status, 200);
    }
    const a = env.a;
    const exit = await a.stop(); // SIGTERM: the drain releases the lease, then exit
    env.a = null;
    assert.equal(exit.code, 0, a.stderr.slice(-3000));
    // cookie only first: B's hints named A; B reads the login session, takes the agent, serves it
    const rc = await gws(env.b.port, '/me', { Cookie: hd.Cookie });
    assert.equal(rc.status, 200, rc.body);
    assert.equal(rc.json.user.userName, 'agent1');
    const r = await gws(env.b.port, '/me', hd);
    assert.equal(r.status, 200, r.body);
    assert.equal(r.json.user.userName, 'agent1');
    assert.equal(await holder(env, 'agent1'), 'node-b');
  } finally {
    await teardown(env);
  }
});

test('a remembered owner that lost the agent: 503 from it, routed again to the real owner, no loop', async () => {
  const env = await startCluster({ ids: ['node-a', 'node-b', 'node-c'], lease: LONG });
  try {
    const hd = await ownedByA(env);
    for (let i = 0; i < 3; i++) assert.equal((await gws(env.c.port, '/me', hd)).status, 200);
    // agent1 signs out on A (its lease is released), then signs in through B, which takes it
    const end = await gws(env.a.port, '/me', { Authorization: hd.Authorization }, 'POST', { operationName: 'EndContactCenterSession' });
    assert.equal(end.status, 200, end.body);
    await h.waitFor(async () => (await holder(env, 'agent1')) === '', 5000 * h.slow, 'lease released');
    const viaB = await gws(env.b.port, '/me', { Authorization: hd.Authorization });
    assert.equal(viaB.status, 200, viaB.body);
    assert.equal(await holder(env, 'agent1'), 'node-b');
    // C still remembers A: A answers 503 (it never forwards a forwarded request), C asks Redis
    await env.redis.cli('CONFIG', 'RESETSTAT');
    const r = await gws(env.c.port, '/me', { Authorization: hd.Authorization });
    assert.equal(r.status, 200, r.body);
    assert.equal(r.json.user.userName, 'agent1');
    assert.equal(r.json.user.id, viaB.json.user.id, 'B\'s answer');
    assert.equal(await holder(env, 'agent1'), 'node-b');
    assert.equal((await apps(env, 'agent1')).length, 1, 'one application: B\'s');
    // and C remembers B now: more requests make no lookup
    const c0 = await calls(env);
    for (let i = 0; i < 10; i++) assert.equal((await gws(env.c.port, '/me', { Authorization: hd.Authorization })).status, 200);
    const c1 = await calls(env);
    assert.equal((c1.evalsha || 0) - (c0.evalsha || 0), 0, JSON.stringify({ c0, c1 }));
  } finally {
    await teardown(env);
  }
});
