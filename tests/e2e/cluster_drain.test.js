// cluster_drain.test.js: the owner of two agents drained (SIGTERM) behind
// haproxy while both agents' desktops keep sending requests through
// haproxy every 10 ms (issue 15 item 6, without take-over: the agents are
// signed in afresh on the other node). Every answer is 200, except that a
// request reaching the draining node in the few milliseconds between its
// releases and its exit gets 503 + Retry-After: 0 ("This node is shutting
// down; retry"), and one reaching the other node just before the release
// is forwarded to the exiting node and gets 503 + Retry-After: 1 ("The
// agent's node cannot be reached"); never 401; at most 4 failures; the
// other node holds both leases afterwards and answers everything. With the release script
// made a no-op most requests fail (503 with the lease's Retry-After).
//
// Known windows (not fixed): 0-3 such 503s in about half the runs under
// load, and now and then a 502 of haproxy (a request sent on a kept-alive
// connection as the drain closed it: "incomplete response"). Closing the listening sockets at SIGTERM before the releases was
// tried and is worse: the other node, still seeing the lease, forwards to
// the draining node, which refuses ("The agent's node cannot be reached"),
// and a connection reset in the accept queue gives haproxy's own 502.
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
    assert.ok(bad.length <= 4, `${bad.length} requests failed: ${JSON.stringify(bad)}`);
    // Once the drain is over, everything is answered by the other node.
    const late = answers.filter((x) => x.t > tExit + 200);
    assert.ok(late.length > 20);
    assert.deepEqual(late.filter((x) => x.status !== 200), []);
    for (const u of users) assert.equal(await holder(env, u), 'node-b');
  } finally {
    await teardown(env);
  }
});
