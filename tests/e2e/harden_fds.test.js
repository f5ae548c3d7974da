// harden_fds.test.js: ucgw at its file limit (issue 14, item 1). The soft
// limit is raised to the hard one; limits.max_connections is capped at the
// file limit minus limits.fd_reserve; at EMFILE the listeners pause instead
// of spinning on accept(), open connections keep being served, and repeated
// warnings are rate-limited with a "suppressed N" count.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const net = require('node:net');
const h = require('./lib/harness');

const port0 = ['-o', 'listen=["http://127.0.0.1:0"]', '-o', 'auth.verifier=static'];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// CPU time (user + system) of a process in seconds, from /proc.
function cpuSeconds(pid) {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in USER_HZ (100)
}

// Open n connections at once; each records whether the gateway closed it.
async function flood(port, n) {
  const socks = [];
  for (let i = 0; i < n; i++) {
    const s = net.connect(port, '127.0.0.1');
    s.closedByPeer = false;
    s.on('error', () => {});
    s.on('end', () => { s.closedByPeer = true; });
    s.on('close', () => { s.closedByPeer = true; });
    socks.push(s);
  }
  await h.waitFor(() => socks.every((s) => s.readyState !== 'opening'), 5000 * h.slow, 'connects');
  return socks;
}

// A keep-alive connection that sends GET /healthz and reads the status line.
async function healthOn(raw) {
  const before = raw.data.length;
  raw.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
  await h.waitFor(() => /\r\n\r\n\{[^]*\}/.test(raw.data.slice(before)), 5000 * h.slow,
    () => `no health answer in ${JSON.stringify(raw.data.slice(before))}`);
  const got = raw.data.slice(before);
  assert.match(got, /^HTTP\/1\.1 200 /);
}

test('the soft file limit is raised to the hard one at start', async () => {
  const gw = await h.start('ucgw', port0, { prefix: ['prlimit', '--nofile=64:300', '--'] });
  try {
    // The cap line names the limit in force. Valgrind virtualises RLIMIT_NOFILE (the client
    // sees its soft limit as the hard one), so the raise is only visible without it.
    const files = Number(/the file limit (\d+) minus/.exec(gw.stderr)[1]);
    if (!process.env.UCGW_WRAP) {
      assert.equal(files, 300);
      const limits = fs.readFileSync(`/proc/${gw.child.pid}/limits`, 'utf8');
      assert.match(limits, /^Max open files\s+300\s+300\s+files/m);
    } else {
      assert.ok(files > 0);
    }
  } finally {
    assert.equal((await gw.stop()).code, 0);
  }
});

test('max_connections is capped at the file limit minus the reserve; refusals are rate-limited', async () => {
  const gw = await h.start('ucgw', [...port0, '-o', 'limits.fd_reserve=40'],
    { prefix: ['prlimit', '--nofile=100:100', '--'] });
  const socks = [];
  try {
    // 100 files (a few fewer under valgrind, which keeps some for itself) minus the reserve.
    const m = /limits\.max_connections 20000 is above the file limit (\d+) minus limits\.fd_reserve 40: (\d+) connections at most/.exec(gw.stderr);
    assert.ok(m, gw.stderr);
    const cap = Number(m[2]);
    assert.equal(cap, Number(m[1]) - 40);
    assert.ok(cap > 40 && cap <= 60, `cap ${cap}`);
    const keep = await h.rawConnect(gw.port);
    await healthOn(keep);
    socks.push(...await flood(gw.port, 80));
    // cap - 1 more fit (cap with `keep`); the others are closed at once.
    const refused = 80 - (cap - 1);
    await h.waitFor(() => socks.filter((s) => s.closedByPeer).length >= refused, 5000 * h.slow, `${refused} refusals`);
    await sleep(200);
    assert.equal(socks.filter((s) => s.closedByPeer).length, refused);
    await healthOn(keep); // an open connection is still served
    const refusals = () => gw.stderr.split('\n').filter((l) => /refusing a connection/.test(l));
    assert.equal(refusals().length, 5, gw.stderr);
    // A later window reports how many were left out.
    await sleep(10200);
    socks.push(...await flood(gw.port, 1));
    await h.waitFor(() => refusals().length === 6, 5000 * h.slow, 'the next refusal line');
    assert.match(refusals()[5], new RegExp(`refusing a connection \\(connection limit reached\\) \\(suppressed ${refused - 5} like it\\)$`));
    keep.end();
  } finally {
    for (const s of socks) s.destroy();
    assert.equal((await gw.stop()).code, 0);
  }
});

test('at EMFILE the listeners pause instead of spinning; open connections are served; accept resumes', async () => {
  // No reserve: downstream connections run the process out of files.
  const gw = await h.start('ucgw', [...port0, '-o', 'limits.fd_reserve=0'],
    { prefix: ['prlimit', '--nofile=64:64', '--'] });
  let socks = [];
  try {
    const keep = await h.rawConnect(gw.port);
    await healthOn(keep);
    socks = await flood(gw.port, 120);
    await sleep(500);
    const cpu0 = cpuSeconds(gw.child.pid);
    const t0 = Date.now();
    await sleep(2000);
    const share = (cpuSeconds(gw.child.pid) - cpu0) / ((Date.now() - t0) / 1000);
    assert.ok(share < 0.25, `ucgw used ${Math.round(share * 100)} % of a core at EMFILE`);
    await healthOn(keep); // served while accept() cannot be
    const lines = gw.stderr.split('\n').filter((l) => /accept/.test(l));
    assert.ok(lines.length <= 5, `${lines.length} accept lines:\n${lines.slice(0, 10).join('\n')}`);
    assert.match(lines[0], /accept: Too many open files \(\d+ connections open\): listeners paused for 10 ms/);
    assert.ok(gw.stderr.length < 20000, `log grew to ${gw.stderr.length} bytes`);
    for (const s of socks) s.destroy();
    socks = [];
    // Files are free again: a new connection is accepted within the longest pause.
    const fresh = await h.rawConnect(gw.port);
    await healthOn(fresh);
    fresh.end();
    keep.end();
  } finally {
    for (const s of socks) s.destroy();
    assert.equal((await gw.stop()).code, 0);
  }
});
