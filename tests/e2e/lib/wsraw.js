// wsraw.js: a WebSocket client written on a bare TCP socket, for the tests
// that must send what no proper client sends (unmasked frames, reserved
// bits, bad UTF-8, oversized frames, a close inside a fragmented message)
// or must not answer pings. It parses what the server sends: frames (with
// the close code) in order.
'use strict';

const crypto = require('node:crypto');
const net = require('node:net');
const h = require('./harness');

// One frame: opcode, payload (Buffer or string), fin, rsv bits, masked or not.
function frame(opcode, payload = Buffer.alloc(0), { fin = true, rsv = 0, mask = true, len } = {}) {
  const data = Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
  const n = len === undefined ? data.length : len;
  const head = [(fin ? 0x80 : 0) | (rsv << 4) | opcode];
  const m = mask ? 0x80 : 0;
  if (n < 126) head.push(m | n);
  else if (n < 65536) head.push(m | 126, n >> 8, n & 255);
  else {
    head.push(m | 127, 0, 0, 0, 0);
    head.push((n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255);
  }
  if (!mask) return Buffer.concat([Buffer.from(head), data]);
  const key = crypto.randomBytes(4);
  const body = Buffer.from(data.map((b, i) => b ^ key[i % 4]));
  return Buffer.concat([Buffer.from(head), key, body]);
}

// Parse the server's frames out of buf; returns [frames, rest].
function parseFrames(buf) {
  const out = [];
  for (;;) {
    if (buf.length < 2) break;
    let n = buf[1] & 127;
    let off = 2;
    if (n === 126) { if (buf.length < 4) break; n = buf.readUInt16BE(2); off = 4; }
    else if (n === 127) { if (buf.length < 10) break; n = Number(buf.readBigUInt64BE(2)); off = 10; }
    if (buf[1] & 0x80) throw new Error('the server masked a frame');
    if (buf.length < off + n) break;
    const payload = buf.subarray(off, off + n);
    const f = { fin: !!(buf[0] & 0x80), rsv: (buf[0] >> 4) & 7, opcode: buf[0] & 15, payload };
    if (f.opcode === 8) f.code = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
    if (f.opcode === 1) f.text = payload.toString('utf8');
    out.push(f);
    buf = buf.subarray(off + n);
  }
  return [out, buf];
}

// Open a WebSocket to the Bayeux endpoint. Resolves { status, headers, ...client }:
// status 101 when upgraded (then frames arrive in client.frames), else the refusal.
function connect(port, { headers = {}, path = '/api/v2/notifications', key } = {}) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    const k = key || crypto.randomBytes(16).toString('base64');
    const lines = [`GET ${path} HTTP/1.1`, `Host: 127.0.0.1:${port}`, 'Upgrade: websocket',
      'Connection: Upgrade', `Sec-WebSocket-Key: ${k}`, 'Sec-WebSocket-Version: 13'];
    for (const [n, v] of Object.entries(headers)) {
      const i = lines.findIndex((l) => l.toLowerCase().startsWith(n.toLowerCase() + ':'));
      if (i >= 0) lines.splice(i, 1);
      if (v !== null && v !== undefined) lines.push(`${n}: ${v}`);
    }
    sock.write(lines.join('\r\n') + '\r\n\r\n');
    let buf = Buffer.alloc(0);
    let head = null;
    const c = {
      sock, frames: [], closed: false, key: k,
      send: (b) => sock.write(b),
      text: (s) => sock.write(frame(1, s)),
      json: (v) => sock.write(frame(1, JSON.stringify(v))),
      // The first frame matching pred (waits for it).
      async waitFrame(pred, ms = 5000 * h.slow, what = 'a frame') {
        await h.waitFor(() => c.frames.some(pred), ms, what);
        return c.frames.find(pred);
      },
      // The Bayeux messages received so far, in order.
      messages: () => c.frames.filter((f) => f.opcode === 1).flatMap((f) => JSON.parse(f.text)),
      waitClosed: (ms = 5000 * h.slow) => h.waitFor(() => c.closed, ms, 'the server to close'),
      destroy: () => sock.destroy(),
    };
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (!head) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const text = buf.subarray(0, end).toString('latin1').split('\r\n');
        const status = Number(text[0].split(' ')[1]);
        const hdrs = {};
        for (const l of text.slice(1)) {
          const i = l.indexOf(':');
          hdrs[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
        }
        head = { status, headers: hdrs };
        buf = buf.subarray(end + 4);
        if (status !== 101) {
          const len = Number(hdrs['content-length'] || 0);
          const finish = () => { head.body = buf.subarray(0, len).toString(); sock.destroy(); resolve({ ...c, ...head }); };
          if (buf.length >= len) finish();
          else sock.on('data', () => { if (buf.length >= len) finish(); });
          return;
        }
        Object.assign(c, head);
        resolve(c);
      }
      if (head.status !== 101) return;
      const [fs, rest] = parseFrames(buf);
      buf = rest;
      c.frames.push(...fs);
    });
    sock.on('close', () => { c.closed = true; });
    sock.on('error', (e) => { if (!head) reject(e); });
  });
}

module.exports = { frame, parseFrames, connect };
