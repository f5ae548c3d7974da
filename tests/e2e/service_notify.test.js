// systemd's notification protocol (issue 16): with NOTIFY_SOCKET set, ucgw
// says READY=1 once listening, STATUS= with agents and sessions, RELOADING=1
// then READY=1 around a SIGHUP, STOPPING=1 on SIGTERM, and WATCHDOG=1 at half
// of WATCHDOG_USEC. tests/notify-sink stands in for systemd's socket.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const path = require('node:path');
const h = require('./lib/harness');

test('sd_notify: READY, STATUS, RELOADING, STOPPING and WATCHDOG', async () => {
  const dir = h.tmpdir();
  const sock = path.join(dir, 'notify');
  const sink = spawn(path.join(h.builddir, 'tests', 'notify-sink'), [sock], { stdio: ['ignore', 'pipe', 'pipe'] });
  let got = '';
  sink.stdout.on('data', (d) => { got += d; });
  try {
    await h.waitFor(() => got.startsWith('ready\n'), 5000 * h.slow, 'notify-sink to bind');
    // One line per datagram; notify-sink shows the newlines inside one as '|'.
    const lines = () => got.split('\n').slice(1).filter((l) => l !== '');
    const has = (l, a) => l.split('|').includes(a);
    const gw = await h.start('ucgw', ['-o', 'listen=["http://127.0.0.1:0"]', '-o', 'auth.verifier=static',
      '-o', 'upstream.discovery_url=null'],
    { env: { NOTIFY_SOCKET: sock, WATCHDOG_USEC: '400000' } });
    await h.waitFor(() => lines().some((l) => has(l, 'READY=1')), 5000 * h.slow, () => `READY=1 in ${JSON.stringify(lines())}`);
    // READY=1 comes with its status, in the same message.
    assert.ok(lines().some((l) => has(l, 'READY=1') && has(l, 'STATUS=0 agents, 0 IM sessions, 0 CometD clients; ready')),
      JSON.stringify(lines()));
    await h.waitFor(() => lines().filter((l) => l === 'WATCHDOG=1').length >= 2, 5000 * h.slow,
      () => `two WATCHDOG=1 in ${JSON.stringify(lines())}`);
    const before = lines().length;
    gw.signal_('SIGHUP');
    await h.waitFor(() => /reload done/.test(gw.stderr), 5000 * h.slow, 'reload done');
    await h.waitFor(() => {
      const after = lines().slice(before).filter((l) => l !== 'WATCHDOG=1');
      const reloading = after.findIndex((l) => has(l, 'RELOADING=1'));
      return reloading >= 0 && after.findIndex((l, i) => i > reloading && has(l, 'READY=1')) > reloading;
    }, 5000 * h.slow, () => `RELOADING=1 then READY=1 in ${JSON.stringify(lines().slice(before))}`);
    const r = await gw.stop();
    assert.equal(r.code, 0, gw.stderr);
    await h.waitFor(() => lines().includes('STOPPING=1'), 5000 * h.slow, 'STOPPING=1');
  } finally {
    sink.kill('SIGTERM');
  }
});

test('sd_notify: nothing is sent and nothing fails without NOTIFY_SOCKET', async () => {
  const gw = await h.start('ucgw', ['-o', 'listen=["http://127.0.0.1:0"]', '-o', 'auth.verifier=static',
    '-o', 'upstream.discovery_url=null'], { env: { NOTIFY_SOCKET: '', WATCHDOG_USEC: '' } });
  const r = await gw.stop();
  assert.equal(r.code, 0, gw.stderr);
  assert.doesNotMatch(gw.stderr, /watchdog/);
});
