// node socket.io 4 (the peer users of other stacks pick), same events as the
// Python servers: "echo" answered in kind, "fanout" [count, interval_ms]
// emits "tick" with the send time in ms to everyone; "relay" <text> emits
// "tick" <text> to everyone at once (client-triggered fan-out).
'use strict';
const http = require('http');
const { Server } = require('socket.io');

const port = Number(process.argv[2] || 0);
const server = http.createServer();
const io = new Server(server, { cors: { origin: '*' }, perMessageDeflate: false, maxHttpBufferSize: 1e8 });
io.on('connection', (socket) => {
  socket.on('echo', (data) => socket.emit('echo', data));
  socket.on('relay', (text) => io.emit('tick', text));
  socket.on('fanout', ([count, interval]) => {
    let sent = 0;
    const timer = setInterval(() => {
      io.emit('tick', (Date.now()).toFixed(3));
      if (++sent >= count) clearInterval(timer);
    }, interval);
  });
});
// backlog 4096 as the Python servers (Node's default is 511)
server.listen({ port, host: '127.0.0.1', backlog: 4096 }, () => {
  console.log('listening on 127.0.0.1:' + server.address().port);
});
