// Named events and their acknowledgements (docs/protocol.rst §8) over fake
// transports, byte for byte: socket.emit(name, args..., callback) sends
// `e:<name>` [`c:<id>`] [`r:<realm>`] `j` with the JSON array of the
// arguments; the receiver answers `ca:<id>` `j` with its handler's result.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const io = require('./load.js');
const { defineTransport, decodePayload, encodeMessage, packItems } = io._internal;

const opened = [];

// A WebSocket-like transport: writes at once, ready when "opened".
defineTransport('evfake', {
  sync: true,
  open() { this.sent = []; opened.push(this); },
  write(items) {
    this.sent.push(...packItems(items, true));
    return true;
  },
  close() { this.closed = true; },
});

const latest = () => opened[opened.length - 1];
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function receive(t, payload) {
  t.socket._frames(t, decodePayload(payload));
}

// A type-1 frame from a body written with real newlines; its length is the
// body's length in UTF-16 units, as on the wire.
function frame(body) {
  return '1:' + body.length + ':' + body + ',';
}

const sockets = [];
test.afterEach(() => {
  while (sockets.length) sockets.pop().disconnect();
});

function connected(sid, options) {
  const socket = new io.Socket('example.test', Object.assign({ port: 8080, transports: ['evfake'] }, options));
  sockets.push(socket);
  const events = [];
  for (const name of ['connect', 'disconnect', 'reconnect']) socket.on(name, () => events.push(name));
  socket.on('message', (message, annotations) => events.push(['message', message, annotations]));
  socket.connect();
  const t = latest();
  t.ready = true;
  receive(t, '3:' + sid.length + ':' + sid + ',');
  return { socket, t, events };
}

// Runs fn with console[method] replaced by a recorder; returns the calls.
function capture(method, fn) {
  const calls = [];
  const real = console[method];
  console[method] = (...args) => calls.push(args);
  try { fn(); } finally { console[method] = real; }
  return calls;
}

test('emit without a callback: e, then j, the arguments as a JSON array', () => {
  const { socket, t } = connected('e1');
  socket.emit('chat', 'hi', 3);
  socket.emit('none');
  socket.emit('é😀', { a: [1, null] });
  assert.deepEqual(t.sent, [
    '1:18:e:chat\nj\n:["hi",3],',
    '1:12:e:none\nj\n:[],',
    '1:25:e:é😀\nj\n:[{"a":[1,null]}],',
  ]);
  for (const sent of t.sent) {   // the length is the data's, in UTF-16 units
    assert.deepEqual(decodePayload(sent).map((f) => f.data.length), [Number(sent.split(':')[1])]);
  }
});

test('emit with a callback adds c:<id>, ids 1, 2, 3 per socket', () => {
  const { socket, t } = connected('e2');
  const fn = () => {};
  socket.emit('add', 1, 2, fn);
  socket.emit('add', 3, fn);
  socket.emit('ping', fn);
  assert.deepEqual(t.sent, [
    '1:18:e:add\nc:1\nj\n:[1,2],',
    '1:16:e:add\nc:2\nj\n:[3],',
    '1:16:e:ping\nc:3\nj\n:[],',
  ]);
});

test('emit in a realm: e, c, then r, then j', () => {
  const { socket, t } = connected('e3');
  const realm = socket.realm('x');
  assert.equal(realm.emit('ev', 1, () => {}), realm);
  realm.emit('ev', 'a');
  assert.deepEqual(t.sent, ['1:19:e:ev\nc:1\nr:x\nj\n:[1],', '1:17:e:ev\nr:x\nj\n:["a"],']);
});

test('emits made before connect wait, and go in order with sends', () => {
  const socket = new io.Socket('example.test', { port: 8080, transports: ['evfake'] });
  sockets.push(socket);
  socket.emit('early', 1);
  socket.send('plain');
  socket.connect();
  const t = latest();
  t.ready = true;
  receive(t, '3:2:s0,');
  assert.deepEqual(t.sent, ['1:14:e:early\nj\n:[1],1:6::plain,']);
});

test('plain send and message are unchanged, byte for byte', () => {
  const { socket, t, events } = connected('e4');
  socket.send('x');
  socket.send({ e: 'not an event' });
  socket.send([1, 2], { k: 'v' });
  assert.deepEqual(t.sent, ['1:2::x,', '1:23:j\n:{"e":"not an event"},', '1:12:k:v\nj\n:[1,2],']);
  // e with no value, an empty e: messages
  receive(t, frame('e\nj\n:[1]') + frame('e:\nj\n:[1]'));
  assert.deepEqual(events.slice(1), [
    ['message', [1], { e: null }],
    ['message', [1], { e: '' }],
  ]);
});

test('as the server reads them: a body that is not a JSON array is the one argument', () => {
  const { socket, t, events } = connected('e4b');
  const got = [];
  socket.on('chat', (...args) => got.push(args));
  receive(t, frame('e:chat\n:["hi"]') + frame('e:chat\nj\n:{"a":1}'));
  assert.deepEqual(got, [['["hi"]'], [{ a: 1 }]]);
  assert.deepEqual(events, ['connect']);
});

test('callback ids are decimal: another c is not answered, another ca is a message', () => {
  const { socket, t, events } = connected('e4c');
  const called = [];
  socket.on('q', () => 1);
  receive(t, frame('e:q\nc:x\nj\n:[]') + frame('e:q\nc:\nj\n:[]') + frame('e:q\nc:007\nj\n:[]'));
  assert.deepEqual(t.sent, ['1:11:ca:7\nj\n:[1],']);
  socket.emit('a', (...args) => called.push(args));
  receive(t, frame('ca:one\nj\n:[1]') + frame('ca:0\nj\n:[2]') + frame('ca:01\n:text'));
  assert.deepEqual(events.slice(1), [['message', [1], { ca: 'one' }], ['message', [2], { ca: '0' }]]);
  assert.deepEqual(called, [['text']]);
});

test('a received event reaches its handlers with its arguments, not the message handlers', () => {
  const { socket, t, events } = connected('e5');
  const got = [];
  socket.on('chat', function (...args) { got.push([this, args]); });
  receive(t, frame('e:chat\nj\n:["hi",{"n":3}]') + frame('e:other\nj\n:[]'));
  assert.deepEqual(got, [[socket, ['hi', { n: 3 }]]]);
  assert.deepEqual(events, ['connect']);
  assert.deepEqual(t.sent, []);   // no c: no answer
});

test('the receiver answers ca:<id> with [return value], or [] for undefined', () => {
  const { socket, t } = connected('e6');
  socket.on('add', (a, b) => a + b);
  socket.on('nothing', () => undefined);
  socket.on('null', () => null);
  receive(t, frame('e:add\nc:7\nj\n:[1,2]') + frame('e:nothing\nc:8\nj\n:[]') + frame('e:unhandled\nc:9\nj\n:[]') +
    frame('e:null\nc:10\nj\n:[]'));
  assert.deepEqual(t.sent, ['1:11:ca:7\nj\n:[3],', '1:10:ca:8\nj\n:[],', '1:10:ca:9\nj\n:[],', '1:15:ca:10\nj\n:[null],']);
});

test('the first handler that returns a value answers; the others still run', () => {
  const { socket, t } = connected('e7');
  const ran = [];
  socket.on('q', () => { ran.push(1); });
  socket.on('q', () => { ran.push(2); return 'second'; });
  socket.on('q', () => { ran.push(3); return 'third'; });
  receive(t, frame('e:q\nc:1\nj\n:[]'));
  assert.deepEqual(ran, [1, 2, 3]);
  assert.deepEqual(t.sent, ['1:18:ca:1\nj\n:["second"],']);
});

test('a handler that throws is logged with console.error and the caller still gets []', () => {
  const { socket, t } = connected('e8');
  const after = [];
  socket.on('boom', () => { throw new Error('handler failed'); });
  socket.on('boom', () => { after.push('ran'); });
  const errors = capture('error', () => receive(t, frame('e:boom\nc:4\nj\n:[]') + encodeMessage('next')));
  assert.equal(errors.length, 1);
  assert.match(String(errors[0][errors[0].length - 1]), /handler failed/);
  assert.deepEqual(after, ['ran']);
  assert.deepEqual(t.sent, ['1:10:ca:4\nj\n:[],']);
});

test('an answer that cannot be JSON is logged and sent as []', () => {
  const { socket, t } = connected('e9');
  const cycle = {};
  cycle.self = cycle;
  socket.on('cyc', () => cycle);
  const errors = capture('error', () => receive(t, frame('e:cyc\nc:2\nj\n:[]')));
  assert.equal(errors.length, 1);
  assert.deepEqual(t.sent, ['1:10:ca:2\nj\n:[],']);
});

test('a handler that returns a promise answers once it settles', async () => {
  const { socket, t } = connected('e10');
  socket.on('later', (x) => Promise.resolve(x * 2));
  socket.on('fails', () => Promise.reject(new Error('no')));
  let errors;
  const realError = console.error;
  console.error = (...args) => { errors = args; };
  try {
    receive(t, frame('e:later\nc:1\nj\n:[21]') + frame('e:fails\nc:2\nj\n:[]'));
    assert.deepEqual(t.sent, []);
    await sleep(0);
  } finally {
    console.error = realError;
  }
  assert.deepEqual(t.sent, ['1:12:ca:1\nj\n:[42],', '1:10:ca:2\nj\n:[],']);
  assert.ok(errors);
});

test('an answer calls the callback once with its elements; an unknown id is ignored', () => {
  const { socket, t, events } = connected('e11');
  const calls = [];
  socket.emit('add', 1, 2, function (...args) { calls.push([this, args]); });
  socket.emit('other', () => calls.push('other'));
  receive(t, frame('ca:1\nj\n:[3,"x",{"k":null}]'));
  assert.deepEqual(calls, [[null, [3, 'x', { k: null }]]]);   // fn.apply(null, array)
  receive(t, frame('ca:1\nj\n:[4]') + frame('ca:99\nj\n:[1]') + frame('ca:2\nj\n:[]'));
  assert.equal(calls.length, 2);
  assert.equal(calls[1], 'other');
  assert.deepEqual(events, ['connect']);   // answers are not messages
  assert.deepEqual(socket._callbacks, {});
});

test('a callback that throws does not stop the frames after it; its error is rethrown later', () => {
  const { socket, t, events } = connected('e12');
  socket.emit('x', () => { throw new Error('callback failed'); });
  const deferred = [];
  const realSetTimeout = global.setTimeout;
  global.setTimeout = (fn) => deferred.push(fn);
  try {
    receive(t, frame('ca:1\nj\n:[]') + encodeMessage('after'));
  } finally {
    global.setTimeout = realSetTimeout;
  }
  assert.deepEqual(events.slice(1), [['message', 'after', {}]]);
  assert.equal(deferred.length, 1);
  assert.throws(deferred[0], /callback failed/);
});

test('built-in names cannot be emitted; the error names the right call', () => {
  const { socket, t } = connected('e13');
  const builtIn = ['connect', 'connecting', 'message', 'disconnect', 'reconnect', 'error', 'connect_failed',
    'connection', 'clientConnect', 'clientMessage', 'clientDisconnect', 'close'];
  for (const name of builtIn) {
    assert.throws(() => socket.emit(name, 1), new RegExp("'" + name + "' is a built-in event"));
    assert.throws(() => socket.realm('r').emit(name), /is a built-in event/);
  }
  assert.throws(() => socket.emit('message', 'hi'), /'message' is a built-in event: use socket\.send\(message\)/);
  assert.throws(() => socket.emit('connect'), /use socket\.connect\(\)/);
  assert.throws(() => socket.emit('disconnect'), /use socket\.disconnect\(\)/);
  for (const bad of ['', 'a\nb', 5, null, undefined]) assert.throws(() => socket.emit(bad), TypeError);
  assert.throws(() => socket.emit('bin', new Uint8Array([1])), /binary/);
  const cycle = {};
  cycle.self = cycle;
  assert.throws(() => socket.emit('cyc', cycle, () => {}));
  assert.deepEqual(t.sent, []);
  assert.deepEqual(socket._callbacks, {});   // a refused emit keeps no callback
});

test('on() with a built-in name is the built-in listener, as before', () => {
  const { socket, t } = connected('e14');
  const seen = [];
  socket.on('message', (m) => seen.push(m));
  socket.on('disconnect', () => seen.push('disconnect'));
  receive(t, encodeMessage('plain'));
  socket.disconnect();
  assert.deepEqual(seen, ['plain', 'disconnect']);
});

test('a received event with a built-in name is an ordinary message, never the built-in event', () => {
  const { socket, t, events } = connected('e15');
  const realm = [];
  socket.realm('x').on('message', (m, a) => realm.push([m, a]));
  receive(t, frame('e:message\nj\n:["hi"]') + frame('e:connect\nc:5\nj\n:[]') + frame('e:disconnect\nr:x\nj\n:[1]'));
  assert.deepEqual(events, [
    'connect',
    ['message', ['hi'], { e: 'message' }],
    ['message', [], { e: 'connect', c: '5' }],
    ['message', [1], { e: 'disconnect', r: 'x' }],
  ]);
  assert.deepEqual(realm, [[[1], { e: 'disconnect', r: 'x' }]]);
  assert.equal(socket.connected, true);
  assert.deepEqual(t.sent, []);   // not answered: a message handler has nothing to answer with
});

test('realm events reach only that realm\'s handlers; the socket\'s see events without r', () => {
  const { socket, t, events } = connected('e16');
  const plain = [], inX = [], inY = [];
  socket.on('ev', (a) => plain.push(a));
  socket.realm('x').on('ev', function (a) { inX.push([this === socket.realm('x'), a]); return 'x' + a; });
  socket.realm('y').on('ev', (a) => inY.push(a));
  receive(t, frame('e:ev\nj\n:[1]') + frame('e:ev\nc:3\nr:x\nj\n:[2]') + frame('e:ev\nc:4\nr:z\nj\n:[3]'));
  assert.deepEqual(plain, [1]);
  assert.deepEqual(inX, [[true, 2]]);
  assert.deepEqual(inY, []);
  assert.deepEqual(events, ['connect']);
  // answers carry no realm; an event in a realm nobody listens to still answers []
  assert.deepEqual(t.sent, ['1:14:ca:3\nj\n:["x2"],', '1:10:ca:4\nj\n:[],']);
});

test('at most 1000 callbacks wait: beyond, the oldest is dropped with a warning', () => {
  const { socket, t } = connected('e17');
  const called = [];
  const warnings = capture('warn', () => {
    for (let i = 1; i <= 1002; i++) socket.emit('n', i, () => called.push(i));
  });
  assert.equal(warnings.length, 2);
  assert.match(warnings[0].join(' '), /1000/);
  assert.equal(Object.keys(socket._callbacks).length, 1000);
  assert.equal(t.sent.length, 1002);   // the messages all go; only the callbacks are bounded
  receive(t, frame('ca:1\nj\n:[]') + frame('ca:2\nj\n:[]') + frame('ca:3\nj\n:[]') + frame('ca:1002\nj\n:[]'));
  assert.deepEqual(called, [3, 1002]);
  // answered ones free their places: no warning until 1000 wait again
  const more = capture('warn', () => { socket.emit('n', 0, () => {}); socket.emit('n', 0, () => {}); });
  assert.equal(more.length, 0);
  assert.equal(capture('warn', () => socket.emit('n', 0, () => {})).length, 1);
});

test('a new session drops the callbacks of the old one; an emit still queued keeps its own', () => {
  const { socket, t, events } = connected('old');
  const called = [];
  socket.emit('sent', () => called.push('sent'));   // written to the old session
  socket._lost(t, true);                            // the server says it is gone: renew
  socket.emit('queued', () => called.push('queued'));
  const t2 = latest();
  assert.notEqual(t2, t);
  t2.ready = true;
  receive(t2, '3:3:new,');
  assert.deepEqual(events, ['connect', 'connect', 'reconnect']);
  assert.deepEqual(t2.sent, ['1:18:e:queued\nc:2\nj\n:[],']);   // ids go on from the old session
  receive(t2, frame('ca:1\nj\n:[]') + frame('ca:2\nj\n:[]'));
  assert.deepEqual(called, ['queued']);
});

test('disconnect() then connect() is a new session: callbacks waiting then are dropped', () => {
  const { socket, t } = connected('d1');
  const called = [];
  socket.emit('a', () => called.push('a'));
  assert.equal(t.sent.length, 1);
  socket.disconnect();
  socket.emit('b', () => called.push('b'));   // queued for the next connect
  socket.connect();
  const t2 = latest();
  t2.ready = true;
  receive(t2, '3:2:d2,');
  assert.deepEqual(t2.sent, ['1:13:e:b\nc:2\nj\n:[],']);
  receive(t2, frame('ca:1\nj\n:[]') + frame('ca:2\nj\n:[]'));
  assert.deepEqual(called, ['b']);
});

test('a resumed session keeps its callbacks', async () => {
  const { socket, t } = connected('keep');
  const called = [];
  socket.emit('a', (x) => called.push(x));
  socket._lost(t, false);
  await sleep(300);   // first backoff: 250 ms
  const t2 = latest();
  assert.equal(t2.sid, 'keep');
  t2.ready = true;
  socket._alive(t2);
  receive(t2, frame('ca:1\nj\n:["late"]'));
  assert.deepEqual(called, ['late']);
});

test('with the acks extension events are numbered messages like any other', () => {
  const { socket, t } = connected('ak');
  receive(t, '4:1:0,');   // right after the 3: frame: the server agreed (§9)
  assert.equal(socket.acks, true);
  socket.emit('x', 1, () => {});
  assert.deepEqual(t.sent, ['5:1:1,1:14:e:x\nc:1\nj\n:[1],']);
});
