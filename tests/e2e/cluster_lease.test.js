// cluster_lease.test.js: leases in a real redis-server, driven by two (or
// more) processes of tests/lease-drive, each a node: racing nodes, exactly
// one wins each lease; the winner keeps it by renewing at a third of the
// lease; a lease not renewed lapses and another node gets it; a release by
// a non-owner does nothing; a lease taken from under its holder is
// reported lost; the scripts survive SCRIPT FLUSH and a Redis restart
// (NOSCRIPT → SCRIPT LOAD); Redis gone → the holder gives the lease up in
// time.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');
const { startRedis, clusterFiles, leaseDrive, LEASE } = require('./lib/redis');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Run body(redis, files, drives...) with n drivers named node-1..n, stopping everything after.
async function withNodes(n, body, { password, overrides = {} } = {}) {
  const redis = await startRedis({ password });
  const files = clusterFiles({ password });
  const drives = [];
  try {
    for (let i = 1; i <= n; i++) drives.push(leaseDrive(redis, files, `node-${i}`, overrides));
    for (const d of drives) await d.wait(/^ready$/);
    await body(redis, files, ...drives);
  } finally {
    for (const d of drives) {
      const r = await d.stop();
      if (r.signal !== 'SIGKILL') assert.equal(r.code, 0, d.stderr);
    }
    await redis.stop();
  }
  return drives;
}

test('two nodes racing for the same leases: exactly one wins each', async () => {
  await withNodes(2, async (redis, files, a, b) => {
    const names = Array.from({ length: 40 }, (_, i) => `agent:race${i}`);
    // Both get every acquire at the same moment (one write each, no waiting between).
    a.child.stdin.write(names.map((n) => `acquire ${n}\n`).join(''));
    b.child.stdin.write(names.map((n) => `acquire ${n}\n`).join(''));
    let winsA = 0;
    for (const n of names) {
      const la = await a.wait(new RegExp(`^(acquired|busy) ${n}( |$)`));
      const lb = await b.wait(new RegExp(`^(acquired|busy) ${n}( |$)`));
      const won = [la, lb].filter((l) => l.startsWith('acquired'));
      assert.equal(won.length, 1, `${n}: ${la} / ${lb}`);
      const winner = la.startsWith('acquired') ? 'node-1' : 'node-2';
      winsA += winner === 'node-1';
      // The loser names the winner, and so does Redis.
      assert.equal((la.startsWith('busy') ? la : lb), `busy ${n} ${winner}`);
      assert.equal(await redis.cli('GET', `ucgw:lease:${n}`), winner);
    }
    assert.equal(a.lines.filter((l) => /^(lost|failed)/.test(l)).length, 0, a.lines.join('\n'));
    assert.equal(b.lines.filter((l) => /^(lost|failed)/.test(l)).length, 0, b.lines.join('\n'));
    // Each process's answers came from Redis, not from an order fixed in advance.
    assert.ok(winsA >= 0 && winsA <= names.length);
  });
});

test('the holder keeps a lease by renewing it; unrenewed, it lapses and another node gets it', async () => {
  await withNodes(2, async (redis, files, a, b) => {
    a.send('acquire agent:alice');
    await a.wait(/^acquired agent:alice$/);
    // Three leases' worth of time: renewed at a third, never lapsing.
    for (let i = 0; i < 6; i++) {
      await sleep(LEASE / 2);
      const ttl = Number(await redis.cli('PTTL', 'ucgw:lease:agent:alice'));
      assert.ok(ttl > 0 && ttl <= LEASE, `PTTL ${ttl}`);
    }
    const from = b.lines.length;
    b.send('acquire agent:alice');
    assert.equal(await b.wait(/^(acquired|busy) agent:alice/, { from }), 'busy agent:alice node-1');
    a.send('held agent:alice');
    await a.wait(/^held agent:alice yes$/);
    // node-1 stops renewing (without releasing): within a lease, node-2 gets it.
    a.send('forget agent:alice');
    const t0 = Date.now();
    let got = false;
    while (!got && Date.now() - t0 < 3000 * h.slow) {
      const f = b.lines.length;
      b.send('acquire agent:alice');
      got = (await b.wait(/^(acquired|busy|failed) agent:alice/, { from: f })) === 'acquired agent:alice';
      if (!got) await sleep(50);
    }
    assert.ok(got, b.lines.join('\n'));
    assert.ok(Date.now() - t0 <= LEASE + 400 * h.slow, `took ${Date.now() - t0} ms`);
    assert.equal(await redis.cli('GET', 'ucgw:lease:agent:alice'), 'node-2');
  });
});

test('a crashed holder (kill -9) loses the lease to another node after the lease time', async () => {
  await withNodes(2, async (redis, files, a, b) => {
    a.send('acquire agent:bob');
    await a.wait(/^acquired agent:bob$/);
    await a.kill();
    const f = b.lines.length;
    b.send('acquire agent:bob');
    assert.equal(await b.wait(/^(acquired|busy) agent:bob/, { from: f }), 'busy agent:bob node-1');
    await sleep(LEASE + 100 * h.slow);
    const g = b.lines.length;
    b.send('acquire agent:bob');
    assert.equal(await b.wait(/^(acquired|busy) agent:bob/, { from: g }), 'acquired agent:bob');
  });
});

test('release by a non-owner does nothing; by the owner it deletes the key', async () => {
  await withNodes(2, async (redis, files, a, b) => {
    a.send('acquire agent:carol');
    await a.wait(/^acquired agent:carol$/);
    b.send('release agent:carol');
    await b.wait(/^not-owner agent:carol$/);
    assert.equal(await redis.cli('GET', 'ucgw:lease:agent:carol'), 'node-1');
    a.send('held agent:carol');
    await a.wait(/^held agent:carol yes$/);
    a.send('release agent:carol');
    await a.wait(/^released agent:carol$/);
    assert.equal(await redis.cli('EXISTS', 'ucgw:lease:agent:carol'), '0');
    // Released means free at once: node-2 gets it without waiting for an expiry.
    const f = b.lines.length;
    b.send('acquire agent:carol');
    assert.equal(await b.wait(/^(acquired|busy) agent:carol/, { from: f }), 'acquired agent:carol');
  });
});

test('a lease taken from under its holder is reported lost at the next renewal', async () => {
  await withNodes(1, async (redis, files, a) => {
    a.send('acquire agent:dave');
    await a.wait(/^acquired agent:dave$/);
    await redis.cli('SET', 'ucgw:lease:agent:dave', 'intruder', 'PX', '60000');
    const lost = await a.wait(/^lost agent:dave /, { timeoutMs: 2000 * h.slow });
    assert.equal(lost, 'lost agent:dave Redis no longer names this node (expired or taken by another node)');
    a.send('held agent:dave');
    await a.wait(/^held agent:dave no$/);
    // The intruder's key is left alone.
    assert.equal(await redis.cli('GET', 'ucgw:lease:agent:dave'), 'intruder');
  });
});

test('scripts come back after SCRIPT FLUSH and after a Redis restart (NOSCRIPT handled)', async () => {
  await withNodes(1, async (redis, files, a) => {
    a.send('acquire agent:erin');
    await a.wait(/^acquired agent:erin$/);
    await sleep(LEASE / 2);
    assert.match(await redis.cli('SCRIPT', 'FLUSH'), /OK/);
    await sleep(LEASE * 1.5); // several renewals, the first of which meets NOSCRIPT
    assert.match(a.stderr, /NOSCRIPT for script [0-9a-f]{40}: loading it again/);
    assert.equal(a.lines.filter((l) => /^lost/.test(l)).length, 0, a.lines.join('\n'));
    assert.ok(Number(await redis.cli('PTTL', 'ucgw:lease:agent:erin')) > 0);
    // Redis restarts empty: the lease is gone (reported lost); taken again, renewals
    // work again through a fresh SCRIPT LOAD.
    const before = (a.stderr.match(/NOSCRIPT/g) || []).length;
    await redis.kill();
    await redis.start();
    await a.wait(/^lost agent:erin /, { timeoutMs: 3000 * h.slow });
    await a.wait(/^ready$/, { from: a.lines.indexOf('ready') + 1 });
    const f = a.lines.length;
    a.send('acquire agent:erin');
    await a.wait(/^acquired agent:erin$/, { from: f });
    await sleep(LEASE * 1.5);
    assert.ok((a.stderr.match(/NOSCRIPT/g) || []).length > before, 'no NOSCRIPT after the restart');
    a.send('held agent:erin');
    await a.wait(/^held agent:erin yes$/);
    assert.equal(await redis.cli('GET', 'ucgw:lease:agent:erin'), 'node-1');
  });
});

test('Redis unreachable: the holder gives the lease up within the lease time, saying why', async () => {
  await withNodes(1, async (redis, files, a) => {
    a.send('acquire agent:frank');
    await a.wait(/^acquired agent:frank$/);
    const t0 = Date.now();
    await redis.kill();
    const lost = await a.wait(/^lost agent:frank /, { timeoutMs: 3000 * h.slow });
    assert.ok(Date.now() - t0 <= LEASE + 300 * h.slow, `took ${Date.now() - t0} ms`);
    assert.match(lost, new RegExp(`^lost agent:frank (not renewed within ${LEASE} ms: Redis unavailable: (connect: Connection refused|connection lost: .+)|Redis no longer names this node .*)$`));
    await a.wait(/^unavailable /);
  });
});

test('while Redis is down, commands are queued up to cluster.max_queue and sent on reconnect', async () => {
  await withNodes(1, async (redis, files, a) => {
    await redis.kill();
    await a.wait(/^unavailable /);
    for (let i = 0; i < 6; i++) a.send(`acquire agent:q${i}`);
    // Beyond the bound: refused at once, saying why.
    for (const i of [4, 5]) {
      assert.match(await a.wait(new RegExp(`^failed agent:q${i} `)),
        /^failed agent:q\d 4 commands already waiting for Redis \(cluster\.max_queue\); Redis unavailable: (connect: Connection refused|connection lost: .+)$/);
    }
    assert.equal(a.lines.filter((l) => /^acquired/.test(l)).length, 0);
    await redis.start();
    // The queued ones go out once Redis is back.
    for (let i = 0; i < 4; i++) await a.wait(new RegExp(`^acquired agent:q${i}$`));
    for (let i = 0; i < 4; i++) assert.equal(await redis.cli('GET', `ucgw:lease:agent:q${i}`), 'node-1');
    assert.equal(await redis.cli('EXISTS', 'ucgw:lease:agent:q4'), '0');
  }, { overrides: { 'cluster.max_queue': 4 } });
});

test('the password is used (AUTH) and never logged', async () => {
  const password = 'lease-pw-55aa0931';
  const drives = await withNodes(1, async (redis, files, a) => {
    a.send('acquire agent:gina');
    await a.wait(/^acquired agent:gina$/);
    assert.equal(await redis.cli('GET', 'ucgw:lease:agent:gina'), 'node-1');
  }, { password });
  assert.equal(drives[0].stderr.includes(password), false);
});
