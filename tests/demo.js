// demo.js: README command 1. Starts ucwa-sim (standing in for Skype for
// Business) and ucgw in front of it on free loopback ports, logs two agents
// in as GWS desktops do (GET /me, CometD with the official client,
// StartContactCenterSession, Ready), has agent1 start an IM session with
// agent2's number, exchanges a few messages, completes it, and prints what
// each desktop sent and was notified. Both processes are stopped at the end.
'use strict';

const h = require('./e2e/lib/harness');
const im = require('./e2e/lib/im');

const say = (s) => process.stdout.write(`${s}\n`);

// Print the notifications a desktop received since `from`.
function show(d, from) {
  for (const n of d.im().slice(from)) {
    if (n.messageType === 'IMSessionStateChangeMessage') {
      say(`    ${d.user} ⇐ ${n.notificationType}: session ${n.imSession.id.slice(0, 8)}… ${n.imSession.state}` +
        `${n.imSession.participants ? ` with ${n.imSession.participants.map((p) => p.phoneNumber).join(',')}` : ''}`);
    } else {
      say(`    ${d.user} ⇐ NewMessage: "${n.message}"`);
    }
  }
  return d.im().length;
}

async function main() {
  const env = { desks: {} };
  try {
    env.sim = await im.startSim();
    env.gw = await im.startGateway(env.sim.port);
    say(`ucwa-sim (Skype for Business stand-in) on 127.0.0.1:${env.sim.port}`);
    say(`ucgw on 127.0.0.1:${env.gw.port}, upstream http://127.0.0.1:${env.sim.port}/\n`);
    const a = await im.desktop(env.gw.port, 'agent1');
    const b = await im.desktop(env.gw.port, 'agent2');
    env.desks = { agent1: a, agent2: b };
    for (const d of [a, b]) {
      say(`${d.user}: logged in (GET /me, CometD handshake + subscribe /v2/me/*, StartContactCenterSession, Ready)` +
        ` — device ${d.me.devices[0].id}, signed in to Skype for Business with its own credentials`);
    }
    let fa = a.im().length;
    let fb = b.im().length;
    say(`\nagent1 → POST /api/v2/me/im-sessions InitiateIMSession destination ${im.PHONES.agent2}`);
    const r = await a.op('/me/im-sessions', { operationName: 'InitiateIMSession', destination: { phoneNumber: im.PHONES.agent2 } });
    say(`    ${JSON.stringify(r.json)}`);
    const sa = await a.state('Talking', fa);
    const sb = await b.state('Talking', fb);
    fa = show(a, fa);
    fb = show(b, fb);
    const lines = [[a, sa, 'Hello agent2, can you take a customer question?'],
      [b, sb, 'Sure, go ahead.'], [a, sa, 'Thanks! Sending the details now.']];
    for (const [d, s, text] of lines) {
      const other = d === a ? b : a;
      say(`\n${d.user} → SendMessage "${text}"`);
      const res = await d.op(`/me/im-sessions/${s.id}`, { operationName: 'SendMessage', text });
      say(`    ${JSON.stringify(res.json)}`);
      await other.next((n) => n.message === text, other === a ? fa : fb);
      await d.next((n) => n.message === text, d === a ? fa : fb);
      fa = show(a, fa);
      fb = show(b, fb);
    }
    say(`\nagent1 → Complete`);
    say(`    ${JSON.stringify((await a.op(`/me/im-sessions/${sa.id}`, { operationName: 'Complete' })).json)}`);
    await a.state('Completed', fa);
    await b.state('Completed', fb);
    fa = show(a, fa);
    fb = show(b, fb);
    for (const d of [a, b]) await d.logout();
    say('\nboth agents logged out (EndContactCenterSession)');
  } finally {
    const codes = await im.teardown(env);
    say(`stopped: ucgw exit ${codes.gw}, ucwa-sim exit ${codes.sim}`);
    if (codes.gw !== 0 || codes.sim !== 0) process.exitCode = 1;
  }
}

main().catch((e) => { say(`demo failed: ${e.message}`); h.killAll(); process.exit(1); });
