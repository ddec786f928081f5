// The frame codec of docs/protocol.rst §1 (type:length:data, with UTF-16 lengths).
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const io = require('./load.js');
const { Decoder, encodeFrame, decodePayload } = io._internal;

// Feed `text` whole, then split at every index, then one unit at a time:
// every way must give the same frames (h11's byte-feeding tests, in spirit).
function allSplits(text) {
  const ways = [[text]];
  for (let i = 1; i < text.length; i++) ways.push([text.slice(0, i), text.slice(i)]);
  ways.push(text.split(''));
  return ways;
}

function decodeChunks(chunks) {
  const decoder = new Decoder();
  const frames = [];
  for (const chunk of chunks) frames.push(...decoder.feed(chunk));
  assert.equal(decoder.pending(), false);
  return frames;
}

test('encodeFrame writes type:length:data,', () => {
  assert.equal(encodeFrame('1', ':hello'), '1:6::hello,');
  assert.equal(encodeFrame('0', ''), '0:0:,');
  assert.equal(encodeFrame('3', 'abc'), '3:3:abc,');
});

test('lengths count UTF-16 code units: an emoji counts 2', () => {
  assert.equal(encodeFrame('1', ':\u{1F600}'), '1:3::\u{1F600},');
  assert.equal(encodeFrame('1', ':é'), '1:2::é,');
  assert.deepEqual(decodePayload('1:3::\u{1F600},'), [{ type: '1', data: ':\u{1F600}' }]);
});

test('a whole payload of several frames decodes in order', () => {
  const payload = '3:5:abcde,2:1:1,1:19:r:chat\n:Hello world,0:0:,';
  assert.deepEqual(decodePayload(payload), [
    { type: '3', data: 'abcde' },
    { type: '2', data: '1' },
    { type: '1', data: 'r:chat\n:Hello world' },
    { type: '0', data: '' },
  ]);
});

test('data may hold ":", "," and newlines', () => {
  assert.deepEqual(decodePayload('1:8::a,b:c\nd,'), [{ type: '1', data: ':a,b:c\nd' }]);
});

test('a payload split at every index decodes the same', () => {
  const payload = '3:4:sid1,1:6::hello,2:2:17,1:5::\u{1F600}\u{1F600},1:10::</script>,0:0:,';
  const expected = decodePayload(payload);
  assert.equal(expected.length, 6);
  for (const chunks of allSplits(payload)) assert.deepEqual(decodeChunks(chunks), expected);
});

test('a split surrogate pair is rejoined across chunks', () => {
  const payload = '1:3::\u{1F600},';
  const at = payload.indexOf('\u{1F600}') + 1;   // between the two halves
  assert.deepEqual(decodeChunks([payload.slice(0, at), payload.slice(at)]),
    [{ type: '1', data: ':\u{1F600}' }]);
});

test('the decoder keeps an unfinished tail and returns [] meanwhile', () => {
  const decoder = new Decoder();
  assert.deepEqual(decoder.feed('1:6:'), []);
  assert.equal(decoder.pending(), true);
  assert.deepEqual(decoder.feed(':hel'), []);
  assert.deepEqual(decoder.feed('lo,1:'), [{ type: '1', data: ':hello' }]);
  assert.deepEqual(decoder.feed('2::x,'), [{ type: '1', data: ':x' }]);
  assert.equal(decoder.pending(), false);
});

test('an empty payload has no frames', () => {
  assert.deepEqual(decodePayload(''), []);
});

test('malformed frames are refused', () => {
  for (const bad of [':1:x,', '12:1:x,', '1:x:y,', '1::x,', '1:2:abc,', '1:1234567890:x,', '1:-1:x,']) {
    assert.throws(() => decodePayload(bad), { name: 'ProtocolError' }, bad);
  }
  assert.throws(() => decodePayload('1:5:ab'), /incomplete/);
});

test('frames before a bad one stand, and the decoder then stays failed', () => {
  const decoder = new Decoder();
  let error;
  try { decoder.feed('1:2::a,1:2:xyz,'); } catch (e) { error = e; }
  assert.equal(error.name, 'ProtocolError');
  assert.deepEqual(error.frames, [{ type: '1', data: ':a' }]);
  assert.throws(() => decoder.feed('1:2::b,'), /already failed/);
});
