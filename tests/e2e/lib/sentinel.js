// sentinel.js: Redis Sentinel for the cluster tests: a replica of a test
// Redis (redis-server --replicaof), real sentinels (redis-server CONF
// --sentinel, each on a free loopback port in its own temporary directory,
// stopped even when the test fails), and a fake sentinel (a few lines of
// RESP) that names whatever master the test says and announces
// +switch-master when told to, to test what real sentinels cannot be made
// to do on cue (name a replica, move the master while it is alive).
'use strict';

const { spawn, execFile } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const h = require('./harness');
const { startRedis, freePort } = require('./redis');

const live = new Set();
process.on('exit', () => {
  for (const c of live) {
    try { c.kill('SIGKILL'); } catch (_) { /* gone */ }
  }
});

// A replica of master (a started Redis); resolves once its link is up.
async function startReplica(master) {
  const r = await startRedis({ extraArgs: ['--replicaof', '127.0.0.1', String(master.port)] });
  await h.waitFor(async () => /master_link_status:up/.test(await r.cli('INFO', 'replication')),
    10000 * h.slow, 'the replica in sync');
  return r;
}

// One real sentinel monitoring master under name.
class Sentinel {
  constructor({ dir, port, name, master, quorum, downAfter, password }) {
    Object.assign(this, { dir, port, name, master, quorum, downAfter, password });
  }

  get addr() { return `127.0.0.1:${this.port}`; }

  async start() {
    const conf = path.join(this.dir, 'sentinel.conf');
    fs.writeFileSync(conf, [
      `port ${this.port}`, 'bind 127.0.0.1', 'protected-mode no', `dir ${this.dir}`,
      `sentinel monitor ${this.name} 127.0.0.1 ${this.master.port} ${this.quorum}`,
      `sentinel down-after-milliseconds ${this.name} ${this.downAfter}`,
      `sentinel failover-timeout ${this.name} ${4000 * h.slow}`,
      ...(this.password ? [`requirepass ${this.password}`] : []), '',
    ].join('\n'));
    const child = spawn('redis-server', [conf, '--sentinel'], { stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(child);
    this.child = child;
    this.log = '';
    let gone = false;
    this.exited = new Promise((resolve) => child.on('exit', (code, signal) => {
      gone = true;
      live.delete(child);
      resolve({ code, signal });
    }));
    child.stdout.on('data', (d) => { this.log += d; });
    child.stderr.on('data', (d) => { this.log += d; });
    await h.waitFor(() => /\+monitor master/.test(this.log) || gone, 10000 * h.slow,
      () => `sentinel did not start; log:\n${this.log}`);
    if (gone) throw new Error(`sentinel exited; log:\n${this.log}`);
    return this;
  }

  async stop() {
    if (!this.child) return;
    this.child.kill('SIGKILL');
    await this.exited;
    this.child = null;
  }

  cli(...cmd) {
    const auth = this.password ? ['--no-auth-warning', '-a', this.password] : [];
    return new Promise((resolve, reject) => {
      execFile('redis-cli', ['-h', '127.0.0.1', '-p', String(this.port), ...auth, '--raw', ...cmd],
        { timeout: 5000 }, (err, out) => (err ? reject(err) : resolve(String(out).replace(/\n$/, ''))));
    });
  }

  // SENTINEL MASTER name as an object (flat key/value lines).
  async masterInfo() {
    const l = (await this.cli('SENTINEL', 'MASTER', this.name)).split('\n');
    const o = {};
    for (let i = 0; i + 1 < l.length; i += 2) o[l[i]] = l[i + 1];
    return o;
  }
}

// n sentinels (quorum) watching master as name; resolves once each knows
// the replicas and the other sentinels (a failover can then happen).
async function startSentinels(master, { n = 3, quorum = 2, name = 'ucgw', downAfter = 400, replicas = 1, password } = {}) {
  const ss = [];
  try {
    for (let i = 0; i < n; i++) {
      const s = new Sentinel({ dir: h.tmpdir('ucgw-sentinel-'), port: await freePort(), name, master, quorum, downAfter, password });
      ss.push(await s.start());
    }
    for (const s of ss) {
      await h.waitFor(async () => {
        const m = await s.masterInfo();
        return Number(m['num-slaves']) >= replicas && Number(m['num-other-sentinels']) >= n - 1;
      }, 20000 * h.slow, async () => `sentinel ${s.addr} ready: ${JSON.stringify(await s.masterInfo())}`);
    }
  } catch (e) {
    for (const s of ss) await s.stop();
    throw e;
  }
  return ss;
}

// A fake sentinel: answers AUTH (when it has a password), SENTINEL
// get-master-addr-by-name (from .masters: name -> [host, port]; nil when
// unknown) and SUBSCRIBE; .switchMaster() announces +switch-master to
// the subscribers. .asked counts the questions, .commands logs them all.
class FakeSentinel {
  constructor({ password } = {}) {
    this.password = password;
    this.masters = {};
    this.subscribers = new Set();
    this.asked = 0;
    this.commands = [];
    this.sockets = new Set();
  }

  // Listen (again: on the port it had).
  async start() {
    this.server = net.createServer((sock) => this.serve(sock));
    await new Promise((resolve) => this.server.listen(this.port || 0, '127.0.0.1', resolve));
    this.port = this.server.address().port;
    return this;
  }

  get addr() { return `127.0.0.1:${this.port}`; }

  serve(sock) {
    this.sockets.add(sock);
    sock.on('close', () => { this.sockets.delete(sock); this.subscribers.delete(sock); });
    sock.on('error', () => {});
    let buf = Buffer.alloc(0);
    let authed = !this.password;
    const bulk = (s) => `$${Buffer.byteLength(s)}\r\n${s}\r\n`;
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        const parsed = FakeSentinel.parse(buf);
        if (!parsed) return;
        buf = buf.subarray(parsed.used);
        const [cmd, ...a] = parsed.argv;
        const c = cmd.toUpperCase();
        this.commands.push(c === 'AUTH' ? 'AUTH ***' : [c, ...a].join(' '));
        if (c === 'AUTH') {
          authed = a[0] === this.password;
          sock.write(authed ? '+OK\r\n' : '-WRONGPASS invalid username-password pair or user is disabled.\r\n');
        } else if (!authed) {
          sock.write('-NOAUTH Authentication required.\r\n');
        } else if (c === 'SENTINEL' && (a[0] || '').toLowerCase() === 'get-master-addr-by-name') {
          this.asked++;
          const m = this.masters[a[1]];
          sock.write(m ? `*2\r\n${bulk(m[0])}${bulk(String(m[1]))}` : '*-1\r\n');
        } else if (c === 'SUBSCRIBE') {
          this.subscribers.add(sock);
          sock.write(`*3\r\n${bulk('subscribe')}${bulk(a[0])}:1\r\n`);
        } else {
          sock.write(`-ERR unknown command '${cmd}'\r\n`);
        }
      }
    });
  }

  // One RESP array of bulk strings from the start of b: {argv, used}, or null.
  static parse(b) {
    const s = b.toString('latin1');
    if (s[0] !== '*') return null;
    let i = s.indexOf('\r\n');
    if (i < 0) return null;
    const n = Number(s.slice(1, i));
    let pos = i + 2;
    const argv = [];
    for (let k = 0; k < n; k++) {
      i = s.indexOf('\r\n', pos);
      if (i < 0) return null;
      const len = Number(s.slice(pos + 1, i));
      if (s.length < i + 2 + len + 2) return null;
      argv.push(b.subarray(i + 2, i + 2 + len).toString());
      pos = i + 2 + len + 2;
    }
    return { argv, used: pos };
  }

  // Announce that name moved from (oldHost, oldPort) to (host, port).
  switchMaster(name, from, to) {
    const msg = `${name} ${from[0]} ${from[1]} ${to[0]} ${to[1]}`;
    const bulk = (x) => `$${Buffer.byteLength(x)}\r\n${x}\r\n`;
    for (const s of this.subscribers) s.write(`*3\r\n${bulk('message')}${bulk('+switch-master')}${bulk(msg)}`);
  }

  async stop() {
    for (const s of this.sockets) s.destroy();
    if (this.server) await new Promise((resolve) => this.server.close(resolve));
    this.server = null;
  }
}

module.exports = { startReplica, startSentinels, Sentinel, FakeSentinel };
