// Load generator for socketio_gevent's benchmarks (Node + ws, so that the
// client side is never the bottleneck a gevent client would be).
//
// It speaks each server's protocol natively at the WebSocket / HTTP level, so
// the client overhead is the same for every server:
//   raw      plain WebSocket (send text, await the same text)
//   sio      our protocol over WebSocket: "3:" handshake, T:L:D frames, heartbeat echo
//   sio-acks the same with the acks extension (?acks=1): a 4: ack every 16 messages
//   eio      socket.io v4 / Engine.IO v4 over WebSocket: open packet, "40", "42[...]", ping/pong
//   sio-poll our protocol over xhr-polling: GET <path>//<ts> -> "3:L:<sid>,", GET polls, POST data=
//   eio-poll Engine.IO v4 polling: GET ?EIO=4&transport=polling, POST "40", payloads split by \x1e
//
// Modes:
//   echo    --clients N --duration S --size B       round-trips/s, MiB/s, p50/p99
//   fanout  --clients N --count C --interval MS     one client triggers C broadcasts MS apart
//           [--triggers K] [--warmup W]             (each carries the server's send time in ms);
//                                                   W unmeasured broadcasts first;
//                                                   K clients trigger at once: K x C broadcasts;
//                                                   deliveries/s, send-to-receipt p50/p99, % delivered
//   relay   --clients N --count C --interval MS     client-triggered fan-out: one client sends C
//           [--warmup W]                            messages MS apart, each carrying its send time
//                                                   in ms; the server's message handler broadcasts
//                                                   each to everyone (sender included)
//   idle    --clients N --hold S                    open N connections, hold them S seconds
//   poll    --clients N --count C --interval MS     fanout over long-polling (sio-poll / eio-poll)
//           [--triggers K]
// Connections open through a window of --inflight pending handshakes (never
// more than that in the server's accept queue), each retried --retries times.
// --url may list several servers, comma-separated (processes sharing a
// message bus): client i talks to the (i mod n)-th; with --cross 1 a polling
// client opens its session on one and sends every later request to the next
// (each one relayed to the session's owner).
//
// Output: JSON lines. {"phase": name, "cpu_us": ..., "t_ms": ...} markers as
// the run passes its phases (the harness reads the server's CPU and RSS at
// each), then one result line (it has "mode").
'use strict';
const net = require('net');
const { performance } = require('perf_hooks');
const WebSocket = require('ws');

// Every socket opened, so that the end of a run can reset them all: an RST
// leaves no TIME_WAIT behind on the client side, whose 60 s would otherwise
// eat the ephemeral ports of the next 19,000-connection run.
const allSockets = [];
function resetAll() {
  for (const o of allSockets) {
    const sock = o instanceof WebSocket ? o._socket : o;
    if (sock && !sock.destroyed && typeof sock.resetAndDestroy === 'function') {
      try { sock.resetAndDestroy(); } catch (e) { /* already gone */ }
    }
  }
}

const nowMs = () => performance.timeOrigin + performance.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function parseArgs(argv) {
  const args = { mode: argv[2], proto: 'raw', clients: 100, duration: 10, size: 16,
                 url: 'ws://127.0.0.1:8000/', count: 200, interval: 10, triggers: 1, warmup: 0, hold: 5,
                 inflight: 256, retries: 2, quiet: 3, localAddresses: 1, cross: 0 };
  for (let i = 3; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '').replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    const value = argv[i + 1];
    args[key] = isNaN(Number(value)) ? value : Number(value);
  }
  return args;
}

function phase(name, extra) {
  const cpu = process.cpuUsage();
  process.stdout.write(JSON.stringify(Object.assign(
    { phase: name, cpu_us: cpu.user + cpu.system, t_ms: nowMs() }, extra || {})) + '\n');
}

function percentile(sorted, p) {
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

function fanoutTrigger(count, interval) { return 'bench:fanout:' + count + ':' + interval; }
function relayText(sentMs) { return 'bench:relay:' + sentMs.toFixed(3); }

// -- our framing: type ":" length ":" data "," (length in UTF-16 units) -------

function sioEncode(text) { return '1:' + (text.length + 1) + '::' + text + ','; }

// Calls onFrame(type, body) for every complete frame of `s`; returns the rest.
function sioFrames(s, onFrame) {
  let i = 0;
  while (i < s.length) {
    const c2 = s.indexOf(':', i + 2);
    if (c2 < 0) break;
    const len = parseInt(s.slice(i + 2, c2), 10);
    if (c2 + 1 + len + 1 > s.length) break; // frame continues in the next message
    onFrame(s[i], s.substr(c2 + 1, len));
    i = c2 + 1 + len + 1;
  }
  return i < s.length ? s.slice(i) : '';
}

function sioMessageText(body) { return body.slice(body.indexOf(':') + 1); }

// -- WebSocket protocol adapters ----------------------------------------------
// encode(text) -> wire; trigger(count, interval) -> wire; start(client, ready);
// onMessage(client, data, deliver(text), ready())

const wsAdapters = {
  raw: {
    encode: (text) => text,
    trigger: fanoutTrigger,
    relay: relayText,
    start(client, ready) { ready(); },
    onMessage(client, data, deliver) { deliver(data.toString()); },
  },
  sio: {
    encode: sioEncode,
    trigger: (count, interval) => sioEncode(fanoutTrigger(count, interval)),
    relay: (sentMs) => sioEncode(relayText(sentMs)),
    start() {},
    onMessage(client, data, deliver, ready) {
      client.buf = sioFrames(client.buf + data.toString(), (type, body) => {
        if (type === '1') deliver(sioMessageText(body));
        else if (type === '2') client.ws.send('2:' + body.length + ':' + body + ',');
        else if (type === '3') ready();
      });
    },
  },
  // Our protocol with the acks extension (opened with ?acks=1): the server's
  // messages are counted and acknowledged with a 4: frame every 16, as our
  // clients do; its 4: and 5: frames need nothing back on one connection.
  'sio-acks': {
    encode: sioEncode,
    trigger: (count, interval) => sioEncode(fanoutTrigger(count, interval)),
    relay: (sentMs) => sioEncode(relayText(sentMs)),
    start(client) { client.acked = 0; client.told = 0; },
    onMessage(client, data, deliver, ready) {
      client.buf = sioFrames(client.buf + data.toString(), (type, body) => {
        if (type === '1') { client.acked++; deliver(sioMessageText(body)); }
        else if (type === '2') client.ws.send('2:' + body.length + ':' + body + ',');
        else if (type === '3') ready();
      });
      if (client.acked - client.told >= 16) {
        client.told = client.acked;
        const n = String(client.acked);
        client.ws.send('4:' + n.length + ':' + n + ',');
      }
    },
  },
  eio: {
    encode: (text) => '42' + JSON.stringify(['echo', text]),
    trigger: (count, interval) => '42' + JSON.stringify(['fanout', [count, interval]]),
    relay: (sentMs) => '42' + JSON.stringify(['relay', sentMs.toFixed(3)]),
    start() {},
    onMessage(client, data, deliver, ready) {
      const s = data.toString();
      if (s.startsWith('42')) deliver(JSON.parse(s.slice(2))[1]);
      else if (s === '2') client.ws.send('3');
      else if (s[0] === '0') client.ws.send('40');
      else if (s.startsWith('40')) ready();
    },
  },
};

// -- opening connections --------------------------------------------------------

// Opens args.clients connections, at most args.inflight pending at once;
// attempt(i, ok(client), fail(err)) starts one. Resolves when all settled.
function openAll(args, attempt) {
  return new Promise((resolve) => {
    const n = args.clients;
    const clients = [];
    const errors = {};
    let next = 0, settled = 0, opened = 0, failed = 0, retried = 0, inflight = 0;
    const t0 = nowMs();
    function finish() {
      if (settled === n) {
        resolve({ clients, opened, failed, retried, errors, openSeconds: (nowMs() - t0) / 1000 });
      }
    }
    function start(i, tries) {
      inflight++;
      let once = false;
      attempt(i, (client) => {
        if (once) return;
        once = true; inflight--; opened++; settled++;
        clients.push(client);
        pump(); finish();
      }, (err) => {
        if (once) return;
        once = true; inflight--;
        if (tries < args.retries) {
          retried++;
          setTimeout(() => start(i, tries + 1), 100 * (tries + 1));
        } else {
          failed++; settled++;
          const key = String((err && (err.code || err.message)) || err);
          errors[key] = (errors[key] || 0) + 1;
        }
        pump(); finish();
      });
    }
    function pump() { while (inflight < args.inflight && next < n) start(next++, 0); }
    if (n === 0) finish(); else pump();
  });
}

function wsAttempt(args, adapter, onDeliver) {
  return (i, ok, fail) => {
    const opts = { perMessageDeflate: false, handshakeTimeout: 30000 };
    if (args.localAddresses > 1) opts.localAddress = '127.0.0.' + (1 + (i % args.localAddresses));
    const urls = args.url.split(',');  // several servers (bench/servers/cluster.py): client i on the i-th mod n
    const ws = new WebSocket(urls[i % urls.length], opts);
    allSockets.push(ws);
    const client = { ws, i, buf: '', got: 0, ready: false, closed: false };
    const ready = () => { if (!client.ready) { client.ready = true; ok(client); } };
    ws.on('message', (data) => adapter.onMessage(client, data, (text) => onDeliver(client, text), ready));
    ws.on('open', () => adapter.start(client, ready));
    ws.on('error', (e) => { client.closed = true; fail(e); });
    ws.on('close', () => { client.closed = true; fail(new Error('closed before ready')); });
  };
}

function openSummary(o) {
  return { opened: o.opened, failed: o.failed, retried: o.retried, open_errors: o.errors,
           open_seconds: o.openSeconds };
}

// -- receipts of timestamped broadcasts -------------------------------------------

class Receipts {
  constructor() { this.latencies = []; this.firstSent = Infinity; this.lastRecv = 0; this.stray = 0; }
  record(client, text) {
    const now = nowMs();
    const sent = Number(text);
    if (!(sent > 0)) { this.stray++; return; } // not a timestamped broadcast
    client.got++;
    this.latencies.push(now - sent);
    if (sent < this.firstSent) this.firstSent = sent;
    this.lastRecv = now;
  }
  get count() { return this.latencies.length; }
  // Waits until `expected` arrived or nothing came for args.quiet seconds
  // past the end of the offered broadcasts.
  async wait(args, expected, triggeredAt) {
    const offeredEnd = triggeredAt + args.count * args.interval;
    for (;;) {
      if (this.count >= expected) return;
      const since = Math.max(offeredEnd, this.lastRecv);
      if (nowMs() - since > args.quiet * 1000) return;
      await sleep(5);
    }
  }
  summary(args, clients) {
    const sorted = Float64Array.from(this.latencies).sort();
    const perClient = args.count * args.triggers;
    const offered = perClient * args.clients;
    const span = (this.lastRecv - this.firstSent) / 1000;
    return {
      count: args.count, interval: args.interval, triggers: args.triggers, per_client: perClient,
      deliveries: this.count, expected: offered, stray: this.stray,
      pct_delivered: offered ? (100 * this.count) / offered : null,
      rate: span > 0 ? this.count / span : null, seconds: span,
      p50_ms: percentile(sorted, 0.5), p99_ms: percentile(sorted, 0.99),
      max_ms: sorted.length ? sorted[sorted.length - 1] : null,
      clients_complete: clients.filter((c) => c.got === perClient).length,
      clients_over: clients.filter((c) => c.got > perClient).length,
    };
  }
}

// -- modes ------------------------------------------------------------------------

async function echo(args) {
  const adapter = wsAdapters[args.proto];
  const payload = 'x'.repeat(args.size);
  const wire = adapter.encode(payload);
  const latencies = [];
  let running = false, roundtrips = 0, bad = 0;
  const onDeliver = (client, text) => {
    if (!running) return;
    const now = process.hrtime.bigint();
    if (text.length !== payload.length) bad++;
    roundtrips++;
    latencies.push(Number(now - client.sentAt) / 1e6);
    client.sentAt = now;
    client.ws.send(wire);
  };
  const o = await openAll(args, wsAttempt(args, adapter, onDeliver));
  phase('start');
  running = true;
  const t0 = process.hrtime.bigint();
  for (const c of o.clients) if (!c.closed) { c.sentAt = process.hrtime.bigint(); c.ws.send(wire); }
  await sleep(args.duration * 1000);
  running = false;
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  phase('end');
  const sorted = Float64Array.from(latencies).sort();
  return Object.assign({
    size: args.size, seconds, roundtrips, rate: roundtrips / seconds,
    mib_s: (roundtrips * args.size) / seconds / 1048576,
    p50_ms: percentile(sorted, 0.5), p99_ms: percentile(sorted, 0.99), bad,
  }, openSummary(o));
}

// Opens the receiving clients of a fan-out; `reset()` starts the measured
// receipts afresh after an unmeasured warm-up.
async function openReceivers(args, adapter) {
  const r = { receipts: new Receipts() };
  r.o = await openAll(args, wsAttempt(args, adapter, (client, text) => r.receipts.record(client, text)));
  r.live = r.o.clients.filter((c) => !c.closed);
  if (!r.live.length) throw new Error('no client opened: ' + JSON.stringify(r.o.errors));
  r.reset = () => {
    r.receipts = new Receipts();
    for (const c of r.o.clients) c.got = 0;
  };
  return r;
}

async function fanout(args) {
  const adapter = wsAdapters[args.proto];
  const r = await openReceivers(args, adapter);
  const { o, live } = r;
  if (args.warmup > 0) {
    // Not measured: the first broadcasts after 1,000 connections open are
    // slow on both sides (JIT, first writes), and with 200 broadcasts the
    // p99 is the tail of the worst two of them.
    live[0].ws.send(adapter.trigger(args.warmup, args.interval));
    await r.receipts.wait(Object.assign({}, args, { count: args.warmup, triggers: 1 }), args.warmup * o.opened, nowMs());
    r.reset();
  }
  phase('start');
  const triggeredAt = nowMs();
  for (const c of live.slice(0, args.triggers)) c.ws.send(adapter.trigger(args.count, args.interval));
  await r.receipts.wait(args, args.triggers * args.count * o.opened, triggeredAt);
  phase('end');
  return Object.assign(r.receipts.summary(args, o.clients), openSummary(o));
}

// Sends `count` relay messages from `sender`, `interval` ms apart on an
// absolute schedule (a late timer does not push back the ones after it).
async function sendRelays(sender, adapter, count, interval) {
  const t0 = nowMs();
  for (let k = 0; k < count; k++) {
    const due = t0 + k * interval;
    const wait = due - nowMs();
    if (wait > 0) await sleep(wait);
    if (sender.closed) throw new Error('the relay sender was closed');
    sender.ws.send(adapter.relay(nowMs()));
  }
}

async function relay(args) {
  const adapter = wsAdapters[args.proto];
  const r = await openReceivers(args, adapter);
  const { o, live } = r;
  const one = Object.assign({}, args, { triggers: 1 });
  if (args.warmup > 0) {
    const startedAt = nowMs();
    await sendRelays(live[0], adapter, args.warmup, args.interval);
    await r.receipts.wait(Object.assign({}, one, { count: 0 }), args.warmup * o.opened, startedAt);
    r.reset();
  }
  phase('start');
  const startedAt = nowMs();
  await sendRelays(live[0], adapter, args.count, args.interval);
  await r.receipts.wait(Object.assign({}, one, { count: 0 }), args.count * o.opened, startedAt);
  phase('end');
  return Object.assign(r.receipts.summary(one, o.clients), openSummary(o));
}

async function idle(args) {
  const adapter = wsAdapters[args.proto];
  phase('start');
  const o = await openAll(args, wsAttempt(args, adapter, () => {}));
  phase('opened', { opened: o.opened });
  await sleep(args.hold * 1000);
  const held = o.clients.filter((c) => !c.closed).length;
  phase('end', { held });
  return Object.assign({ hold: args.hold, held }, openSummary(o));
}

// -- long-polling clients ----------------------------------------------------------

// A minimal keep-alive HTTP/1.1 client over one net.Socket: one request at a
// time per connection, Content-Length or chunked bodies. Node's http module
// costs several times more CPU per request, and the load generator must not
// be what limits a long-polling run.
class HttpConn {
  constructor(base) { this.host = base.hostname; this.port = Number(base.port); this.sock = null; }
  connect() {
    const sock = net.connect({ host: this.host, port: this.port });
    sock.setNoDelay(true);
    allSockets.push(sock);
    this.sock = sock; this.buf = null; this.pending = null;
    sock.on('data', (chunk) => {
      this.buf = this.buf ? Buffer.concat([this.buf, chunk]) : chunk;
      this.parse();
    });
    const fail = (e) => {
      // a socket this connection already left (closed after "Connection: close")
      // must not fail the request now in flight on its successor
      if (this.sock !== sock) return;
      this.sock = null;
      const p = this.pending; this.pending = null;
      if (p) p.reject(e || new Error('connection closed'));
    };
    sock.on('error', fail);
    sock.on('close', () => fail(null));
  }
  request(method, path, body, contentType) {
    return new Promise((resolve, reject) => {
      if (this.pending) { reject(new Error('request already in flight')); return; }
      if (!this.sock) this.connect();
      this.pending = { resolve, reject };
      let head = method + ' ' + path + ' HTTP/1.1\r\nHost: ' + this.host + ':' + this.port + '\r\n';
      if (body !== undefined) {
        head += 'Content-Type: ' + contentType + '\r\nContent-Length: ' + Buffer.byteLength(body) + '\r\n\r\n' + body;
      } else head += '\r\n';
      this.sock.write(head);
    });
  }
  parse() {
    const buf = this.buf;
    const end = buf.indexOf('\r\n\r\n');
    if (end < 0 || !this.pending) return;
    const head = buf.toString('latin1', 0, end);
    const status = parseInt(head.slice(9, 12), 10);
    const m = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    let body, rest;
    if (m) {
      const len = Number(m[1]);
      if (buf.length < end + 4 + len) return;
      body = buf.toString('utf8', end + 4, end + 4 + len);
      rest = end + 4 + len;
    } else if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) {
      const parts = [];
      let i = end + 4;
      for (;;) {
        const eol = buf.indexOf('\r\n', i);
        if (eol < 0) return;
        const size = parseInt(buf.toString('latin1', i, eol), 16);
        if (buf.length < eol + 2 + size + 2) return;
        if (size === 0) { rest = eol + 4; break; }
        parts.push(buf.subarray(eol + 2, eol + 2 + size));
        i = eol + 2 + size + 2;
      }
      body = Buffer.concat(parts).toString('utf8');
    } else {
      body = ''; rest = end + 4; // no body (we never read to close)
    }
    this.buf = rest < buf.length ? buf.subarray(rest) : null;
    const p = this.pending; this.pending = null;
    if (/\r\nconnection:\s*close/i.test(head)) { const s = this.sock; this.sock = null; s.end(); }
    p.resolve({ status, body });
  }
}

let stamp = 0;
const ts = () => Date.now() + '' + (stamp++ % 1000);

class PollClient {
  // `home`: where the session is opened; `base`: where its polls and sends go
  // (another server with --cross 1: every request relayed to the owner)
  constructor(args, home, base, i, onDeliver) {
    this.args = args; this.home = home; this.base = base; this.path = base.pathname.replace(/\/$/, '');
    this.i = i; this.onDeliver = onDeliver;
    this.got = 0; this.ready = false; this.closed = false; this.errors = 0; this.polls = 0;
  }
  // polls and sends on separate connections, as a browser's XHRs would;
  // a send while another is in flight opens another connection
  get(path) {
    if (!this.pollConn) this.pollConn = new HttpConn(this.base);
    return this.pollConn.request('GET', path);
  }
  async post(path, body, type) {
    this.sendConns = this.sendConns || [];
    let conn = this.sendConns.find((c) => !c.pending);
    if (!conn) { conn = new HttpConn(this.base); this.sendConns.push(conn); }
    return conn.request('POST', path, body, type);
  }
  // Runs the poll loop; the first failure before ready rejects `opened`.
  start(ok, fail) {
    this.ok = ok; this.fail = fail;
    this.handshake().then(() => this.loop()).catch((e) => { this.closed = true; fail(e); });
  }
  markReady() { if (!this.ready) { this.ready = true; this.ok(this); } }
  async loop() {
    while (!this.closed && !stopping) {
      let res;
      try {
        res = await this.get(this.pollPath());
      } catch (e) {
        if (!this.ready) throw e;
        this.errors++; await sleep(50); continue;
      }
      if (res.status !== 200) {
        if (!this.ready) throw new Error('poll status ' + res.status + ': ' + res.body.slice(0, 80));
        this.errors++; this.closed = true; return;
      }
      this.polls++;
      this.handle(res.body);
    }
  }
}

class SioPollClient extends PollClient {
  async handshake() {
    const res = await new HttpConn(this.home).request('GET', this.path + '//' + ts());
    if (res.status !== 200) throw new Error('handshake status ' + res.status);
    sioFrames(res.body, (type, body) => { if (type === '3') this.sid = body; });
    if (!this.sid) throw new Error('no session id in ' + res.body.slice(0, 80));
    setImmediate(() => this.markReady()); // the first poll is on its way
  }
  pollPath() { return this.path + '/' + this.sid + '/' + ts(); }
  send(text) {
    return this.post(this.path + '/' + this.sid + '/send',
      'data=' + encodeURIComponent(sioEncode(text)), 'application/x-www-form-urlencoded');
  }
  trigger(count, interval) { return this.send(fanoutTrigger(count, interval)); }
  handle(payload) {
    sioFrames(payload, (type, body) => {
      if (type === '1') this.onDeliver(this, sioMessageText(body));
      else if (type === '2') this.post(this.path + '/' + this.sid + '/send',
        'data=' + encodeURIComponent('2:' + body.length + ':' + body + ','), 'application/x-www-form-urlencoded').catch(() => {});
      else if (type === '0') this.closed = true;
    });
  }
}

class EioPollClient extends PollClient {
  query() { return this.path + '/?EIO=4&transport=polling&t=' + ts() + (this.sid ? '&sid=' + this.sid : ''); }
  async handshake() {
    const res = await this.get(this.query());
    if (res.status !== 200 || res.body[0] !== '0') throw new Error('handshake: ' + res.status + ' ' + res.body.slice(0, 80));
    this.sid = JSON.parse(res.body.slice(1)).sid;
    await this.send('40');
  }
  pollPath() { return this.query(); }
  send(packet) { return this.post(this.query(), packet, 'text/plain;charset=UTF-8'); }
  trigger(count, interval) { return this.send('42' + JSON.stringify(['fanout', [count, interval]])); }
  handle(payload) {
    for (const p of payload.split('\x1e')) {
      if (p.startsWith('42')) this.onDeliver(this, JSON.parse(p.slice(2))[1]);
      else if (p === '2') this.send('3').catch(() => {});
      else if (p.startsWith('40')) this.markReady();
      else if (p[0] === '1' || p.startsWith('41')) this.closed = true;
    }
  }
}

let stopping = false;

async function poll(args) {
  const urls = args.url.split(',').map((u) => new URL(u));
  const Client = { 'sio-poll': SioPollClient, 'eio-poll': EioPollClient }[args.proto];
  const receipts = new Receipts();
  const o = await openAll(args, (i, ok, fail) =>
    new Client(args, urls[i % urls.length], urls[(i + (args.cross ? 1 : 0)) % urls.length], i,
      (client, text) => receipts.record(client, text)).start(ok, fail));
  const live = o.clients.filter((c) => !c.closed);
  if (!live.length) throw new Error('no client opened: ' + JSON.stringify(o.errors));
  phase('start');
  const triggeredAt = nowMs();
  const answers = await Promise.all(live.slice(0, args.triggers).map((c) => c.trigger(args.count, args.interval)));
  for (const res of answers) {
    if (res.status !== 200) throw new Error('trigger answered ' + res.status + ': ' + res.body);
  }
  await receipts.wait(args, args.triggers * args.count * o.opened, triggeredAt);
  phase('end');
  stopping = true;
  const polls = o.clients.reduce((n, c) => n + c.polls, 0);
  const errors = o.clients.reduce((n, c) => n + c.errors, 0);
  return Object.assign(receipts.summary(args, o.clients), { polls, poll_errors: errors }, openSummary(o));
}

async function main() {
  const args = parseArgs(process.argv);
  const modes = { echo, fanout, relay, idle, poll };
  if (!modes[args.mode]) throw new Error('unknown mode ' + args.mode);
  const result = await modes[args.mode](args);
  process.stdout.write(JSON.stringify(Object.assign(
    { mode: args.mode, proto: args.proto, clients: args.clients }, result)) + '\n');
  resetAll();
  process.exit(0);
}

main().catch((e) => { console.error(e && e.stack || e); process.exit(1); });
