// htmlfile and jsonp-polling open only after the page's load event (§8),
// as the 2010 client did: an iframe or a <script> poll started while the
// page loads holds its load event back for as long as it lasts. Other
// transports open at once. A fake document and window stand in for the page.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const io = require('./load.js');
const { defineTransport, decodePayload } = io._internal;

const opened = [];
const latest = () => opened[opened.length - 1];
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const sockets = [];
test.afterEach(() => {
  while (sockets.length) sockets.pop().disconnect();
});

function receive(t, payload) {
  t.socket._frames(t, decodePayload(payload));
}

test('htmlfile and jsonp-polling open only after the page\'s load event; others at once', async () => {
  defineTransport('evpage', {
    afterLoad: true,
    open() { this.posts = []; opened.push(this); },
    write(items, done) { this.posts.push(items); done(true, false); },
    close() { this.closed = true; },
  });
  assert.equal(io.transports.htmlfile.prototype.afterLoad, true);
  assert.equal(io.transports['jsonp-polling'].prototype.afterLoad, true);
  for (const name of ['websocket', 'server-events', 'xhr-multipart', 'xhr-polling']) {
    assert.ok(!io.transports[name].prototype.afterLoad, name);
  }
  const listeners = [];
  global.document = { readyState: 'loading' };
  global.addEventListener = (type, fn) => listeners.push([type, fn]);
  global.removeEventListener = (type, fn) => {
    const i = listeners.findIndex((l) => l[0] === type && l[1] === fn);
    if (i >= 0) listeners.splice(i, 1);
  };
  try {
    const socket = new io.Socket('example.test', { port: 8080, transports: ['evpage'], connectTimeout: 50 });
    sockets.push(socket);
    const count = opened.length;
    socket.connect();
    assert.equal(opened.length, count);           // waiting for load
    assert.deepEqual(listeners.map((l) => l[0]).filter((n) => n === 'load'), ['load']);
    await sleep(100);                             // connectTimeout counts from the open, not before
    assert.equal(opened.length, count);
    global.document.readyState = 'complete';
    for (const [type, fn] of listeners.slice()) if (type === 'load') fn();
    assert.equal(listeners.filter((l) => l[0] === 'load').length, 0);
    await sleep(0);
    assert.equal(opened.length, count + 1);
    const t = latest();
    assert.equal(t.name, 'evpage');
    receive(t, '3:2:pl,');
    assert.equal(socket.connected, true);
    socket.disconnect();

    // a socket left before the page loaded never opens its transport
    global.document.readyState = 'interactive';
    const gone = new io.Socket('example.test', { port: 8080, transports: ['evpage'] });
    gone.connect();
    gone.disconnect();
    for (const [type, fn] of listeners.slice()) if (type === 'load') fn();
    await sleep(0);
    assert.equal(opened.length, count + 1);

    // once the page is complete, it opens at once
    global.document.readyState = 'complete';
    const late = new io.Socket('example.test', { port: 8080, transports: ['evpage'] });
    sockets.push(late);
    late.connect();
    assert.equal(opened.length, count + 2);
  } finally {
    delete global.document;
    delete global.addEventListener;
    delete global.removeEventListener;
  }
});
