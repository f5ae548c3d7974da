// ucwa_tls.test.js: the UCWA client's HTTPS checks, against a real
// ucwa-sim https listener: its certificate must chain to the configured CA
// and name the host; otherwise the client refuses the connection.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');
const s = require('./lib/sim');
const u = require('./lib/ucwa');

// A sim whose certificate names only "other.example" (signed by its own CA).
async function simNamed(names) {
  const pki = h.makeCA(h.tmpdir('ucwa-tls-'), names);
  const proc = await h.start('ucwa-sim', ['-o', 'listen=["https://127.0.0.1:0"]',
    '-o', `tls.cert_file=${pki.cert}`, '-o', `tls.key_file=${pki.key}`]);
  return { proc, port: proc.port, pki };
}

test('a certificate signed by the configured CA and naming the host is accepted', async () => {
  const sim = await s.startSim();
  try {
    const r = await u.fetch(`https://127.0.0.1:${sim.port}/`, { 'upstream.ca_file': u.caFile(sim) });
    assert.equal(r.err, 'ok', r.errstr);
    assert.equal(r.status, 200);
    const r2 = await u.fetch(`https://localhost:${sim.port}/`, { 'upstream.ca_file': u.caFile(sim) });
    assert.equal(r2.err, 'ok', r2.errstr);
  } finally {
    assert.equal((await sim.stop()).code, 0);
  }
});

test('a certificate not signed by the configured CA is rejected', async () => {
  const sim = await s.startSim();
  const other = h.makeCA(h.tmpdir('ucwa-tls-other-'), ['localhost', '127.0.0.1'], { cn: 'another CA' });
  try {
    const r = await u.fetch(`https://127.0.0.1:${sim.port}/`, { 'upstream.ca_file': other.ca });
    assert.equal(r.err, 'tls');
    assert.match(r.errstr, /certificate .*rejected/);
    // the same server with verification off (tests only) is reached
    const r2 = await u.fetch(`https://127.0.0.1:${sim.port}/`, { 'upstream.ca_file': other.ca, 'upstream.verify': false });
    assert.equal(r2.err, 'ok', r2.errstr);
  } finally {
    assert.equal((await sim.stop()).code, 0);
  }
});

test('a certificate that does not name the host is rejected', async () => {
  const sim = await simNamed(['other.example']);
  try {
    const r = await u.fetch(`https://127.0.0.1:${sim.port}/`, { 'upstream.ca_file': sim.pki.ca });
    assert.equal(r.err, 'tls');
    assert.match(r.errstr, /rejected/);
    const r2 = await u.fetch(`https://localhost:${sim.port}/`, { 'upstream.ca_file': sim.pki.ca });
    assert.equal(r2.err, 'tls');
  } finally {
    await sim.proc.stop();
  }
});

test('an agent whose server certificate is rejected fails as unreachable', async () => {
  const sim = await s.startSim();
  const other = h.makeCA(h.tmpdir('ucwa-tls-other-'), ['localhost', '127.0.0.1'], { cn: 'another CA' });
  const d = u.drive(sim, { overrides: { 'upstream.ca_file': other.ca } });
  try {
    const f = await d.wait({ event: 'failed' });
    assert.equal(f.reason, 'unreachable');
    assert.match(f.why, /certificate/);
    assert.equal(d.find({ event: 'signed_in' }).length, 0);
  } finally {
    assert.equal((await d.stop()).code, 0);
    assert.equal((await sim.stop()).code, 0);
  }
});
