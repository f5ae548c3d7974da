// Running ucgw as a service (issue 16): /metrics in the Prometheus text
// format (checked by promtool when installed) with counts that match the
// traffic a desktop made, /readyz semantics, JSON logs with access lines and
// no credential anywhere in the whole log.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const h = require('./lib/harness');
const im = require('./lib/im');
const cm = require('./lib/cometd');

// The sample value of name{labels} in a scrape (labels exactly as rendered), or undefined.
function sample(text, series) {
  for (const line of text.split('\n')) {
    if (line.startsWith(series + ' ')) return Number(line.slice(series.length + 1));
  }
  return undefined;
}

// promtool check metrics on a scrape: no complaint at all (lint included).
function promtool(text) {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if (r.error && r.error.code === 'ENOENT') return null;
  return r;
}

async function scrape(port) {
  const r = await h.request({ port, path: '/metrics' });
  assert.equal(r.status, 200);
  assert.match(r.headers['content-type'], /^text\/plain; version=0\.0\.4/);
  return r.body;
}

// ucgw in front of a simulator with an admin listener; extra -o args.
async function startPair(gwArgs = []) {
  const sim = await im.startSim();
  const gw = await h.start('ucgw', ['-o', 'listen=["http://127.0.0.1:0"]',
    '-o', 'admin.listen=["http://127.0.0.1:0"]', '-o', 'admin.ready_check_ms=500',
    '-o', `upstream.discovery_url=http://127.0.0.1:${sim.port}/`,
    '-o', 'upstream.backoff_min_ms=50', '-o', 'upstream.backoff_max_ms=500', ...gwArgs], { listeners: 2 });
  gw.admin = gw.portOf(1);
  return { sim, gw, desks: {} };
}

test('metrics: promtool accepts the scrape and the counters match a conversation', async () => {
  // Rules that split texts over 20 characters; the reload below refuses them instead.
  const dir = h.tmpdir();
  const rules = path.join(dir, 'translate.json');
  const shipped = fs.readFileSync(path.join(h.srcdir, 'conf', 'translate.json'), 'utf8');
  const withText = (over) => shipped.replace('"max_length": 4000', '"max_length": 20')
    .replace('"over_max": "split"', `"over_max": "${over}"`);
  fs.writeFileSync(rules, withText('split'));
  const env = await startPair(['-o', 'log.format=json', '-o', 'log.access=true', '-o', `translate.file=${rules}`]);
  try {
    const d = await im.desktop(env.gw.port, 'agent1');
    env.desks.agent1 = d;
    await im.talk(d);
    const id = d.im().find((n) => n.imSession).imSession.id;
    const say = async (text, parts) => {
      const from = d.im().length;
      const sent = await d.op(`/me/im-sessions/${id}`, { operationName: 'SendMessage', text });
      assert.equal(sent.json.statusCode, 0, sent.body);
      await h.waitFor(() => d.im().slice(from).filter((n) => n.notificationType === 'NewMessage' &&
        text.includes(n.message)).length === parts, 10000 * h.slow, `${parts} delivered part(s) of ${text}`);
    };
    await say('hello metrics', 1);
    await say('a message longer than twenty', 2);
    const bad = await d.op('/me/im-sessions', { operationName: 'NoSuchOperation' });
    assert.equal(bad.status, 400);
    // The refusing rules apply to sessions started after the reload.
    fs.writeFileSync(rules, withText('refuse'));
    env.gw.signal_('SIGHUP');
    await h.waitFor(() => /reload done/.test(env.gw.stderr), 5000 * h.slow, 'reload done');
    const from = d.im().length;
    assert.equal((await d.op(`/me/im-sessions/${id}`, { operationName: 'Complete' })).json.statusCode, 0);
    await d.next((n) => n.imSession && n.imSession.state === 'Completed', from);
    const s2 = await im.talk(d);
    const refused = await d.op(`/me/im-sessions/${s2.id}`, { operationName: 'SendMessage', text: 'x'.repeat(21) });
    assert.equal(refused.status, 400);

    const text = await scrape(env.gw.admin);
    const pt = promtool(text);
    if (pt !== null) assert.equal(pt.status, 0, `promtool check metrics:\n${pt.stdout}${pt.stderr}`);
    const req = (route, op, status) => sample(text,
      `ucgw_http_requests_total{route="${route}",operation="${op}",status="${status}"}`);
    assert.equal(req('/api/v2/me/im-sessions', 'InitiateIMSession', 200), 2);
    assert.equal(req('/api/v2/me/im-sessions/*', 'SendMessage', 200), 2);
    assert.equal(req('/api/v2/me/im-sessions/*', 'SendMessage', 400), 1);
    assert.equal(req('/api/v2/me/im-sessions/*', 'Complete', 200), 1);
    assert.equal(req('/api/v2/me/im-sessions', 'unknown', 400), 1, 'raw operation names never become labels');
    assert.equal(req('/api/v2/me', '', 200) >= 1, true);
    assert.equal(sample(text, 'ucgw_http_request_duration_seconds_count{route="/api/v2/me/im-sessions"}'), 3);
    assert.equal(sample(text, 'ucgw_agents'), 1);
    assert.equal(sample(text, 'ucgw_im_sessions{state="Talking"}'), 1);
    assert.equal(sample(text, 'ucgw_cometd_clients'), 1);
    assert.equal(sample(text, 'ucgw_messages_total{result="delivered"}'), 3, 'three parts delivered');
    assert.equal(sample(text, 'ucgw_messages_total{result="split"}'), 1);
    assert.equal(sample(text, 'ucgw_messages_total{result="refused"}'), 1);
    assert.equal(sample(text, 'ucgw_messages_total{result="failed"}'), 0);
    assert.equal(sample(text, 'ucgw_notifications_total{channel="/v2/me/im-sessions"}'), d.im().length,
      'one notification counted per one the desktop received');
    assert.ok(sample(text, 'ucgw_ucwa_calls_total{kind="token",outcome="2xx"}') >= 1);
    assert.ok(sample(text, 'ucgw_ucwa_calls_total{kind="command",outcome="2xx"}') >= 1);
    assert.ok(sample(text, 'ucgw_ucwa_call_duration_seconds_count{kind="token"}') >= 1);
    assert.equal(sample(text, 'ucgw_reloads_total{result="done"}'), 1);
    assert.equal(sample(text, 'ucgw_ready'), 1);
    assert.match(text, /^ucgw_build_info\{version="[^"]+"\} 1$/m);

    // A refused reload counts too.
    assert.ok(sample(text, 'ucgw_last_reload_timestamp_seconds') > Date.now() / 1000 - 60);
    fs.writeFileSync(rules, '{ broken');
    env.gw.signal_('SIGHUP');
    await h.waitFor(() => /reload refused/.test(env.gw.stderr), 5000 * h.slow, 'reload refused');
    const after = await scrape(env.gw.admin);
    assert.equal(sample(after, 'ucgw_reloads_total{result="refused"}'), 1);

    // The admin listener serves nothing of the GWS API, the gateway's no /metrics.
    assert.equal((await h.request({ port: env.gw.admin, path: '/api/v2/me' })).status, 404);
    assert.equal((await h.request({ port: env.gw.port, path: '/metrics' })).status, 404);
  } finally {
    await im.teardown(env);
  }
  // JSON logs: every line one object with the fields; access lines per request.
  const lines = env.gw.stderr.split('\n').filter((l) => l !== '');
  for (const l of lines) {
    let o;
    assert.doesNotThrow(() => { o = JSON.parse(l); }, `not JSON: ${l}`);
    for (const k of ['time', 'level', 'subsystem', 'message']) assert.ok(k in o, `${k} missing in ${l}`);
  }
  const objs = lines.map((l) => JSON.parse(l));
  const access = objs.filter((o) => o.subsystem === 'access');
  const send = access.find((o) => o.method === 'POST' && /im-sessions\/./.test(o.path) && o.status === 200);
  assert.ok(send, 'an access line for SendMessage');
  assert.equal(send.agent, 'agent1');
  assert.ok(send.bytes > 0 && send.duration_ms >= 0);
  assert.ok(objs.some((o) => o.agent === 'agent1' && o.subsystem === 'agent'), 'agent lines carry the agent');
  assert.ok(objs.some((o) => o.agent === 'agent1' && /^[A-Z0-9]{32}$/.test(o.session) &&
    o.message.includes(`session ${o.session}: `)), 'session lines carry the session');
  assert.ok(objs.some((o) => /^\d+$/.test(o.connection) && o.subsystem === 'conn') ||
    !objs.some((o) => o.subsystem === 'conn'), 'connection lines carry the connection');
  // No credential in the whole log.
  const all = env.gw.stderr;
  for (const secret of [cm.AGENTS.agent1, Buffer.from(`agent1:${cm.AGENTS.agent1}`).toString('base64'),
    'Authorization', 'Bearer', 'JSESSIONID=', 'password']) {
    assert.equal(all.includes(secret), false, `"${secret}" appears in the log`);
  }
});

test('metrics: upstream trouble shows in the UCWA counters', async () => {
  const env = await startPair();
  const metric = async (series) => sample(await scrape(env.gw.admin), series);
  const until = (series, min) => h.waitFor(async () => (await metric(series)) >= min, 10000 * h.slow,
    () => `${series} >= ${min}`);
  try {
    const d = await im.desktop(env.gw.port, 'agent1');
    env.desks.agent1 = d;
    assert.equal(await metric('ucgw_ucwa_event_channel_reconnects_total'), 0);
    assert.equal(await metric('ucgw_ucwa_token_renewals_total'), 0);
    assert.equal(await metric('ucgw_ucwa_applications_recreated_total'), 0);
    assert.equal(await metric('ucgw_ucwa_bad_events_total'), 0);
    // A proxy will drop the next parked event channel (the same URL again after
    // a back-off), and the token expires (the next command is answered 401 and
    // the token renewed); the conversation's events move the channel on.
    assert.equal((await im.sim(env.sim.port, 'POST', '/users/agent1/faults', { fault: 'reset_pget', after_ms: 50, count: 1 })).status, 200);
    assert.equal((await im.sim(env.sim.port, 'POST', '/users/agent1/expire-tokens')).status, 200);
    const s = await im.talk(d);
    await until('ucgw_ucwa_token_renewals_total', 1);
    await until('ucgw_ucwa_event_channel_reconnects_total', 1);
    assert.ok(await metric('ucgw_ucwa_calls_total{kind="event_channel",outcome="closed"}') >= 1);
    // Malformed and unknown events amid every set: skipped, each counted.
    assert.equal((await im.sim(env.sim.port, 'POST', '/users/agent1/profile', { junk_events: true })).status, 200);
    await d.op(`/me/im-sessions/${s.id}`, { operationName: 'SendMessage', text: 'amid junk' });
    await until('ucgw_ucwa_bad_events_total', 1);
    assert.equal((await im.sim(env.sim.port, 'DELETE', '/users/agent1/profile')).status, 200);
    // Every message fails upstream.
    assert.equal((await im.sim(env.sim.port, 'POST', '/users/agent1/faults', { fault: 'failed_delivery' })).status, 200);
    await d.op(`/me/im-sessions/${s.id}`, { operationName: 'SendMessage', text: 'lost' });
    await until('ucgw_messages_total{result="failed"}', 1);
    // The server forgets the application: it is created again.
    assert.equal((await im.sim(env.sim.port, 'POST', '/users/agent1/kill-applications')).status, 200);
    await d.op(`/me/im-sessions/${s.id}`, { operationName: 'SendMessage', text: 'again' });
    await until('ucgw_ucwa_applications_recreated_total', 1);
  } finally {
    await im.teardown(env);
  }
});

test('readyz: 200 while the UCWA server answers, 503 with the reason when it does not', async () => {
  const env = await startPair();
  try {
    const ok = await h.waitFor(async () => {
      const r = await h.request({ port: env.gw.admin, path: '/readyz' });
      return r.status === 200 ? r : null;
    }, 5000 * h.slow, '/readyz 200');
    assert.deepEqual(ok.json, { status: 'ready' });
    assert.equal((await h.request({ port: env.gw.admin, path: '/healthz' })).status, 200);
    const code = (await env.sim.stop()).code;
    env.sim = null;
    assert.equal(code, 0);
    const down = await h.waitFor(async () => {
      const r = await h.request({ port: env.gw.admin, path: '/readyz' });
      return r.status === 503 ? r : null;
    }, 5000 * h.slow, '/readyz 503');
    assert.equal(down.json.status, 'not ready');
    assert.match(down.json.reason, /UCWA server unreachable: connect/);
    assert.equal((await h.request({ port: env.gw.admin, path: '/healthz' })).status, 200, 'still alive');
    const m = await scrape(env.gw.admin);
    assert.equal(sample(m, 'ucgw_ready'), 0);
  } finally {
    await im.teardown(env);
  }
});

test('journald: <N> priority prefixes only when stderr is the journal stream', () => {
  const dir = h.tmpdir();
  const run = (journal) => {
    const file = path.join(dir, `err-${journal}`);
    const fd = fs.openSync(file, 'w');
    const st = fs.fstatSync(fd);
    const env = { ...process.env, JOURNAL_STREAM: journal ? `${st.dev}:${st.ino}` : `${st.dev}:${st.ino + 1}` };
    const r = spawnSync(path.join(h.builddir, 'ucgw'), ['-t', '-o', 'upstream.discovery_url=http://127.0.0.1:9/'],
      { env, stdio: ['ignore', 'pipe', fd] });
    fs.closeSync(fd);
    assert.equal(r.status, 0);
    return fs.readFileSync(file, 'utf8');
  };
  assert.match(run(true), /^<6>\S+ INFO +ucgw: checked /m);
  assert.doesNotMatch(run(false), /^</m);
});

test('admin.listen: refused when not a listener URL, empty by default', async () => {
  const r = await h.run('ucgw', ['-t', '-o', 'admin.listen=["127.0.0.1:9100"]']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /admin\.listen: "127\.0\.0\.1:9100": expected http:\/\/HOST:PORT/);
  const keys = execFileSync(path.join(h.builddir, 'ucgw'), ['--print-keys'], { encoding: 'utf8' });
  assert.match(keys, /^admin\.listen$/m);
});
