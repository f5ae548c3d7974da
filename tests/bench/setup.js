#!/usr/bin/env node
// setup.js: prepares the data files the wrk profiles (tests/bench/wrk/)
// read. Not a test.
//
// Gateway mode (the default): signs in N agents through a GWS gateway
// (GET /me?subresources=*, StartContactCenterSession, Ready; ucgw signs
// each in to UCWA with these Basic credentials), starts one outgoing IM
// session per agent (InitiateIMSession to --dest, waits until Talking via
// GET /api/v2/me/im-sessions?fields=*), and writes in --out:
//   agents.tsv    <user> TAB <Authorization> TAB JSESSIONID=<cookie>
//   sessions.tsv  <session id> TAB <Authorization> TAB JSESSIONID=<cookie>
//
// UCWA mode (--ucwa URL): signs N users in straight to a UCWA server
// (ucwa-sim; token, application, makeMeAvailable, startMessaging to
// --remote), and writes ucwa.tsv (<sendMessage href> TAB Bearer <token>)
// for wrk/ucwa_sendmessage.lua. It then keeps draining every event
// channel, as a client must, until SIGTERM or SIGINT.
//
// The URLs may be https:// on any host (NODE_EXTRA_CA_CERTS=ca.pem for a
// private CA). Agents: --users FILE (JSON [{"user","password"}]) or ucwa-sim's load
// users load<i>@contoso.com / load<i>, i = --first .. --first+N-1.
//
//   node setup.js --gateway http://127.0.0.1:8080 --agents 64 --out /tmp/b
//   node setup.js --ucwa http://127.0.0.1:8081 --agents 64 --out /tmp/b
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const http = require('node:http');
const https = require('node:https');
const lib = require('./lib');

function args(argv) {
  const o = { agents: 16, first: 1, dest: lib.REMOTE.phone, remote: lib.REMOTE.uri, out: '.', par: 16, sessions: true };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i].replace(/^--/, '');
    if (k === 'no-sessions') { o.sessions = false; continue; }
    if (i + 1 >= argv.length) throw new Error(`--${k} needs a value`);
    o[k] = argv[++i];
  }
  for (const k of ['agents', 'first', 'par']) o[k] = Number(o[k]);
  return o;
}

// The gateway's address as lib.request takes it (http:// or https:// URL).
function port(url) {
  const u = new URL(url);
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`${url}: not an http(s) URL`);
  return u.origin;
}

function users(o) {
  if (o.users) return JSON.parse(fs.readFileSync(o.users, 'utf8')).slice(0, o.agents);
  return Array.from({ length: o.agents }, (_, k) => lib.loadUser(o.first + k));
}

// Gateway mode.
async function gateway(o) {
  const gp = port(o.gateway);
  const us = users(o);
  const rows = await lib.pool(0, us.length, o.par, async (k) => {
    const u = us[k];
    const me = await lib.gws(gp, u, 'GET', '/me?subresources=*');
    if (me.status !== 200) throw new Error(`GET /me ${u.user}: ${me.status} ${me.body.slice(0, 200)}`);
    const m = /JSESSIONID=([^;]+)/.exec([].concat(me.headers['set-cookie'] || []).join(';'));
    const cookie = m ? `JSESSIONID=${m[1]}` : '';
    const op = async (body) => {
      const r = await lib.gws(gp, u, 'POST', '/me', body);
      if (!r.json || r.json.statusCode !== 0) throw new Error(`${body.operationName} ${u.user}: ${r.body}`);
    };
    await op({ operationName: 'StartContactCenterSession', channels: ['im'] });
    await op({ operationName: 'Ready' });
    let id = '';
    if (o.sessions) {
      const l = await lib.gws(gp, u, 'GET', '/me/im-sessions?fields=*');
      const live = ((l.json && l.json.imSessions) || []).find((s) => s.state === 'Talking');
      id = live ? live.id : await lib.talk(gp, u);
    }
    return { user: u.user, auth: lib.basic(u), cookie, id };
  });
  fs.writeFileSync(path.join(o.out, 'agents.tsv'), rows.map((r) => `${r.user}\t${r.auth}\t${r.cookie}\n`).join(''));
  if (o.sessions) fs.writeFileSync(path.join(o.out, 'sessions.tsv'), rows.map((r) => `${r.id}\t${r.auth}\t${r.cookie}\n`).join(''));
  console.log(`setup: ${rows.length} agents signed in${o.sessions ? ', each with a Talking session' : ''}; wrote ${o.out}`);
}

// One user signed in straight to UCWA, its conversation connected, and its
// event channel drained until stopped. Resolves {href, auth, stop}.
async function ucwaUser(sp, u, remote) {
  const agent = new (sp.startsWith('https:') ? https : http).Agent({ keepAlive: true, maxSockets: 1 });
  const tok = await lib.request({ port: sp, method: 'POST', path: '/WebTicket/oauthtoken', agent,
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: `grant_type=password&username=${encodeURIComponent(u.user)}&password=${encodeURIComponent(u.password)}` });
  if (!tok.json || !tok.json.access_token) throw new Error(`token ${u.user}: ${tok.status} ${tok.body}`);
  const auth = `Bearer ${tok.json.access_token}`;
  const call = (method, p, body) => lib.request({ port: sp, method, path: p, agent,
    headers: body === undefined ? { Authorization: auth } : { Authorization: auth, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body) });
  const app = (await call('POST', '/ucwa/oauth/v1/applications', { UserAgent: 'bench', EndpointId: 'bench', Culture: 'en-US' })).json;
  const av = await call('POST', app._links.self.href + '/me/makeMeAvailable', { SupportedModalities: ['Messaging'] });
  if (av.status !== 204 && av.status !== 409) throw new Error(`makeMeAvailable ${u.user}: ${av.status}`);
  let next = app._links.events.href;
  let href;
  let running = true;
  const pg = new (sp.startsWith('https:') ? https : http).Agent({ keepAlive: true, maxSockets: 1 });
  const pump = (async () => {
    while (running) {
      const r = await lib.request({ port: sp, path: next, agent: pg, headers: { Authorization: auth }, timeoutMs: 600000 });
      if (r.status !== 200) { if (running) throw new Error(`P-GET ${u.user}: ${r.status}`); return; }
      next = r.json._links.next ? r.json._links.next.href : (r.json._links.resync || r.json._links.resume).href;
      for (const s of r.json.sender || []) {
        for (const e of s.events) {
          if (e.link.rel === 'messaging' && e._embedded && e._embedded.messaging._links.sendMessage) {
            href = e._embedded.messaging._links.sendMessage.href;
          }
        }
      }
    }
  })();
  pump.catch((e) => { if (running) console.error(e.message); });
  const st = await call('POST', app._embedded.communication._links.startMessaging.href, { to: remote, operationId: 'bench' });
  if (st.status !== 201) throw new Error(`startMessaging ${u.user}: ${st.status} ${st.body}`);
  await lib.waitFor(() => href, 30000, `sendMessage link for ${u.user}`);
  return { href, auth, stop() { running = false; pg.destroy(); agent.destroy(); } };
}

// UCWA mode.
async function ucwa(o) {
  const sp = port(o.ucwa);
  const us = users(o);
  const done = await lib.pool(0, us.length, o.par, (k) => ucwaUser(sp, us[k], o.remote));
  fs.writeFileSync(path.join(o.out, 'ucwa.tsv'), done.map((r) => `${r.href}\t${r.auth}\n`).join(''));
  console.log(`setup: ${done.length} UCWA conversations connected; wrote ${path.join(o.out, 'ucwa.tsv')}; draining until SIGTERM`);
  await new Promise((resolve) => { process.once('SIGTERM', resolve); process.once('SIGINT', resolve); });
  for (const d of done) d.stop();
  process.exit(0);
}

const o = args(process.argv.slice(2));
(o.ucwa ? ucwa(o) : gateway(o)).catch((e) => { console.error(`setup: ${e.message}`); process.exit(1); });
