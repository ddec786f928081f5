// Message bodies and annotations (docs/protocol.rst §2), mirroring the server's
// socketio_gevent/protocol/framing.py encode_message / decode_body.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const io = require('./load.js');
const { encodeMessage, encodeBody, decodeBody, decodePayload, encodeBase64, decodeBase64 } = io._internal;

function decodeFrame(frame) {
  const frames = decodePayload(frame);
  assert.equal(frames.length, 1);
  assert.equal(frames[0].type, '1');
  return decodeBody(frames[0].data);
}

function bytes(buffer) {
  return Array.from(new Uint8Array(buffer));
}

test('PROTOCOL §2 vector: send("Hello world", realm chat)', () => {
  assert.equal(encodeMessage('Hello world', { r: 'chat' }), '1:19:r:chat\n:Hello world,');
});

test('a message without annotations is ":" + message', () => {
  assert.equal(encodeMessage('hello'), '1:6::hello,');
  assert.deepEqual(decodeFrame('1:6::hello,'), { message: 'hello', annotations: {} });
});

test('canonical annotations decode, keys without values as null', () => {
  assert.deepEqual(decodeFrame('1:19:r:chat\n:Hello world,'),
    { message: 'Hello world', annotations: { r: 'chat' } });
  assert.deepEqual(decodeBody('flag\nr:a:b\n:msg'),
    { message: 'msg', annotations: { flag: null, r: 'a:b' } });
});

test('the 2010 README form r:chat:Hello world decodes', () => {
  assert.deepEqual(decodeFrame('1:18:r:chat:Hello world,'),
    { message: 'Hello world', annotations: { r: 'chat' } });
});

test('README-form fallback takes the deepest annotation with a second ":"', () => {
  // No canonical separator: "b:x:y" is read as value "x", message "y\nc:z".
  assert.deepEqual(decodeBody('a:1\nk:x:y\nc:z'), { message: 'y\nc:z', annotations: { a: '1', k: 'x' } });
  // A canonical separator wins over a README reading.
  assert.deepEqual(decodeBody('k:x:y\n:m'), { message: 'm', annotations: { k: 'x:y' } });
  assert.deepEqual(decodeBody('::'), { message: ':', annotations: {} });
});

test('a body without separator is refused', () => {
  for (const bad of ['hello', 'r:chat', 'j\n', 'a\nb']) {
    assert.throws(() => decodeBody(bad), { name: 'ProtocolError' }, bad);
  }
});

test('empty keys are ignored, a repeated key keeps the last value', () => {
  assert.deepEqual(decodeBody('\nr:a\nr:b\n:m'), { message: 'm', annotations: { r: 'b' } });
});

test('JSON values go with j and come back parsed; j is consumed', () => {
  assert.equal(encodeMessage({ a: [1, 'é'] }), '1:16:j\n:{"a":[1,"é"]},');
  assert.equal(encodeMessage(42), '1:5:j\n:42,');
  assert.equal(encodeMessage(null), '1:7:j\n:null,');
  assert.equal(encodeMessage(true, { r: 'chat' }), '1:14:r:chat\nj\n:true,');
  assert.deepEqual(decodeFrame('1:14:r:chat\nj\n:true,'), { message: true, annotations: { r: 'chat' } });
  assert.deepEqual(decodeBody('j\n:{"x":{"y":[null]}}').message, { x: { y: [null] } });
  assert.throws(() => decodeBody('j\n:{nope'), /invalid JSON/);
  assert.throws(() => encodeMessage(undefined), TypeError);
});

test('binary goes as base64 with b and comes back as an ArrayBuffer', () => {
  const data = new Uint8Array([0, 1, 2, 253, 254, 255]);
  const frame = encodeMessage(data);
  assert.equal(frame, '1:11:b\n:AAEC/f7/,');
  const { message, annotations } = decodeFrame(frame);
  assert.ok(message instanceof ArrayBuffer);
  assert.deepEqual(bytes(message), [0, 1, 2, 253, 254, 255]);
  assert.deepEqual(annotations, {});
  // A view into a larger buffer sends only its own bytes.
  const view = new Uint8Array([9, 9, 7, 8, 9]).subarray(2, 4);
  assert.equal(encodeMessage(view, { r: 'x' }), '1:11:r:x\nb\n:Bwg=,');
  assert.throws(() => decodeBody('b\n:not base64!'), /base64/);
  assert.throws(() => decodeBody('b\nj\n:AA=='), /both/);
});

test('base64 round trip of every byte value and of every small length', () => {
  const all = new Uint8Array(256).map((_, i) => i);
  assert.deepEqual(bytes(decodeBase64(encodeBase64(all.buffer))), Array.from(all));
  for (let n = 0; n < 8; n++) {
    const data = new Uint8Array(n).map((_, i) => 200 + i);
    const text = encodeBase64(data.buffer);
    assert.equal(text, Buffer.from(data).toString('base64'));
    assert.deepEqual(bytes(decodeBase64(text)), Array.from(data));
  }
  const big = new Uint8Array(200000).map((_, i) => (i * 7) & 255);   // past apply()'s chunk
  assert.deepEqual(bytes(decodeBase64(encodeBase64(big.buffer))), Array.from(big));
  assert.throws(() => decodeBase64('AAE'), /base64/);    // padding is required
});

test('emoji and </script> survive encode then decode', () => {
  const text = 'x \u{1F600} </script> \u2028 y';
  const frame = encodeMessage(text, { r: 'chat' });
  assert.deepEqual(decodeFrame(frame), { message: text, annotations: { r: 'chat' } });
});

test('bad annotations are refused when sending', () => {
  assert.throws(() => encodeMessage('m', { j: null }), /reserved/);
  assert.throws(() => encodeMessage('m', { b: null }), /reserved/);
  assert.throws(() => encodeBody('m', { 'a:b': '1' }), /key/);
  assert.throws(() => encodeBody('m', { '': '1' }), /key/);
  assert.throws(() => encodeBody('m', { a: 'x\ny' }), /newline/);
  assert.equal(encodeBody('m', { flag: null, n: 5 }), 'flag\nn:5\n:m');
});
