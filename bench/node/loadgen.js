// Load generator for socketio_gevent's benchmarks (Node + ws, so that the
// client side is never the bottleneck a gevent client would be).
//
// It speaks each server's protocol natively at the WebSocket level, so the
// client overhead is the same for every server:
//   raw  plain WebSocket echo (send text, await the same text)
//   sio  our protocol: "3:" handshake, T:L:D frames, heartbeat echo
//   eio  socket.io v4 / Engine.IO v4: open packet, "40" connect, "42[...]" events, ping/pong
//
// Usage: node loadgen.js echo --proto sio --url ws://127.0.0.1:8000/socket.io/websocket
//            --clients 100 --duration 10 --size 16
// Prints one JSON line with the figures.
'use strict';
const WebSocket = require('ws');

function parseArgs(argv) {
  const args = { mode: argv[2], proto: 'raw', clients: 100, duration: 10, size: 16,
                 url: 'ws://127.0.0.1:8000/', connectRate: 500 };
  for (let i = 3; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '').replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    const value = argv[i + 1];
    args[key] = isNaN(Number(value)) ? value : Number(value);
  }
  return args;
}

// -- protocol adapters --------------------------------------------------------
// Each adapter: encode(text) -> wire string; onMessage(ws, data, deliver(text), ready())

function utf16len(s) { return s.length; }

const adapters = {
  raw: {
    encode: (text) => text,
    onMessage(client, data, deliver, ready) { deliver(data.toString()); },
    start(client, ready) { ready(); },
  },
  sio: {
    encode: (text) => '1:' + (utf16len(text) + 1) + '::' + text + ',',
    start(client, ready) {},
    onMessage(client, data, deliver, ready) {
      const s = data.toString();
      let i = 0;
      while (i < s.length) {
        const type = s[i];
        const c2 = s.indexOf(':', i + 2);
        const len = parseInt(s.slice(i + 2, c2), 10);
        const body = s.substr(c2 + 1, len);
        i = c2 + 1 + len + 1;
        if (type === '3') ready();
        else if (type === '2') client.ws.send('2:' + body.length + ':' + body + ',');
        else if (type === '1') deliver(body.slice(body.indexOf(':') + 1));
      }
    },
  },
  eio: {
    encode: (text) => '42' + JSON.stringify(['echo', text]),
    start(client, ready) {},
    onMessage(client, data, deliver, ready) {
      const s = data.toString();
      if (s[0] === '0') client.ws.send('40');
      else if (s === '2') client.ws.send('3');
      else if (s.startsWith('40')) ready();
      else if (s.startsWith('42')) deliver(JSON.parse(s.slice(2))[1]);
    },
  },
};

function percentile(sorted, p) {
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

function openClients(args, adapter, onReady) {
  return new Promise((resolve) => {
    const clients = [];
    let opened = 0, failed = 0;
    const t0 = process.hrtime.bigint();
    function done() {
      if (opened + failed === args.clients) {
        resolve({ clients, opened, failed, openSeconds: Number(process.hrtime.bigint() - t0) / 1e9 });
      }
    }
    let started = 0;
    function startOne() {
      const client = { ws: new WebSocket(args.url, { perMessageDeflate: false }), ready: false };
      clients.push(client);
      client.ws.on('message', (data) => adapter.onMessage(client, data, (text) => onReady.deliver(client, text), () => {
        if (!client.ready) { client.ready = true; opened++; onReady.ready(client); done(); }
      }));
      client.ws.on('open', () => adapter.start(client, () => {
        if (!client.ready) { client.ready = true; opened++; onReady.ready(client); done(); }
      }));
      client.ws.on('error', () => { if (!client.ready) { client.ready = true; failed++; done(); } });
      client.ws.on('close', () => { client.closed = true; });
    }
    // open in batches so the server's accept queue is not flooded
    const timer = setInterval(() => {
      for (let k = 0; k < args.connectRate / 10 && started < args.clients; k++, started++) startOne();
      if (started >= args.clients) clearInterval(timer);
    }, 10);
  });
}

async function echo(args) {
  const adapter = adapters[args.proto];
  const payload = 'x'.repeat(args.size);
  const wire = adapter.encode(payload);
  const latencies = [];
  let running = false, roundtrips = 0;
  const handlers = {
    ready() {},
    deliver(client, text) {
      if (!running) return;
      const now = process.hrtime.bigint();
      if (text.length !== payload.length) { client.bad = (client.bad || 0) + 1; }
      roundtrips++;
      latencies.push(Number(now - client.sentAt) / 1e6);
      client.sentAt = process.hrtime.bigint();
      client.ws.send(wire);
    },
  };
  const { clients, opened, failed, openSeconds } = await openClients(args, adapter, handlers);
  running = true;
  const t0 = process.hrtime.bigint();
  for (const c of clients) if (c.ready && !c.closed) { c.sentAt = process.hrtime.bigint(); c.ws.send(wire); }
  await new Promise((r) => setTimeout(r, args.duration * 1000));
  running = false;
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  latencies.sort((a, b) => a - b);
  const bad = clients.reduce((n, c) => n + (c.bad || 0), 0);
  for (const c of clients) c.ws.terminate();
  return {
    mode: 'echo', proto: args.proto, clients: args.clients, opened, failed, size: args.size,
    seconds, roundtrips, rate: roundtrips / seconds,
    mib_s: (roundtrips * args.size) / seconds / 1048576,
    p50_ms: percentile(latencies, 0.5), p99_ms: percentile(latencies, 0.99), bad, open_seconds: openSeconds,
  };
}

async function main() {
  const args = parseArgs(process.argv);
  let result;
  if (args.mode === 'echo') result = await echo(args);
  else throw new Error('unknown mode ' + args.mode);
  process.stdout.write(JSON.stringify(result) + '\n');
  process.exit(0);
}

main().catch((e) => { console.error(e); process.exit(1); });
