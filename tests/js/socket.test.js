// The Socket's state machine (docs/protocol.rst §8) over fake transports: no DOM,
// no network. A fake reports to its socket exactly as the real transports
// do (_frames, _alive, _ended, _lost), so this drives the same code paths:
// queueing before connect, heartbeat echoes, realms, resume, renewal,
// fallback and the two ways of leaving.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const io = require('./load.js');
const { defineTransport, decodePayload, encodeMessage, packItems } = io._internal;

const opened = [];

// A WebSocket-like transport: writes at once, ready when "opened".
defineTransport('fake', {
  sync: true,
  open() { this.sent = []; opened.push(this); },
  write(items) {
    if (this.dead) return false;
    this.sent.push(...packItems(items, true));
    return true;
  },
  close() { this.closed = true; },
});

// An HTTP-like transport: one POST at a time, answered when the test says.
defineTransport('fakehttp', {
  open() { this.posts = []; opened.push(this); },
  // Like the real ones, it can post before (or without) opening: disconnect()
  // between two resume attempts posts through a transport never opened.
  write(items, done) { (this.posts || (this.posts = [])).push({ payload: packItems(items, false)[0], done }); },
  close() { this.closed = true; },
});

// A transport that never opens: errors at once.
defineTransport('broken', {
  open() { const self = this; opened.push(this); setTimeout(() => self.socket._lost(self, false), 0); },
  close() { this.closed = true; },
});

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function latest() {
  return opened[opened.length - 1];
}

function receive(t, payload) {
  t.socket._frames(t, decodePayload(payload));
}

// Every socket is closed after its test: a socket left open retries for
// ever, and its timers would keep the test process alive.
const sockets = [];
test.afterEach(() => {
  while (sockets.length) sockets.pop().disconnect();
});

function make(options) {
  const socket = new io.Socket('example.test', Object.assign({ port: 8080 }, options));
  sockets.push(socket);
  const events = [];
  for (const name of ['connect', 'disconnect', 'reconnect']) socket.on(name, () => events.push(name));
  socket.on('message', (message, annotations) => events.push(['message', message, annotations]));
  return { socket, events };
}

// Opens a socket on `fake` and hands it its sid.
function connected(sid, options) {
  const made = make(Object.assign({ transports: ['fake'] }, options));
  made.socket.connect();
  const t = latest();
  t.ready = true;
  receive(t, '3:' + sid.length + ':' + sid + ',');
  made.t = t;
  return made;
}

test('before connect: nothing open, defaults from the options', () => {
  const { socket } = make();
  assert.equal(socket.transport, null);
  assert.equal(socket.sessionid, null);
  assert.equal(socket.connected, false);
  assert.deepEqual(socket.options.transports, io._internal.DEFAULT_TRANSPORTS);
  assert.equal(socket.options.connectTimeout, 5000);
  assert.equal(socket.options.resumeTimeout, 8000);
  assert.equal(socket._base(true), 'ws://example.test:8080/socket.io/');
  const secure = new io.Socket('h', { secure: true, port: 443, resource: 'rt' });
  assert.equal(secure._base(false), 'https://h:443/rt/');
});

test('sends made before connect are flushed in order once the 3: frame comes', () => {
  const { socket, events } = make({ transports: ['fake'] });
  socket.send('a');
  socket.send({ b: 1 });
  socket.connect();
  const t = latest();
  assert.equal(t.sid, '');
  t.ready = true;
  receive(t, '3:3:abc,');
  assert.deepEqual(events, ['connect']);
  assert.equal(socket.sessionid, 'abc');
  assert.equal(socket.transport, 'fake');
  assert.equal(socket.connected, true);
  assert.deepEqual(t.sent, ['1:2::a,1:10:j\n:{"b":1},']);
  const bytes = new Uint8Array([1, 2]);
  socket.send(bytes);
  assert.ok(t.sent[1] instanceof ArrayBuffer);   // binary frame on a WebSocket-like transport
  socket.send(bytes, { k: 'v' });
  assert.equal(t.sent[2], '1:11:k:v\nb\n:AQI=,');
});

test('heartbeats are echoed unchanged, at once', () => {
  const { t } = connected('s1');
  receive(t, '2:1:1,2:2:17,');
  assert.deepEqual(t.sent, ['2:1:1,', '2:2:17,']);
});

test('messages reach plain handlers; realm handlers see only their realm', () => {
  const { socket, t, events } = connected('s2');
  const chat = [];
  socket.realm('chat').on('message', (m, a) => chat.push([m, a]));
  assert.equal(socket.realm('chat'), socket.realm('chat'));
  receive(t, encodeMessage('hi', { r: 'chat' }) + encodeMessage({ x: 1 }) + '1:18:r:chat:Hello world,');
  assert.deepEqual(events.slice(1), [
    ['message', 'hi', { r: 'chat' }],
    ['message', { x: 1 }, {}],
    ['message', 'Hello world', { r: 'chat' }],
  ]);
  assert.deepEqual(chat, [['hi', { r: 'chat' }], ['Hello world', { r: 'chat' }]]);
  socket.realm('chat').send('yo', { r: 'ignored', k: 'v' });
  assert.deepEqual(t.sent, ['1:14:r:chat\nk:v\n:yo,']);
});

test('a throwing handler does not stop the others; its error is rethrown later', () => {
  const { socket, t, events } = connected('s3');
  const seen = [];
  const deferred = [];
  socket.on('message', () => { throw new Error('boom'); });
  socket.on('message', (m) => seen.push(m));
  const realSetTimeout = global.setTimeout;
  global.setTimeout = (fn) => deferred.push(fn);   // catch the rethrow instead of crashing
  try {
    receive(t, encodeMessage('one') + encodeMessage('two'));
  } finally {
    global.setTimeout = realSetTimeout;
  }
  assert.deepEqual(seen, ['one', 'two']);
  assert.equal(events.length, 3);
  assert.equal(deferred.length, 2);
  for (const fn of deferred) assert.throws(fn, /boom/);
});

test('a lost connection resumes the same session; sends wait and go in order', async () => {
  const { socket, t, events } = connected('keep');
  t.dead = true;
  socket._lost(t, false);
  assert.equal(t.closed, true);
  assert.equal(socket.connected, true);   // the session lives on in its grace time
  socket.send('while away');
  await sleep(300);                       // first backoff: 250 ms
  const t2 = latest();
  assert.notEqual(t2, t);
  assert.equal(t2.sid, 'keep');
  assert.deepEqual(t2.sent, []);
  t2.ready = true;
  socket._alive(t2);
  assert.deepEqual(t2.sent, ['1:11::while away,']);
  receive(t2, encodeMessage('queued meanwhile'));
  assert.deepEqual(events, ['connect', ['message', 'queued meanwhile', {}]]);
  assert.equal(socket.sessionid, 'keep');
});

test('a session the server says is gone is renewed, then reconnect is emitted', async () => {
  const { socket, t, events } = connected('old');
  socket._lost(t, true);
  const t2 = latest();
  assert.equal(t2.sid, '');                // a fresh handshake
  assert.equal(socket.connected, false);
  t2.ready = true;
  receive(t2, '3:3:new,');
  assert.deepEqual(events, ['connect', 'connect', 'reconnect']);
  assert.equal(socket.sessionid, 'new');
});

test('resuming longer than resumeTimeout opens a new session', async () => {
  const { socket, t, events } = connected('slow', { resumeTimeout: 100 });
  socket._lost(t, false);
  await sleep(150);
  const t2 = latest();
  assert.equal(t2.sid, '');
  t2.ready = true;
  receive(t2, '3:2:s2,');
  assert.deepEqual(events, ['connect', 'connect', 'reconnect']);
});

test('a stream the server ends normally is reopened at once, same sid', () => {
  const { socket, t } = connected('str');
  socket._ended(t);
  const t2 = latest();
  assert.notEqual(t2, t);
  assert.equal(t2.sid, 'str');
  assert.equal(socket._state, 'open');
});

test('the server\'s 0:0: ends the socket without resuming', async () => {
  const { socket, t, events } = connected('bye');
  const count = opened.length;
  receive(t, '0:0:,');
  assert.deepEqual(events, ['connect', 'disconnect']);
  assert.equal(socket.connected, false);
  assert.equal(t.closed, true);
  await sleep(300);
  assert.equal(opened.length, count);
});

test('disconnect() sends what is queued, then 0:0:, and emits disconnect', () => {
  const { socket, t, events } = connected('leave');
  t.dead = false;
  socket.disconnect();
  assert.deepEqual(t.sent, ['0:0:,']);
  assert.equal(t.closed, true);
  assert.deepEqual(events, ['connect', 'disconnect']);
  socket.disconnect();   // twice is harmless
  assert.deepEqual(events, ['connect', 'disconnect']);
});

test('HTTP sends: one POST at a time, the rest coalesced; a failed one is resent', () => {
  const { socket } = make({ transports: ['fakehttp'] });
  socket.connect();
  const t = latest();
  receive(t, '3:1:h,');
  assert.equal(t.ready, true);
  socket.send('1');
  socket.send('2');
  socket.send('3');
  assert.deepEqual(t.posts.map((p) => p.payload), ['1:2::1,']);
  t.posts[0].done(true, false);
  assert.deepEqual(t.posts.map((p) => p.payload), ['1:2::1,', '1:2::2,1:2::3,']);
  receive(t, '2:1:5,');   // the echo waits for the POST in flight
  assert.equal(t.posts.length, 2);
  const failed = t.posts[1];
  failed.done(false, false);   // a network error: the transport is reopened, nothing lost
  assert.equal(t.closed, true);
  assert.equal(socket._outbox.join(''), '1:2::2,1:2::3,2:1:5,');
});

test('disconnect() on HTTP waits for the POST in flight, then sends the rest and 0:0:', () => {
  const { socket } = make({ transports: ['fakehttp'] });
  socket.connect();
  const t = latest();
  receive(t, '3:1:h,');
  socket.send('a');
  socket.send('b');
  socket.disconnect();
  socket.send('after');          // kept for a later connect(), not sent now
  assert.equal(t.posts.length, 1);
  t.posts[0].done(true, false);
  assert.deepEqual(t.posts.map((p) => p.payload), ['1:2::a,', '1:2::b,0:0:,']);
});

test('a transport that fails to open gives way to the next', async () => {
  const { socket, events } = make({ transports: ['broken', 'fake'] });
  socket.connect();
  await sleep(10);
  const t = latest();
  assert.equal(t.name, 'fake');
  t.ready = true;
  receive(t, '3:1:f,');
  assert.deepEqual(events, ['connect']);
  assert.equal(socket.transport, 'fake');
});

test('a transport silent past connectTimeout gives way to the next', async () => {
  const { socket } = make({ transports: ['fake', 'fakehttp'], connectTimeout: 30 });
  socket.connect();
  const first = latest();
  await sleep(60);
  assert.equal(first.closed, true);
  assert.equal(latest().name, 'fakehttp');
  socket.disconnect();
});

test('a new session after a loss starts from the transport that worked', async () => {
  const { socket } = make({ transports: ['broken', 'fakehttp'] });
  socket.connect();
  await sleep(10);
  const t = latest();
  receive(t, '3:1:w,');
  socket._lost(t, true);
  assert.equal(latest().name, 'fakehttp');
  socket.disconnect();
});
