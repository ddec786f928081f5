// The xhr-multipart part parser (docs/protocol.rst §4.6), the outbox packing and
// the backoff schedule: the pure pieces behind the transports.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const io = require('./load.js');
const { MultipartParser, encodeMessage, packItems, backoff, DEFAULT_TRANSPORTS } = io._internal;

function part(payload) {
  return 'Content-Type: text/plain\n\n' + payload + '\n--socketio\n';
}

function parseChunks(chunks) {
  const parser = new MultipartParser();
  const frames = [];
  for (const chunk of chunks) frames.push(...parser.feed(chunk));
  return frames;
}

const TRICKY = encodeMessage('a\n--socketio\nContent-Type: text/plain\n\nb');
const BODY = '--socketio\n' + part('3:4:sid1,') + part(TRICKY + '2:1:1,') + part('') +
  part(encodeMessage('\u{1F600}', { r: 'chat' }));
const EXPECTED = [
  { type: '3', data: 'sid1' },
  { type: '1', data: ':a\n--socketio\nContent-Type: text/plain\n\nb' },
  { type: '2', data: '1' },
  { type: '1', data: 'r:chat\n:\u{1F600}' },
];

test('multipart parts are found by frame lengths, not by the boundary', () => {
  assert.deepEqual(parseChunks([BODY]), EXPECTED);
});

test('a multipart body split at every index parses the same', () => {
  for (let i = 1; i < BODY.length; i++) {
    assert.deepEqual(parseChunks([BODY.slice(0, i), BODY.slice(i)]), EXPECTED, 'split at ' + i);
  }
  assert.deepEqual(parseChunks(BODY.split('')), EXPECTED);
});

test('multipart: a preamble before the first boundary and a closing delimiter are tolerated', () => {
  assert.deepEqual(parseChunks(['padding\n--socketio\n' + part('1:2::x,') + 'Content-Type: text/plain\n\n']),
    [{ type: '1', data: ':x' }]);
  assert.deepEqual(parseChunks(['--socketio\nContent-Type: text/plain\n\n1:2::y,\n--socketio--\n']),
    [{ type: '1', data: ':y' }]);
});

test('multipart: text after whole frames that is not the boundary is an error', () => {
  assert.throws(() => parseChunks(['--socketio\nContent-Type: text/plain\n\n1:2::y,\nxx']), /boundary/);
  assert.throws(() => parseChunks(['--socketio\nContent-Type: text/plain\n\n1:2::y,ab']), { name: 'ProtocolError' });
});

test('packItems without binary frames: one text payload, binaries as b', () => {
  const items = ['1:2::a,', { binary: new Uint8Array([1, 2, 3]).buffer }, '2:1:4,'];
  assert.deepEqual(packItems(items, false), ['1:2::a,1:7:b\n:AQID,2:1:4,']);
  assert.deepEqual(packItems([], false), ['']);
});

test('packItems with binary frames: text runs joined, each binary alone, order kept', () => {
  const one = new Uint8Array([1]).buffer;
  const two = new Uint8Array([2]).buffer;
  const out = packItems(['1:2::a,', '1:2::b,', { binary: one }, { binary: two }, '0:0:,'], true);
  assert.equal(out.length, 4);
  assert.equal(out[0], '1:2::a,1:2::b,');
  assert.equal(out[1], one);
  assert.equal(out[2], two);
  assert.equal(out[3], '0:0:,');
});

test('backoff doubles from 250 ms and stays at 4 s', () => {
  assert.deepEqual([0, 1, 2, 3, 4, 5, 50].map(backoff), [250, 500, 1000, 2000, 4000, 4000, 4000]);
});

test('the default transport order is PROTOCOL §8', () => {
  assert.deepEqual(DEFAULT_TRANSPORTS,
    ['websocket', 'server-events', 'htmlfile', 'xhr-multipart', 'xhr-polling', 'jsonp-polling']);
});

test('loading in Node touches no DOM and exports the API', () => {
  assert.equal(typeof io.Socket, 'function');
  assert.ok(Array.isArray(io.JSONP));
  for (const name of DEFAULT_TRANSPORTS) assert.equal(typeof io.transports[name], 'function', name);
});

test('formField percent-encodes a payload; lone surrogates become U+FFFD', () => {
  const { formField } = io._internal;
  assert.equal(formField('data', '1:6::a b&c,'), 'data=1%3A6%3A%3Aa%20b%26c%2C');
  assert.equal(formField('data', '0:0:,'), 'data=0%3A0%3A%2C');
  assert.equal(decodeURIComponent(formField('d', 'x\u{1F600}').slice(2)), 'x\u{1F600}');
  // A lone half keeps its one unit, so the frame length stays right.
  assert.equal(decodeURIComponent(formField('d', '1:3::a\uD800,').slice(2)), '1:3::a\uFFFD,');
  assert.equal(decodeURIComponent(formField('d', '\uDC00\uD83D\uDE00\uD800').slice(2)), '\uFFFD\u{1F600}\uFFFD');
  // The same without String.prototype.toWellFormed (browsers before 2023).
  const saved = String.prototype.toWellFormed;
  delete String.prototype.toWellFormed;
  try {
    assert.equal(decodeURIComponent(formField('d', '\uDC00a\uD83D\uDE00\uD800').slice(2)), '\uFFFDa\u{1F600}\uFFFD');
  } finally {
    if (saved) String.prototype.toWellFormed = saved;
  }
});
