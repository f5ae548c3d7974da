// cluster_drain.test.js: the owner of two agents drained (SIGTERM) behind
// haproxy (the configuration of docs/cluster.md: retry-on conn-failure 503,
// http-server-close) while both agents' desktops keep sending requests
// through haproxy every 10 ms (issue 15 item 6). Every answer is 200: the
// draining node hands each agent over and answers what it can no longer
// serve 503 + Retry-After: 0 (nothing done), which haproxy retries on the
// other node; the listen backlog is served, not reset; never 401; the other
// node holds both leases afterwards. With the release script made a no-op
// most requests fail (503 with the lease's Retry-After).
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');
const cm = require('./lib/cometd');
const {
  sleep, startCluster, teardown, gws, holder, startHaproxy,
} = require('./lib/cluster');

test('SIGTERM on the owner behind haproxy under traffic: every request answered 200', async () => {
  const env = await startCluster({ lease: 20000 * h.slow });
  try {
    const hp = await startHaproxy(env);
    const users = ['agent1', 'agent2'];
    for (const u of users) {
      const r = await gws(env.a.port, '/me', { Authorization: cm.basic(u) });
      assert.equal(r.status, 200);
      assert.equal(await holder(env, u), 'node-a');
    }
    const answers = [];
    let stop = false;
    const loops = users.map(async (u) => {
      while (!stop) {
        const r = await gws(hp.port, '/me', { Authorization: cm.basic(u) }).catch((e) => ({ status: 0, body: String(e) }));
        answers.push({ u, status: r.status, body: r.body, retry: r.headers && r.headers['retry-after'], t: Date.now() });
        await sleep(10);
      }
    });
    await sleep(300);
    const a = env.a;
    const exit = await a.stop();
    const tExit = Date.now();
    env.a = null;
    assert.equal(exit.code, 0, a.stderr.slice(-3000));
    await sleep(1500);
    stop = true;
    await Promise.all(loops);
    const bad = answers.filter((x) => x.status !== 200);
    const refused = bad.filter((x) => x.status === 503);
    const cut = bad.filter((x) => x.status === 502);
    console.log(`# ${answers.length} requests: ${refused.length} answered 503 (draining or unreachable owner), ` +
      `${cut.length} haproxy 502 (a kept-alive connection closed by the drain)`);
    for (const x of refused) {
      assert.match(x.body, /This node is shutting down; retry|The agent's node cannot be reached; retry later/, JSON.stringify(x));
      assert.match(x.retry || '', /^[01]$/, JSON.stringify(x));
    }
    for (const x of cut) assert.match(x.body, /502 Bad Gateway/, JSON.stringify(x));
    assert.equal(refused.length + cut.length, bad.length, `other answers: ${JSON.stringify(bad)}`);
    assert.deepEqual(bad, [], 'no request failed');
    // Once the drain is over, everything is answered by the other node.
    const late = answers.filter((x) => x.t > tExit + 200);
    assert.ok(late.length > 20);
    assert.deepEqual(late.filter((x) => x.status !== 200), []);
    for (const u of users) assert.equal(await holder(env, u), 'node-b');
  } finally {
    await teardown(env);
  }
});
