// im_html.test.js: the text policy of the translation rules on live incoming
// messages. ucgw negotiates Html with UCWA, so a remote party's HTML arrives
// as text/html; the UCWA client passes it on as sent and only the rules
// (text.html_to_plain, text.trim_newlines) decide what the desktop sees.
// ucwa-sim plays Skype for Business; desktops are GWS clients (lib/im.js).
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const h = require('./lib/harness');
const im = require('./lib/im');

const BOB = im.REMOTES.bob;
const CAROL = im.REMOTES.carol;
const HTML = '<span style="font-size:10pt;font-family:Segoe UI;">Fish &amp; chips<br>2 &lt; 3</span>\r\n';
const PLAIN = 'Fish & chips\n2 < 3';

// Start the pair with agent1 logged in, and translation rules `rules` (JSON text) if given.
async function setup(rules) {
  const dir = rules === undefined ? null : h.tmpdir();
  const gwArgs = [];
  if (dir) {
    fs.writeFileSync(path.join(dir, 'translate.json'), rules);
    gwArgs.push('-o', `translate.file=${path.join(dir, 'translate.json')}`);
  }
  const env = await im.setup(['agent1'], { gwArgs });
  env.dir = dir;
  return env;
}

async function teardown(env) {
  try {
    assert.deepEqual(await im.teardown(env), { gw: 0, sim: 0 });
  } finally {
    if (env.dir) fs.rmSync(env.dir, { recursive: true, force: true });
  }
}

// The remote sends text (as HTML when html, with the server's plain rendition
// when plain is given) in its conversation with agent1.
async function say(env, remote, text, html, plain) {
  const r = await im.sim(env.sim.port, 'POST', `/remotes/${remote.id}/message`, { to: 'agent1', text, html, plain });
  assert.equal(r.status, 200, r.body);
}

// The texts of the NewMessage notifications after `from`.
function messages(d, from = 0) {
  return d.im().slice(from).filter((n) => n.notificationType === 'NewMessage').map((n) => n.message);
}

// The gateway's application negotiated Html (else ucwa-sim would send HTML as plain text).
async function assertHtmlNegotiated(env) {
  const st = await im.sim(env.sim.port, 'GET', '/state');
  assert.equal(st.status, 200);
  assert.ok(st.json.applications.length > 0);
  for (const a of st.json.applications) assert.equal(a.html, true, `application of ${a.user} negotiated Html`);
}

test('default rules: an HTML message reaches the desktop as plain text; plain text is never reduced', async () => {
  const env = await setup();
  const d = env.desks.agent1;
  try {
    await im.talk(d, BOB);
    await assertHtmlNegotiated(env);
    const from = d.im().length;
    await say(env, BOB, HTML, true);
    await d.next((n) => n.message === PLAIN, from);
    await say(env, BOB, '<b>not html</b> &amp; 1 < 2\r\n', false);
    await d.next((n) => n.message === '<b>not html</b> &amp; 1 < 2', from);
    await say(env, BOB, 'last', false);
    await d.next((n) => n.message === 'last', from);
    assert.deepEqual(messages(d, from), [PLAIN, '<b>not html</b> &amp; 1 < 2', 'last']);
  } finally {
    await teardown(env);
  }
});

test('default rules: an incoming conversation whose first message is HTML shows it once, as plain text', async () => {
  const env = await setup();
  const d = env.desks.agent1;
  try {
    const r = await im.sim(env.sim.port, 'POST', `/remotes/${CAROL.id}/invite`, { to: 'agent1', text: HTML, html: true });
    assert.equal(r.status, 200, r.body);
    await d.state('Talking');
    await d.next((n) => n.message === PLAIN);
    await say(env, CAROL, 'second', false);
    await d.next((n) => n.message === 'second');
    assert.deepEqual(messages(d), [PLAIN, 'second'], 'the first message once (preview and message event are one)');
  } finally {
    await teardown(env);
  }
});

test('text.html_to_plain false: the desktop gets the HTML as written, trailing CR/LF trimmed', async () => {
  const env = await setup('{ "text": { "html_to_plain": false } }\n');
  const d = env.desks.agent1;
  const kept = HTML.replace(/\r\n$/, '');
  try {
    const r = await im.sim(env.sim.port, 'POST', `/remotes/${CAROL.id}/invite`, { to: 'agent1', text: '<i>first</i>\r\n', html: true });
    assert.equal(r.status, 200, r.body);
    await d.state('Talking');
    await d.next((n) => n.message === '<i>first</i>');
    await assertHtmlNegotiated(env);
    await say(env, CAROL, HTML, true);
    await d.next((n) => n.message === kept);
    await say(env, CAROL, 'plain', false);
    await d.next((n) => n.message === 'plain');
    assert.deepEqual(messages(d), ['<i>first</i>', kept, 'plain']);
  } finally {
    await teardown(env);
  }
});

test('text.trim_newlines false: trailing CR/LF reach the desktop, in plain text and in reduced HTML', async () => {
  const env = await setup('{ "text": { "trim_newlines": false } }\n');
  const d = env.desks.agent1;
  try {
    await im.talk(d, BOB);
    const from = d.im().length;
    await say(env, BOB, 'line\r\n', false);
    await d.next((n) => n.message === 'line\r\n', from);
    await say(env, BOB, HTML, true);
    await d.next((n) => n.message === `${PLAIN}\r\n`, from);
    assert.deepEqual(messages(d, from), ['line\r\n', `${PLAIN}\r\n`]);
  } finally {
    await teardown(env);
  }
});

test('HTML with the server\'s plain rendition: plain text wanted gives the server\'s text, else the HTML', async () => {
  const SERVER = 'Fish & chips, as the server wrote it\r\n';
  for (const [rules, want] of [[undefined, SERVER.trim()], ['{ "text": { "html_to_plain": false } }\n', HTML.trim()]]) {
    const env = await setup(rules);
    const d = env.desks.agent1;
    try {
      await im.talk(d, BOB);
      await assertHtmlNegotiated(env);
      const from = d.im().length;
      await say(env, BOB, HTML, true, SERVER);
      await say(env, BOB, 'next', false);
      await d.next((n) => n.message === 'next', from);
      assert.deepEqual(messages(d, from), [want, 'next'], `rules ${rules || 'built-in'}`);
    } finally {
      await teardown(env);
    }
  }
});
