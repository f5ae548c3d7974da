#!/usr/bin/env node
// sim_sendmessage.js: measures ucwa-sim's sendMessage request rate (one
// process, one event loop, so one core). Not a test. It starts the
// simulator from the build tree over plain HTTP, signs in, connects one
// conversation per client connection, keeps the event channel drained as a
// real client would, then sends messages for a fixed time.
//   cd build && node ../tests/bench/sim_sendmessage.js [seconds=5] [connections=8]
'use strict';

const { spawn } = require('node:child_process');
const http = require('node:http');
const path = require('node:path');

const seconds = Number(process.argv[2] || 5);
const conns = Number(process.argv[3] || 8);
const builddir = process.env.UCGW_BUILDDIR || process.cwd();

function req(port, agent, method, p, { token, body, ctype } = {}) {
  return new Promise((resolve, reject) => {
    const headers = {};
    if (token) headers.Authorization = `Bearer ${token}`;
    if (body !== undefined) {
      headers['Content-Type'] = ctype || 'application/json';
      headers['Content-Length'] = Buffer.byteLength(body);
    }
    const r = http.request({ host: '127.0.0.1', port, method, path: p, headers, agent }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        let json;
        try { json = JSON.parse(text); } catch (_) { json = undefined; }
        resolve({ status: res.statusCode, headers: res.headers, json });
      });
    });
    r.on('error', reject);
    if (body !== undefined) r.write(body);
    r.end();
  });
}

async function main() {
  const sim = spawn(path.join(builddir, 'ucwa-sim'), ['-o', 'listen=["http://127.0.0.1:0"]', '-o', 'log.level=error',
    '-o', 'limits.conversations_per_app=1000'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise((resolve) => {
    let out = '';
    sim.stdout.on('data', (d) => {
      out += d;
      const m = /listening on \S+:(\d+)\n/.exec(out);
      if (m) resolve(Number(m[1]));
    });
  });
  try {
    const agent = new http.Agent({ keepAlive: true, maxSockets: conns + 2 });
    const tok = (await req(port, agent, 'POST', '/WebTicket/oauthtoken',
      { body: 'grant_type=password&username=toshm%40contoso.com&password=secret', ctype: 'application/x-www-form-urlencoded' })).json.access_token;
    const app = (await req(port, agent, 'POST', '/ucwa/oauth/v1/applications',
      { token: tok, body: JSON.stringify({ userAgent: 'bench', endpointId: 'bench', culture: 'en-US' }) })).json;
    let next = app._links.events.href;
    let draining = true;
    const sends = new Map();
    const pump = (async () => {
      const pgAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      while (draining) {
        const r = await req(port, pgAgent, 'GET', next, { token: tok });
        if (r.status !== 200) break;
        next = r.json._links.next.href;
        for (const s of r.json.sender || []) {
          for (const e of s.events) {
            if (e.link.rel === 'messaging' && e._embedded && e._embedded.messaging._links.sendMessage) {
              sends.set(e.link.href, e._embedded.messaging._links.sendMessage.href);
            }
          }
        }
      }
    })();
    for (let i = 0; i < conns; i++) {
      await req(port, agent, 'POST', app._embedded.communication._links.startMessaging.href,
        { token: tok, body: JSON.stringify({ to: 'sip:lenea@contoso.com', operationId: `c${i}` }) });
    }
    while (sends.size < conns) await new Promise((r) => setTimeout(r, 10));
    const urls = [...sends.values()];
    const lat = [];
    let n = 0;
    let errors = 0;
    const until = Date.now() + seconds * 1000;
    await Promise.all(urls.map(async (u, i) => {
      const a = new http.Agent({ keepAlive: true, maxSockets: 1 });
      while (Date.now() < until) {
        const t0 = process.hrtime.bigint();
        const r = await req(port, a, 'POST', `${u}?operationId=${i}-${n}`, { token: tok, body: `message ${n}`, ctype: 'text/plain; charset=UTF-8' });
        lat.push(Number(process.hrtime.bigint() - t0) / 1e6);
        if (r.status === 201) n++; else errors++;
      }
    }));
    draining = false;
    lat.sort((x, y) => x - y);
    const pct = (p) => lat[Math.min(lat.length - 1, Math.floor(lat.length * p))].toFixed(2);
    console.log(`sendMessage: ${n} in ${seconds} s over ${conns} connections = ${(n / seconds).toFixed(0)} req/s` +
      ` (errors ${errors}); latency ms p50 ${pct(0.5)} p99 ${pct(0.99)} max ${lat[lat.length - 1].toFixed(2)}`);
    sim.kill('SIGTERM');
    await pump.catch(() => {});
  } finally {
    sim.kill('SIGTERM');
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
