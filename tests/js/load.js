// Loads the browser client in Node: its pure parts need no DOM.
'use strict';
const path = require('node:path');
module.exports = require(path.join(__dirname, '..', '..', 'socketio_gevent', 'static', 'socket.io.js'));
