/*!
 * socket.io.js: the browser client of socketio_gevent.
 *
 * Speaks the wire protocol of docs/protocol.rst (the `type:length:data,` frames of
 * the Socket.IO-node line of November 2010, completed) over six transports,
 * tried in order: websocket, server-events, htmlfile, xhr-multipart,
 * xhr-polling, jsonp-polling. No dependencies, no build step.
 *
 *     var socket = new io.Socket(null, {transports: ['websocket', 'xhr-polling']});
 *     socket.on('message', function (message, annotations) { ... });
 *     socket.connect();
 *     socket.send({hello: 'world'});
 *     socket.on('chat', function (text) { ... return 'an answer'; });   // named events
 *     socket.emit('add', 1, 2, function (sum) { ... });                 // with a callback
 *
 * Layout: 1. frames (§1)  2. message bodies (§2)  3. multipart parts (§4.6)
 * 4. pure helpers (outbox packing, backoff)  5. events  6. transports (§4)
 * 7. the Socket: opening, fallback, resume and renewal (§8)  8. export.
 * Sections 1-4 touch no DOM, so Node's test runner can load this file.
 */
(function (root) {
  'use strict';

  var io = { version: '1.0.0', JSONP: [], transports: {}, _internal: {} };

  var DEFAULT_TRANSPORTS = ['websocket', 'server-events', 'htmlfile', 'xhr-multipart',
                            'xhr-polling', 'jsonp-polling'];
  var DISCONNECT_FRAME = '0:0:,';
  var MAX_DIGITS = 9;          // as the server: a length never needs more
  var POST_TIMEOUT = 30000;    // only for requests that hang for good
  var POLL_TIMEOUT = 45000;    // the server holds a poll 20 s by default
  var hasOwn = Object.prototype.hasOwnProperty;
  var noop = function () {};
  var now = function () { return new Date().getTime(); };

  function protocolError(reason) {
    var error = new Error(reason);
    error.name = 'ProtocolError';
    return error;
  }

  // Log without ever throwing (old or stripped consoles).
  function warn() {
    if (typeof console !== 'undefined' && console.warn) {
      console.warn.apply(console, ['socket.io:'].concat([].slice.call(arguments)));
    }
  }

  function logError() {
    if (typeof console !== 'undefined' && console.error) {
      console.error.apply(console, ['socket.io:'].concat([].slice.call(arguments)));
    }
  }

  // ======================================================== 1. frames (§1)
  // A frame's length counts UTF-16 code units, which is exactly what
  // String.length counts, so slicing by it needs no conversion here.

  function encodeFrame(type, data) {
    return type + ':' + data.length + ':' + data + ',';
  }

  // Reads the frame that starts at `pos`. Returns {type, data, end}, or null
  // when the text ends before the frame does ("need more"), and throws a
  // ProtocolError as soon as no continuation could make the frame valid.
  function readFrame(buf, pos) {
    var n = buf.length;
    if (pos >= n) return null;
    if (buf.charAt(pos) === ':') throw protocolError('frame type is missing');
    if (n - pos < 2) return null;
    if (buf.charAt(pos + 1) !== ':') throw protocolError('frame type must be one character');
    var i = pos + 2, length = 0;
    for (;; i++) {
      if (i >= n) return null;
      var code = buf.charCodeAt(i);
      if (code === 58) break;                                  // ':'
      if (code < 48 || code > 57) throw protocolError('frame length is not a decimal number');
      if (i - pos - 2 >= MAX_DIGITS) throw protocolError('frame length has too many digits');
      length = length * 10 + (code - 48);
    }
    if (i === pos + 2) throw protocolError('frame length is not a decimal number');
    var stop = i + 1 + length;
    if (stop >= n) return null;                                // data or its ',' to come
    if (buf.charAt(stop) !== ',') throw protocolError("frame data not terminated by ','");
    return { type: buf.charAt(pos), data: buf.slice(i + 1, stop), end: stop + 1 };
  }

  // Streaming decoder: a frame may be split across WebSocket messages or
  // stream chunks, and one chunk may carry several frames, so the unfinished
  // tail is kept for the next feed. After an error the decoder stays failed
  // (its position in the stream is lost); the caller reopens the connection.
  function Decoder() {
    this.buffer = '';
    this.failed = null;
  }
  Decoder.prototype.feed = function (chunk) {
    if (this.failed) throw protocolError('decoder already failed: ' + this.failed);
    var buf = this.buffer + chunk, pos = 0, frames = [], frame;
    try {
      while ((frame = readFrame(buf, pos))) {
        frames.push({ type: frame.type, data: frame.data });
        pos = frame.end;
      }
    } catch (error) {
      this.buffer = '';
      this.failed = error.message;
      error.frames = frames;   // the frames before the bad one stand (§1)
      throw error;
    }
    this.buffer = pos ? buf.slice(pos) : buf;
    return frames;
  };
  Decoder.prototype.pending = function () { return this.buffer.length > 0; };

  // One complete payload (e.g. an HTTP body): every frame, or a ProtocolError.
  function decodePayload(text) {
    var decoder = new Decoder(), frames = decoder.feed(text);
    if (decoder.pending()) throw protocolError('incomplete frame at end of payload');
    return frames;
  }

  // ================================================ 2. message bodies (§2)

  // Canonical body: `key\n` or `key:value\n` per annotation, then ':' message.
  // A null or undefined value writes the key alone.
  function encodeBody(message, annotations) {
    var out = '';
    for (var key in annotations) {
      if (!hasOwn.call(annotations, key)) continue;
      if (!key || key.indexOf(':') >= 0 || key.indexOf('\n') >= 0) {
        throw new Error('annotation key must be non-empty, without ":" or newline: ' + key);
      }
      var value = annotations[key];
      if (value === null || value === undefined) {
        out += key + '\n';
      } else {
        value = String(value);
        if (value.indexOf('\n') >= 0) throw new Error('annotation value must not contain a newline');
        out += key + ':' + value + '\n';
      }
    }
    return out + ':' + message;
  }

  function isBinary(value) {
    return typeof ArrayBuffer !== 'undefined' &&
      (value instanceof ArrayBuffer || ArrayBuffer.isView(value));
  }

  // A private copy of the bytes: the caller may reuse its buffer after send().
  function toArrayBuffer(value) {
    if (value instanceof ArrayBuffer) return value.slice(0);
    return value.buffer.slice(value.byteOffset, value.byteOffset + value.byteLength);
  }

  function encodeBase64(buffer) {
    var bytes = new Uint8Array(buffer), text = '', step = 0x8000;
    for (var i = 0; i < bytes.length; i += step) {   // apply() has an argument limit
      text += String.fromCharCode.apply(null, bytes.subarray(i, i + step));
    }
    return btoa(text);
  }

  // RFC 4648 with padding, nothing else (atob alone also takes spaces).
  var BASE64 = /^(?:[A-Za-z0-9+\/]{4})*(?:[A-Za-z0-9+\/]{2}==|[A-Za-z0-9+\/]{3}=)?$/;

  function decodeBase64(text) {
    if (!BASE64.test(text)) throw protocolError("invalid base64 under 'b'");
    var raw = atob(text), bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return bytes.buffer;
  }

  // A whole type-1 frame for an application message: strings as they are,
  // binary as base64 with `b`, anything else as JSON with `j`. The caller's
  // annotations come first; `j` and `b` are reserved for the encoding.
  function encodeMessage(message, annotations) {
    var extra = {}, text;
    for (var key in annotations) {
      if (!hasOwn.call(annotations, key)) continue;
      if (key === 'j' || key === 'b') throw new Error('annotation "' + key + '" is reserved');
      extra[key] = annotations[key];
    }
    if (typeof message === 'string') {
      text = message;
    } else if (isBinary(message)) {
      text = encodeBase64(toArrayBuffer(message));
      extra.b = null;
    } else {
      text = JSON.stringify(message);
      if (text === undefined) throw new TypeError('message cannot be sent as JSON');
      extra.j = null;
    }
    return encodeFrame('1', encodeBody(text, extra));
  }

  // Splits a body into {message, pairs}, or null when it has no separator.
  // This mirrors the server's decode_body (protocol/framing.py) step for step:
  // the canonical reading (every annotation closed by '\n') is tried first;
  // where it finds no separator, the deepest annotation whose own line holds
  // a second ':' is read in the 2010 README form (`r:chat:Hello world`): its
  // value ends at that ':' and the rest is the message.
  function splitBody(body) {
    var n = body.length, pairs = [], fallbacks = [], pos = 0, nl = -1, after;
    var colon = body.indexOf(':');
    while (colon !== -1) {
      if (colon === pos) return { message: body.slice(pos + 1), pairs: pairs };
      if (nl < pos) {
        nl = body.indexOf('\n', pos);
        if (nl === -1) nl = n;
      }
      if (nl < colon) {                       // `key\n`: an annotation without value
        pairs.push([body.slice(pos, nl), null]);
        pos = nl + 1;
        continue;
      }
      after = body.indexOf(':', colon + 1);   // a second ':' on this line?
      if (after >= nl) after = -1;
      if (nl === n) {                         // last line not closed: README form only
        if (after === -1) break;
        pairs.push([body.slice(pos, colon), body.slice(colon + 1, after)]);
        return { message: body.slice(after + 1), pairs: pairs };
      }
      if (after !== -1) fallbacks.push([pairs.length, body.slice(colon + 1, after), after + 1]);
      pairs.push([body.slice(pos, colon), body.slice(colon + 1, nl)]);
      pos = nl + 1;
      colon = body.indexOf(':', pos);
    }
    if (!fallbacks.length) return null;
    var last = fallbacks[fallbacks.length - 1];
    return {
      message: body.slice(last[2]),
      pairs: pairs.slice(0, last[0]).concat([[pairs[last[0]][0], last[1]]])
    };
  }

  // A type-1 body to {message, annotations}: `j` is parsed as JSON, `b`
  // decoded to an ArrayBuffer; both are consumed. Every other key is kept
  // ({key: value-or-null}, the last of a repeated key wins, empty keys are
  // dropped). Throws a ProtocolError for a body the server would refuse.
  function decodeBody(body) {
    var split = splitBody(body);
    if (!split) throw protocolError("message body has no ':' separator");
    var annotations = {}, json = false, binary = false;
    for (var i = 0; i < split.pairs.length; i++) {
      var key = split.pairs[i][0];
      if (key === 'j') json = true;
      else if (key === 'b') binary = true;
      else if (key) annotations[key] = split.pairs[i][1];
    }
    if (json && binary) throw protocolError("message has both 'j' and 'b' annotations");
    var message = split.message;
    if (json) {
      try { message = JSON.parse(message); } catch (e) { throw protocolError("invalid JSON under 'j'"); }
    } else if (binary) {
      message = decodeBase64(message);
    }
    return { message: message, annotations: annotations };
  }

  // ========================================== 3. multipart parts (§4.6)
  // The body is `--socketio\n`, then per payload `Content-Type: ...\n\n`,
  // the payload, `\n--socketio\n`. A payload may itself contain the boundary,
  // so a part's end is found by frame lengths: once the frames of a part are
  // whole, the next text must be `\n--socketio\n` (no frame starts with \n).

  var BOUNDARY = '--socketio\n';
  var PART_END = '\n--socketio\n';
  var CLOSE_END = '\n--socketio--';   // a closing delimiter, if a server writes one

  function MultipartParser() {
    this.buffer = '';
    this.part = [];   // frames of the part being read
    this.state = 'preamble';   // -> 'headers' -> 'body' -> 'headers' ... ('done')
  }
  MultipartParser.prototype.feed = function (chunk) {
    var buf = this.buffer + chunk, pos = 0, frames = [], i, frame;
    while (this.state !== 'done') {
      if (this.state === 'preamble') {
        i = buf.indexOf(BOUNDARY, pos);
        if (i < 0) { pos = Math.max(pos, buf.length - BOUNDARY.length + 1); break; }
        pos = i + BOUNDARY.length;
        this.state = 'headers';
      } else if (this.state === 'headers') {
        i = buf.indexOf('\n\n', pos);
        if (i < 0) break;
        pos = i + 2;
        this.state = 'body';
      } else if (buf.charAt(pos) === '\n') {
        var ahead = buf.slice(pos, pos + CLOSE_END.length);
        if (ahead.slice(0, PART_END.length) === PART_END) {
          pos += PART_END.length;
          this.state = 'headers';
          frames = frames.concat(this.part);   // a part is one payload: its frames go together
          this.part = [];
        } else if (ahead === CLOSE_END) {
          this.state = 'done';
          frames = frames.concat(this.part);
          this.part = [];
        } else if (PART_END.indexOf(ahead) === 0 || CLOSE_END.indexOf(ahead) === 0) {
          break;                                       // the delimiter is still arriving
        } else {
          throw protocolError('multipart part does not end with the boundary');
        }
      } else {
        frame = readFrame(buf, pos);
        if (!frame) break;
        this.part.push({ type: frame.type, data: frame.data });
        pos = frame.end;
      }
    }
    this.buffer = this.state === 'done' ? '' : buf.slice(pos);
    return frames;
  };

  // ============================================== 4. pure helpers

  // The outbox holds whole text frames (strings) and {binary: ArrayBuffer}
  // for binary messages sent without annotations. Whether those travel as
  // binary WebSocket frames or as `b` text is decided here, at write time,
  // because the transport may change while they wait. Returns what to send:
  // with binary frames, runs of text joined into one message each and every
  // binary on its own; without, a single text payload.
  function packItems(items, binaryFrames) {
    var out = [], text = '';
    for (var i = 0; i < items.length; i++) {
      var item = items[i];
      if (typeof item === 'string') {
        text += item;
      } else if (binaryFrames) {
        if (text) { out.push(text); text = ''; }
        out.push(item.binary);
      } else {
        text += encodeMessage(item.binary);
      }
    }
    if (text || !out.length) out.push(text);
    return out;
  }

  // A form field for an HTTP send. A lone surrogate cannot go in UTF-8
  // (encodeURIComponent throws): it becomes U+FFFD, one unit for one, so the
  // frame lengths still hold. WebSocket.send does the same by itself.
  function formField(name, value) {
    if (value.toWellFormed) {
      value = value.toWellFormed();
    } else if (/[\uD800-\uDFFF]/.test(value)) {
      var out = '';
      for (var i = 0; i < value.length; i++) {
        var c = value.charCodeAt(i), d = value.charCodeAt(i + 1);
        if (c >= 0xD800 && c <= 0xDBFF && d >= 0xDC00 && d <= 0xDFFF) { out += value.substr(i++, 2); continue; }
        out += c >= 0xD800 && c <= 0xDFFF ? '\uFFFD' : value.charAt(i);
      }
      value = out;
    }
    return name + '=' + encodeURIComponent(value);
  }

  // Delay before retry number `attempt` (0-based): 250 ms doubling to 4 s.
  function backoff(attempt) {
    return Math.min(250 * Math.pow(2, Math.min(attempt, 10)), 4000);
  }

  // ================================================= 5. events

  function Emitter() {}
  Emitter.prototype.on = function (name, fn) {
    var handlers = this._handlers || (this._handlers = {});
    (handlers[name] || (handlers[name] = [])).push(fn);
    return this;
  };
  Emitter.prototype.addListener = Emitter.prototype.on;
  Emitter.prototype.off = function (name, fn) {
    var list = this._handlers && this._handlers[name];
    if (list) {
      for (var i = list.length - 1; i >= 0; i--) if (list[i] === fn) list.splice(i, 1);
    }
    return this;
  };
  Emitter.prototype.removeListener = Emitter.prototype.off;
  // Fires one of the client's own events (connect, message, ...): not
  // `emit`, which on a Socket or Realm sends a named event (§8).
  // A throwing handler must not stop the others, nor the frames after it:
  // its error is rethrown on its own turn, where the page sees it.
  Emitter.prototype._fire = function (name) {
    var list = this._handlers && this._handlers[name];
    if (!list) return;
    var args = [].slice.call(arguments, 1);
    list = list.slice();
    for (var i = 0; i < list.length; i++) {
      try { list[i].apply(this, args); } catch (error) {
        setTimeout(function () { throw error; }, 0);
      }
    }
  };

  // ================================================= 6. transports (§4)
  // A transport object is one attempt at one connection: opening it again
  // (a resume, a stream that ended) makes a new object, so the callbacks of
  // an abandoned one are told apart by identity (socket._transport === t).
  // Each reports to its socket: _frames(t, frames), _binary(t, buffer),
  // _alive(t) (proof the session answered), _ended(t) (closed normally:
  // reopen now), _lost(t, gone) (failed; gone = the server said 404).
  // `ready` means write() may be called; `sync` transports write at once,
  // the others post and call back done(ok, gone).

  function defineTransport(name, proto) {
    function Transport(socket, sid) {
      this.socket = socket;
      this.sid = sid;
      this.ready = !!sid && !proto.sync;   // HTTP sends need only the sid
      this.closed = false;
      this.decoder = new Decoder();
    }
    Transport.prototype = new TransportBase();
    Transport.prototype.name = name;
    for (var key in proto) if (hasOwn.call(proto, key)) Transport.prototype[key] = proto[key];
    Transport.check = proto.check || function () { return true; };
    io.transports[name] = Transport;
    return Transport;
  }

  function TransportBase() {}
  TransportBase.prototype.url = function (suffix) {
    return this.socket._base(false) + this.name + '/' + this.sid + suffix;
  };
  // The acks extension (§9): acks=1 asks for it when opening a session;
  // a=<count> says, on every request that reopens one, what we have.
  TransportBase.prototype.query = function (first) {
    var q = this.socket._query(!this.sid);
    return q ? (first ? '?' : '&') + q : '';
  };
  // Text from the wire: decode whole frames and hand them over. A malformed
  // payload cannot be resynchronised, so the connection is dropped (resumed).
  TransportBase.prototype.feed = function (text) {
    var frames;
    try { frames = this.decoder.feed(text); } catch (error) {
      warn('malformed payload:', error.message);
      this.socket._frames(this, error.frames || []);
      this.socket._lost(this, false);
      return;
    }
    this.socket._frames(this, frames);
  };
  // HTTP send path (§3): POST a form with one `data` field, answered `ok`.
  TransportBase.prototype.write = function (items, done) {
    var body = formField('data', packItems(items, false)[0]);
    this.socket._request('POST', this.url('/send'), body, POST_TIMEOUT, function (status) {
      done(status === 200, status === 404);
    });
  };

  // The WebSocket first, as the server sends its frames: one text message
  // per payload, binary messages as binary frames (§4.3).
  defineTransport('websocket', {
    sync: true,
    check: function () { return typeof WebSocket !== 'undefined'; },
    open: function () {
      var self = this, socket = this.socket;
      var ws = this.ws = new WebSocket(socket._base(true) + 'websocket' + (this.sid ? '/' + this.sid : '') +
                                       this.query(true));
      ws.binaryType = 'arraybuffer';
      ws.onopen = function () { self.ready = true; socket._alive(self); };
      ws.onmessage = function (event) {
        if (typeof event.data === 'string') self.feed(event.data);
        else socket._binary(self, event.data);
      };
      // A refused upgrade (404, 403) and a dropped link look alike here.
      ws.onerror = ws.onclose = function () { socket._lost(self, false); };
    },
    write: function (items) {
      if (!this.ws || this.ws.readyState !== 1) return false;
      var units = packItems(items, true);
      for (var i = 0; i < units.length; i++) if (units[i] !== '') this.ws.send(units[i]);
      return true;
    },
    close: function () {
      this.closed = true;
      var ws = this.ws;
      if (ws) {
        ws.onopen = ws.onmessage = ws.onerror = ws.onclose = null;
        try { ws.close(); } catch (e) { /* already closing */ }
      }
    }
  });

  // EventSource (§4.7): each event's data is a JSON string literal holding a
  // payload. EventSource would reconnect by itself, but to the URL it was
  // given and with no way to learn a 404; we close it and reopen ourselves.
  defineTransport('server-events', {
    blind: true,   // cannot see the status of a failed open: probe (Socket._probe)
    check: function () { return typeof EventSource !== 'undefined'; },
    open: function () {
      var self = this, socket = this.socket;
      var es = this.es = new EventSource(this.url('/' + now()) + this.query(true),
                                         { withCredentials: socket._credentials() });
      es.onopen = function () { socket._alive(self); };
      es.onmessage = function (event) {
        var payload;
        self.heard = true;
        try { payload = JSON.parse(event.data); } catch (e) { payload = null; }
        if (typeof payload !== 'string') { warn('bad server-events data'); socket._lost(self, false); return; }
        self.feed(payload);
      };
      // The end of a stream that carried frames is the server's normal end
      // (stream_limit); one that carried none failed, and is retried later.
      es.onerror = function () {
        self.close();
        if (self.heard) socket._ended(self); else socket._lost(self, false);
      };
    },
    close: function () {
      this.closed = true;
      if (this.es) { this.es.onopen = this.es.onmessage = this.es.onerror = null; this.es.close(); }
    }
  });

  var frameCount = 0;

  function hiddenFrame(name) {
    var frame = document.createElement('iframe');
    if (name) frame.name = name;
    frame.setAttribute('aria-hidden', 'true');
    frame.tabIndex = -1;
    frame.style.cssText = 'position:absolute;width:1px;height:1px;left:-9999px;top:-9999px;border:0';
    return frame;
  }

  function removeNode(node) {
    if (node && node.parentNode) node.parentNode.removeChild(node);
  }

  function pageLoading() {
    return typeof document !== 'undefined' && typeof document.readyState === 'string' &&
      document.readyState !== 'complete' && typeof root.addEventListener === 'function';
  }

  // Runs fn on the turn after the window's load event.
  function afterPageLoad(fn) {
    function loaded() {
      root.removeEventListener('load', loaded, false);
      setTimeout(fn, 0);
    }
    root.addEventListener('load', loaded, false);
  }

  function pageRoot() {
    return document.body || document.documentElement;
  }

  // Forever iframe (§4.5): the server calls parent.<c>._(payload, document)
  // from <script> chunks. The iframe's load event means the response ended
  // normally (or an error page came). A stream cut mid-way (ERR_INCOMPLETE_
  // CHUNKED_ENCODING) fires nothing at all: the document stays "loading"
  // forever. So a watchdog checks silences: after 5 s it asks the server with
  // an empty POST (a failure means the server is gone or unreachable; a 200
  // means the session lives, and the stream is reopened within it), and a
  // silence past two heartbeat intervals means the stream is dead.
  defineTransport('htmlfile', {
    blind: true,
    afterLoad: true,   // see Socket._open
    // The iframe's scripts reach `parent` only when it shares our origin.
    check: function (socket) { return typeof document !== 'undefined' && !socket._crossOrigin(); },
    open: function () {
      var self = this, socket = this.socket, name = 'io_htmlfile_' + (++frameCount);
      this.callback = name;
      this.heard = this.probed = now();
      root[name] = {
        _: function (payload) {
          if (self.closed) return;
          self.live = true;
          self.heard = now();
          socket._alive(self);
          self.feed(String(payload));
        }
      };
      var frame = this.frame = hiddenFrame();
      frame.onload = function () {
        if (self.closed) return;
        var live = self.live;
        self.close();
        if (live) socket._ended(self); else socket._lost(self, false);
      };
      frame.src = this.url('/' + now()) + '?c=' + name + this.query(false);
      pageRoot().appendChild(frame);
      this.watch = setInterval(function () { self.watchdog(); }, 1000);
    },
    watchdog: function () {
      var self = this, socket = this.socket, t = now(), silent = t - this.heard;
      if (this.closed || !this.sid) return;   // before its 3: frame, connectTimeout rules
      var gap = socket._beatGap;
      if (silent > (gap ? 2 * gap + 1000 : 30000)) { socket._lost(this, false); return; }
      if (silent < 5000 || this.probing || t - this.probed < 5000) return;
      this.probing = true;
      this.probed = t;
      socket._request('POST', this.url('/send'), 'data=', POST_TIMEOUT, function (status) {
        self.probing = false;
        if (self.closed) return;
        if (status !== 200) { socket._lost(self, status === 404); return; }
        // The session lives but this stream has been silent for 5 s: it may
        // have been cut without a load event. Reopening takes the session
        // over (nothing is lost: the server hands its queue to the newest
        // request), and it is quick enough to beat the server's close_timeout.
        if (self.live && now() - self.heard >= 5000) { self.close(); socket._ended(self); }
      });
    },
    close: function () {
      this.closed = true;
      clearInterval(this.watch);
      var frame = this.frame, name = this.callback;
      if (frame) frame.onload = null;
      // Deferred: close() may run inside a script of that very iframe.
      if (!name) return;   // never opened
      setTimeout(function () {
        removeNode(frame);
        try { delete root[name]; } catch (e) { root[name] = undefined; }
      }, 0);
    }
  });

  // One long XHR whose responseText grows (§4.6); parts found by lengths.
  defineTransport('xhr-multipart', {
    check: function () { return typeof XMLHttpRequest !== 'undefined'; },
    open: function () {
      var self = this, socket = this.socket, seen = 0, parser = new MultipartParser();
      var xhr = this.xhr = new XMLHttpRequest();
      xhr.open('GET', this.url('/' + now()) + this.query(true), true);
      xhr.overrideMimeType('text/plain; charset=UTF-8');   // read it as text, as it comes
      if (socket._credentials()) xhr.withCredentials = true;
      function read() {
        if (self.closed || xhr.readyState < 2 || xhr.status !== 200) return;
        if (!self.answered) { self.answered = true; socket._alive(self); }
        var text = xhr.readyState >= 3 ? xhr.responseText : '';
        if (text.length <= seen) return;
        var chunk = text.slice(seen), frames;
        seen = text.length;
        try { frames = parser.feed(chunk); } catch (error) {
          warn('malformed multipart stream:', error.message);
          socket._lost(self, false);
          return;
        }
        if (frames.length) self.heard = true;
        socket._frames(self, frames);
      }
      xhr.onreadystatechange = xhr.onprogress = read;
      xhr.onload = function () {
        read();
        if (self.closed) return;
        var status = xhr.status;
        self.close();
        if (status === 200 && self.heard) socket._ended(self);
        else socket._lost(self, status === 404);
      };
      xhr.onerror = function () { if (!self.closed) socket._lost(self, false); };
      xhr.send(null);
    },
    close: function () {
      this.closed = true;
      if (this.xhr) { this.xhr.onreadystatechange = this.xhr.onprogress = null; abortQuietly(this.xhr); }
    }
  });

  function abortQuietly(xhr) {
    xhr.onload = xhr.onerror = xhr.ontimeout = null;
    try { xhr.abort(); } catch (e) { /* nothing to abort */ }
  }

  // Long polling (§4.1): each answer is one whole payload; ask again at once.
  defineTransport('xhr-polling', {
    polls: true,   // acknowledges by a= on each GET (§9)
    check: function () { return typeof XMLHttpRequest !== 'undefined'; },
    open: function () { this.poll(); },
    poll: function () {
      var self = this, socket = this.socket, xhr = this.xhr = new XMLHttpRequest();
      xhr.open('GET', this.url('/' + now()) + this.query(true), true);
      if (socket._credentials()) xhr.withCredentials = true;
      xhr.timeout = POLL_TIMEOUT;
      xhr.onload = function () {
        if (self.closed) return;
        if (xhr.status !== 200) { socket._lost(self, xhr.status === 404); return; }
        socket._alive(self);
        socket._newConnection();   // each answer numbers its own messages (§9)
        self.feed(xhr.responseText);
        if (!self.closed && socket._transport === self) self.poll();
      };
      xhr.onerror = function () { if (!self.closed) socket._lost(self, false); };
      // Held longer than any server should: ask again (a newer poll takes over).
      xhr.ontimeout = function () { if (!self.closed) self.poll(); };
      xhr.send(null);
    },
    close: function () {
      this.closed = true;
      if (this.xhr) abortQuietly(this.xhr);
    }
  });

  // JSONP polling (§4.2): <script> GETs answered `io.JSONP[<index>]._("…");`;
  // sends are forms posted into a hidden iframe with one field `d`, a JSON
  // string (form submission would turn raw line breaks into CRLF).
  defineTransport('jsonp-polling', {
    blind: true,
    afterLoad: true,
    polls: true,
    check: function () { return typeof document !== 'undefined'; },
    open: function () {
      var self = this, socket = this.socket;
      this.index = io.JSONP.length;
      io.JSONP.push({
        _: function (payload) {
          if (self.closed) return;
          self.answered = true;
          socket._alive(self);
          socket._newConnection();
          self.feed(String(payload));
        }
      });
      this.poll();
    },
    poll: function () {
      var self = this, socket = this.socket, script = this.script = document.createElement('script');
      this.answered = false;
      script.async = true;
      script.src = this.url('/' + now() + '/' + this.index) + this.query(true);
      script.onload = script.onerror = function () {
        script.onload = script.onerror = null;
        removeNode(script);
        if (self.closed || script !== self.script) return;
        if (self.answered) self.poll(); else socket._lost(self, false);
      };
      (document.head || pageRoot()).appendChild(script);
    },
    write: function (items, done) {
      var self = this;
      if (!this.form) {
        var name = 'io_jsonp_post_' + (++frameCount);
        this.target = hiddenFrame(name);
        this.form = document.createElement('form');
        this.form.method = 'POST';
        this.form.target = name;
        this.form.acceptCharset = 'UTF-8';
        this.form.style.display = 'none';
        this.field = document.createElement('input');
        this.field.type = 'hidden';
        this.field.name = 'd';
        this.form.appendChild(this.field);
        pageRoot().appendChild(this.target);
        pageRoot().appendChild(this.form);
      }
      var target = this.target, timer;
      function finish(ok) {
        clearTimeout(timer);
        target.onload = null;
        self.posting = false;
        if (self.closed) self.dropForm();
        done(ok, false);   // the iframe's answer is unreadable: a 404 looks like ok
      }
      timer = setTimeout(function () { finish(false); }, POST_TIMEOUT);
      this.posting = true;
      this.form.action = this.url('/' + now() + '/' + this.index);
      this.field.value = JSON.stringify(packItems(items, false)[0]);
      target.onload = function () {
        // Skip the iframe's own about:blank load; a real answer is either
        // unreadable (cross-origin: throws) or at another address.
        try { if (target.contentWindow.location.href === 'about:blank') return; } catch (e) { /* answered */ }
        finish(true);
      };
      this.form.submit();
    },
    dropForm: function () {
      removeNode(this.form);
      removeNode(this.target);
      this.form = this.target = null;
    },
    close: function () {
      this.closed = true;
      var script = this.script;
      this.script = null;
      if (script) { script.onload = script.onerror = null; removeNode(script); }
      if (this.index !== undefined) io.JSONP[this.index] = { _: noop };
      if (this.form && !this.posting) this.dropForm();   // a pending post keeps its form
    }
  });

  // ================================================= 7. the Socket (§8)
  // States: idle (never connected) -> opening (handshake on candidate
  // transports, one after another) -> open <-> resuming (same sid, backoff)
  // -> opening again when the session is gone (then 'reconnect') ... closed
  // (disconnect(), the server's 0:0:, or pagehide).

  function Socket(host, options) {
    if (host && typeof host === 'object') { options = host; host = null; }
    options = options || {};
    var location = (typeof document !== 'undefined' && document.location) || {};
    this.options = {
      host: host || options.host || location.hostname || 'localhost',
      port: options.port != null ? String(options.port) : (location.port || ''),
      secure: options.secure != null ? !!options.secure : location.protocol === 'https:',
      resource: options.resource || 'socket.io',
      transports: options.transports || DEFAULT_TRANSPORTS.slice(),
      connectTimeout: options.connectTimeout || 5000,
      resumeTimeout: options.resumeTimeout || 8000,
      acks: options.acks !== false,   // ask for exactly-once delivery (§9)
      // send cookies cross-origin: the server grants it only to origins its
      // configuration names (never under "*:*"), so it is asked for, not assumed
      withCredentials: !!options.withCredentials
    };
    this.transport = null;     // name of the transport that carries the session
    this.sessionid = null;
    this.connected = false;
    this._state = 'idle';
    this._transport = null;    // the current transport object (attempt)
    this._outbox = [];         // frames (and raw binaries) not yet handed to the wire
    this._busy = false;        // an HTTP send is in flight: one at a time, in order
    this._realms = {};
    this._callbacks = {};      // id -> the callback of an emit waiting for its answer
    this._callbackCount = 0;
    this._lastCallback = 0;    // ids are 1, 2, 3 ... for the life of this object
    this._oldestCallback = 1;  // no pending id is smaller
    this._timer = null;        // next step: connect timeout, backoff, resume attempt
    this._deadline = null;     // resumeTimeout
    this._resetLedgers();
  }
  Socket.prototype = new Emitter();
  Socket.prototype.constructor = Socket;

  // ------------------------------------------------------------ public API

  Socket.prototype.connect = function () {
    if (this._state !== 'idle' && this._state !== 'closed') return this;
    if (this._state === 'closed') this._dropCallbacks();   // a new session: no answer can come
    var names = this.options.transports, candidates = [];
    for (var i = 0; i < names.length; i++) {
      var T = io.transports[names[i]];
      if (T && T.check(this)) candidates.push(names[i]);
    }
    if (!candidates.length) throw new Error('no usable transport among: ' + names.join(', '));
    this._candidates = candidates;
    this._working = candidates[0];
    this._renewing = false;
    this._lastBeat = this._beatGap = null;
    this._state = 'opening';
    this._watchPage(true);
    this._round(0, 0);
    return this;
  };

  Socket.prototype.send = function (message, annotations) {
    if (isBinary(message) && !hasKeys(annotations)) {
      this._outbox.push({ binary: toArrayBuffer(message) });
    } else {
      this._outbox.push(encodeMessage(message, annotations));
    }
    this._flush();
    return this;
  };

  Socket.prototype.disconnect = function () {
    if (this._state === 'idle' || this._state === 'closed') return this;
    var was = this.connected;
    this._restore = false;
    this._watchPage(false);
    this._leave(false);
    if (was) this._fire('disconnect');
    return this;
  };

  // A named event (§8): emit(name, args..., [callback]). The arguments go
  // as a JSON array under `e:<name>` and `j`; a last argument that is a
  // function is called with the receiver's answer (`c:<id>`, answered by
  // `ca:<id>`). The client's own events cannot be emitted.
  Socket.prototype.emit = function (name) {
    this._emit(name, [].slice.call(arguments, 1), null);
    return this;
  };

  Socket.prototype.realm = function (name) {
    name = String(name);
    return hasOwn.call(this._realms, name) ? this._realms[name]
      : (this._realms[name] = new Realm(this, name));
  };

  // Names that belong to the libraries, with the call that does that job:
  // the events this client fires (and those of the 2010 client), and the
  // server's own, which it never takes for an event either.
  var BUILT_IN = {
    connect: 'use socket.connect()',
    connecting: 'use socket.connect()',
    message: 'use socket.send(message)',
    disconnect: 'use socket.disconnect()',
    reconnect: 'the client fires it when it opens a new session',
    error: 'it is reserved for the libraries',
    connect_failed: 'the client fires it',
    connection: 'the server fires it',
    clientConnect: 'the server fires it',
    clientMessage: 'use socket.send(message)',
    clientDisconnect: 'use socket.disconnect()',
    close: 'the server fires it'
  };
  var MAX_CALLBACKS = 1000;

  function isBuiltIn(name) {
    return hasOwn.call(BUILT_IN, name);
  }

  Socket.prototype._emit = function (name, args, realm) {
    if (typeof name !== 'string' || !name || name.indexOf('\n') >= 0) {
      throw new TypeError('an event name must be a non-empty string without a newline');
    }
    if (isBuiltIn(name)) throw new Error("'" + name + "' is a built-in event: " + BUILT_IN[name]);
    var annotations = { e: name }, callback = null;
    if (args.length && typeof args[args.length - 1] === 'function') callback = args.pop();
    for (var i = 0; i < args.length; i++) {
      if (isBinary(args[i])) throw new TypeError('an event argument cannot be binary: use send()');
    }
    var text = JSON.stringify(args);   // throws (a cycle) before anything is kept
    if (callback) annotations.c = this._keepCallback(callback);
    if (realm !== null) annotations.r = realm;
    annotations.j = null;
    this._outbox.push(encodeFrame('1', encodeBody(text, annotations)));
    this._flush();
  };

  Socket.prototype._keepCallback = function (fn) {
    var id = ++this._lastCallback, callbacks = this._callbacks;
    if (this._callbackCount >= MAX_CALLBACKS) {
      while (!hasOwn.call(callbacks, this._oldestCallback)) this._oldestCallback++;
      delete callbacks[this._oldestCallback];
      this._callbackCount--;
      warn('more than ' + MAX_CALLBACKS + ' emit callbacks wait for an answer: the oldest (' +
           this._oldestCallback + ') is dropped');
    }
    callbacks[id] = fn;
    this._callbackCount++;
    return String(id);
  };

  // A new session: the answers to what the old one carried can never come.
  // The emits still in the outbox go in the new session; their callbacks stay.
  Socket.prototype._dropCallbacks = function () {
    var keep = {}, count = 0, match;
    for (var i = 0; i < this._outbox.length; i++) {
      var item = this._outbox[i];
      match = typeof item === 'string' && /^1:[0-9]+:e:[^\n]*\nc:([0-9]+)\n/.exec(item);
      if (match && hasOwn.call(this._callbacks, match[1])) {
        keep[match[1]] = this._callbacks[match[1]];
        count++;
      }
    }
    this._callbacks = keep;
    this._callbackCount = count;
  };

  function hasKeys(object) {
    for (var key in object) if (hasOwn.call(object, key)) return true;
    return false;
  }

  // socket.realm(name): sends annotated r:<name>; sees only r:<name> (§7).
  function Realm(socket, name) {
    this.socket = socket;
    this.name = name;
  }
  Realm.prototype = new Emitter();
  Realm.prototype.send = function (message, annotations) {
    var all = { r: this.name };
    for (var key in annotations) if (hasOwn.call(annotations, key) && key !== 'r') all[key] = annotations[key];
    this.socket.send(message, all);
    return this;
  };
  // realm.emit(name, args..., [callback]): a named event annotated r:<name>.
  Realm.prototype.emit = function (name) {
    this.socket._emit(name, [].slice.call(arguments, 1), this.name);
    return this;
  };

  // ----------------------------------------------------------- URLs, HTTP

  Socket.prototype._base = function (websocket) {
    var o = this.options;
    var scheme = websocket ? (o.secure ? 'wss' : 'ws') : (o.secure ? 'https' : 'http');
    return scheme + '://' + o.host + (o.port ? ':' + o.port : '') + '/' + o.resource + '/';
  };

  Socket.prototype._credentials = function () {
    return this.options.withCredentials && this._crossOrigin();
  };

  Socket.prototype._crossOrigin = function () {
    if (typeof document === 'undefined' || !document.location) return true;
    var page = document.location.protocol + '//' + document.location.host + '/';
    return this._base(false).indexOf(page) !== 0;
  };

  // XHR; calls back once with the status (0 for a network error or timeout).
  Socket.prototype._request = function (method, url, body, timeout, callback) {
    var xhr = new XMLHttpRequest(), called = false;
    function finish(status) { if (!called) { called = true; callback(status); } }
    xhr.open(method, url, true);
    if (this._credentials()) xhr.withCredentials = true;
    if (timeout) xhr.timeout = timeout;
    // The one content type a cross-origin POST may use without a preflight.
    if (body !== null) xhr.setRequestHeader('Content-Type', 'application/x-www-form-urlencoded');
    xhr.onload = function () { finish(xhr.status); };
    xhr.onerror = xhr.ontimeout = xhr.onabort = function () { finish(0); };
    xhr.send(body);
  };

  // ------------------------------------------------- opening and fallback

  // One round tries every candidate once, from `start` on, wrapping around.
  Socket.prototype._round = function (start, attempt) {
    this._start = start;
    this._tried = 0;
    this._roundAttempt = attempt;
    this._tryNext();
  };

  Socket.prototype._tryNext = function () {
    var self = this, n = this._candidates.length;
    this._clearTimers();
    if (this._tried >= n) {   // every transport failed: the server may be down
      this._timer = setTimeout(function () {
        self._round(self._start, self._roundAttempt + 1);
      }, backoff(this._roundAttempt));
      return;
    }
    var name = this._candidates[(this._start + this._tried++) % n];
    // connectTimeout counts from the open itself, which may wait for the page's load
    this._open(name, '', function (t) {
      self._timer = setTimeout(function () {   // no 3: frame in time: next transport
        if (self._transport === t && self._state === 'opening') self._lost(t, false);
      }, self.options.connectTimeout);
    });
  };

  // A transport that loads into the page (an iframe, <script> polls) opens
  // only after the page's load event, as the 2010 client did: opened
  // earlier it would hold that event back, and the browser would show the
  // page loading for as long as the stream or the poll lasts.
  Socket.prototype._open = function (name, sid, opened) {
    var self = this, t = new io.transports[name](this, sid), ready = t.ready;
    this._transport = t;
    this._fresh = true;
    this._got.expect = 0;
    function start() {
      if (self._transport !== t || t.closed) return;   // given up meanwhile
      t.ready = ready;
      try { t.open(); } catch (error) {
        warn(name + ' failed to open:', error.message);
        setTimeout(function () { self._lost(t, false); }, 0);
      }
      if (opened && self._transport === t) opened(t);
    }
    if (t.afterLoad && pageLoading()) {
      t.ready = false;   // nothing goes out through it before it opens
      afterPageLoad(start);
    } else {
      start();
    }
    return t;
  };

  Socket.prototype._connected = function (t, sid) {
    this._clearTimers();
    this.sessionid = t.sid = sid;
    t.ready = true;
    this.transport = this._working = t.name;
    this.connected = true;
    this._state = 'open';
    var renewed = this._renewing;
    this._renewing = false;
    this._fire('connect');
    if (renewed) this._fire('reconnect', this._lostInfo || { unacknowledged: 0, received: 0 });
    this._flush();
  };

  // ------------------------------------------------------ what arrives

  Socket.prototype._frames = function (t, frames) {
    for (var i = 0; i < frames.length; i++) {
      if (t !== this._transport) return;   // a 0:0: or a handler closed it meanwhile
      var frame = frames[i], opening = this._opening;
      this._opening = false;
      if (frame.type === '3') {
        this._opening = true;
        // 4:1:0, right after it (same payload) means the server agreed to
        // acks (§9): known before 'connect' fires, so the first sends count
        var next = frames[i + 1];
        if (this._state === 'opening' && next && next.type === '4' && this.options.acks) this.acks = true;
        if (this._state === 'opening') this._connected(t, frame.data);
      } else if (frame.type === '4') {
        if (opening && this.options.acks) this.acks = true;   // the server agreed
        else if (this.acks) this._acked(frame.data);
      } else if (frame.type === '5') {
        if (this.acks && !this._sequence(frame.data)) { this._lost(t, false); return; }
      } else if (frame.type === '2') {
        this._heartbeat(frame.data);
        this._echo(t, encodeFrame('2', frame.data));
      } else if (frame.type === '0') {   // the server ended the session: no resume
        this._restore = false;
        this._watchPage(false);
        this._leave(true);
        this._fire('disconnect');
      } else if (frame.type === '1' && this._live()) {
        if (this.acks && !this._accept()) continue;   // a duplicate
        var body;
        try { body = decodeBody(frame.data); } catch (error) {
          warn('message dropped:', error.message);
          continue;
        }
        this._deliver(body.message, body.annotations);
      }
    }
    this._ackRule(t);
  };

  // ------------------------------------------------- acks (§9)

  Socket.prototype._resetLedgers = function () {
    this.acks = false;                               // the server agreed
    this._sent = { acked: 0, items: [] };            // ours, written, not acknowledged
    this._got = { count: 0, told: 0, expect: 0 };    // theirs: delivered, acknowledged, next
    this._fresh = true;                              // the link carried none of ours yet
    this._ackDue = false;
    clearTimeout(this._ackTimer);
    this._ackTimer = null;
  };

  Socket.prototype._query = function (opening) {
    if (opening) return this.options.acks ? 'acks=1' : '';
    return this.acks ? 'a=' + this._got.count : '';
  };

  Socket.prototype._newConnection = function () { this._got.expect = 0; };

  function isMessage(item) {
    return typeof item !== 'string' || (item.charAt(0) === '1' && item.charAt(1) === ':');
  }

  function count(text) {
    return /^[0-9]{1,12}$/.test(text) ? parseInt(text, 10) : -1;
  }

  Socket.prototype._acked = function (data) {
    var n = count(data), sent = this._sent;
    if (n < 0 || n > sent.acked + sent.items.length) { warn('bad acknowledgement ' + data); return; }
    if (n > sent.acked) {
      sent.items.splice(0, n - sent.acked);
      sent.acked = n;
    }
  };

  Socket.prototype._sequence = function (data) {
    var n = count(data), got = this._got;
    if (n < 1 || n > got.count + 1) { warn('sequence gap at ' + data); return false; }
    got.expect = n;
    return true;
  };

  Socket.prototype._accept = function () {
    var got = this._got, number = got.expect || got.count + 1;
    got.expect = number + 1;
    if (number <= got.count) return false;
    got.count = number;
    return true;
  };

  // Polls acknowledge with a= on the next GET; streams and the WebSocket
  // with a 4: frame after 16 messages or 0.2 s, whichever comes first.
  var ACK_EVERY = 16, ACK_DELAY = 200;
  Socket.prototype._ackRule = function (t) {
    var self = this, got = this._got;
    if (!this.acks || got.count === got.told || t.polls) return;
    if (got.count - got.told >= ACK_EVERY) { this._sendAck(); return; }
    if (!this._ackTimer) {
      this._ackTimer = setTimeout(function () { self._ackTimer = null; self._sendAck(); }, ACK_DELAY);
    }
  };

  Socket.prototype._sendAck = function () {
    if (this._got.count === this._got.told) return;
    this._ackDue = true;
    this._flush(true);
  };

  Socket.prototype._binary = function (t, buffer) {
    if (t === this._transport && this._live() && (!this.acks || this._accept())) this._deliver(buffer, {});
  };

  Socket.prototype._deliver = function (message, annotations) {
    if (this._event(message, annotations)) return;
    this._fire('message', message, annotations);
    var realm = annotations.r;
    if (realm != null && hasOwn.call(this._realms, realm)) {
      this._realms[realm]._fire('message', message, annotations);
    }
  };

  function isArray(value) {
    return Object.prototype.toString.call(value) === '[object Array]';
  }

  // A callback id: 1 to 12 decimal digits, written without leading zeros.
  function callbackId(value) {
    return typeof value === 'string' && /^[0-9]{1,12}$/.test(value) && +value > 0 ? String(+value) : null;
  }

  // A named event or the answer to one of ours (§8): true when handled. An
  // event whose name is built-in is an ordinary message, never fired as one.
  // As the server reads them: the arguments are the JSON array under `j`; any
  // other body is the one argument; an answer needs a decimal id.
  Socket.prototype._event = function (message, annotations) {
    var name = annotations.e, args = isArray(message) ? message : [message];
    if (typeof name === 'string' && name) {
      if (isBuiltIn(name)) return false;
      var realm = annotations.r, target = this;
      if (realm != null) target = hasOwn.call(this._realms, realm) ? this._realms[realm] : null;
      var handlers = target && target._handlers && target._handlers[name];
      this._handle(target, handlers ? handlers.slice() : [], args, callbackId(annotations.c));
      return true;
    }
    var id = callbackId(annotations.ca);
    if (id === null) return false;
    if (hasOwn.call(this._callbacks, id)) {
      var fn = this._callbacks[id];
      delete this._callbacks[id];
      this._callbackCount--;
      try { fn.apply(null, args); } catch (error) {
        setTimeout(function () { throw error; }, 0);   // as a throwing event handler
      }
    }
    return true;   // an unknown id is ignored
  };

  // Every handler runs; the first value one returns (not undefined) is the
  // answer, [value], or [] when none does: a caller's callback always hears
  // back. A promise answers once it settles. Errors go to console.error.
  Socket.prototype._handle = function (target, handlers, args, id) {
    var answer, answered = false;
    for (var i = 0; i < handlers.length; i++) {
      try {
        var value = handlers[i].apply(target, args);
        if (!answered && value !== undefined) { answer = value; answered = true; }
      } catch (error) {
        logError('event handler failed:', error);
      }
    }
    if (id == null) return;
    var self = this;
    if (answered && answer !== null && typeof answer === 'object' && typeof answer.then === 'function') {
      answer.then(function (value) { self._answer(id, value === undefined ? [] : [value]); },
                  function (error) { logError('event handler failed:', error); self._answer(id, []); });
    } else {
      this._answer(id, answered ? [answer] : []);
    }
  };

  Socket.prototype._answer = function (id, results) {
    var text;
    try { text = JSON.stringify(results); } catch (error) {
      logError('event answer cannot be sent as JSON:', error);
      text = '[]';
    }
    this._outbox.push(encodeFrame('1', encodeBody(text, { ca: id, j: null })));
    this._flush();
  };

  // Heartbeats (§5) go back unchanged on the path they came by: a WebSocket
  // answers at once; an HTTP transport puts the echo first in the next POST.
  Socket.prototype._echo = function (t, frame) {
    if (t.sync) {
      if (!t.write([frame])) this._lost(t, false);
    } else {
      this._outbox.unshift(frame);
      this._flush();
    }
  };

  // The server's heartbeat interval, learnt from the numbers (1, 2, 3 … per
  // session) and arrival times: watchdogs of blind streams need it.
  Socket.prototype._heartbeat = function (data) {
    var n = parseInt(data, 10), t = now(), last = this._lastBeat;
    if (isNaN(n)) return;
    if (last && n > last.n) this._beatGap = (t - last.t) / (n - last.n);
    this._lastBeat = { n: n, t: t };
  };

  Socket.prototype._live = function () {
    return this._state === 'open' || this._state === 'resuming';
  };

  // ------------------------------------------------------------ sending

  Socket.prototype._flush = function () {
    var self = this, t = this._transport, sent = this._sent;
    var resend = this.acks && sent.items.length && (this._fresh || !t || !t.sync);
    if (!t || !t.ready || this._busy || !this._live() ||
        !(this._outbox.length || this._ackDue || resend)) return;
    var fresh = this._outbox;
    this._outbox = [];
    var items = fresh, acking = false;
    if (this.acks) {
      // numbered (§9): on a new link, and in every POST, all that is not
      // acknowledged yet goes again after a 5: frame; an ack of what we have
      // goes first when one is due (made now: it is never older than an a=).
      var head = [], numbered = false, i;
      acking = this._ackDue;
      if (acking) {
        head.push(encodeFrame('4', String(this._got.count)));
        this._got.told = this._got.count;
        this._ackDue = false;
      }
      var controls = [], messages = [];
      for (i = 0; i < fresh.length; i++) (isMessage(fresh[i]) ? messages : controls).push(fresh[i]);
      head = head.concat(controls);
      if (this._fresh || !t.sync) {
        if (sent.items.length || messages.length) head.push(encodeFrame('5', String(sent.acked + 1)));
        head = head.concat(sent.items);
        numbered = true;
      }
      for (i = 0; i < messages.length; i++) sent.items.push(messages[i]);
      items = head.concat(messages);
      fresh = controls;   // what goes back to the outbox if this fails: the rest is in sent
      if (t.sync && numbered && (sent.items.length || messages.length)) this._fresh = false;
    }
    if (t.sync) {
      if (!t.write(items)) {
        if (this.acks) { this._outbox = fresh.concat(this._outbox); this._fresh = true; }
        else this._outbox = items.concat(this._outbox);
        this._lost(t, false);
      }
      return;
    }
    this._busy = true;
    var posted = sent.items.length, epoch = sent;
    t.write(items, function (ok, gone) {
      if (ok && self.acks && self._sent === epoch) {   // the 200 acknowledges the whole POST
        sent.acked += posted;
        sent.items.splice(0, posted);
      }
      if (!ok && self.acks && self._sent === epoch) {
        items = fresh;   // the numbered ones stay in sent
        if (acking) self._ackDue = true;
      }
      self._busy = false;
      if (self._final) {   // disconnect() waited for this POST to keep the order
        var last = self._final;
        self._final = null;
        last.t.write((ok ? [] : items).concat(last.items), noop);
        return;
      }
      if (!ok) self._outbox = items.concat(self._outbox);   // nothing lost: it goes again
      // Sent, or failed for a session already left behind: carry on.
      if (ok || !self._live() || t.sid !== self.sessionid) { self._flush(); return; }
      if (self._transport === t) self._lost(t, gone);
      else if (gone) self._renew();
      else setTimeout(function () { self._flush(); }, backoff(0));
    });
  };

  // ------------------------------------------------ losing and resuming

  // A stream that had answered ended, as the server ends them after
  // stream_limit bytes: reopen the same session at once. Not a loss.
  Socket.prototype._ended = function (t) {
    if (t !== this._transport) return;
    if (!this._live()) { this._lost(t, false); return; }   // ended before its 3: frame
    this._open(t.name, this.sessionid);
  };

  Socket.prototype._alive = function (t) {
    if (t !== this._transport || this._state !== 'resuming') return;
    this._state = 'open';
    this._clearTimers();
    this._flush();
  };

  Socket.prototype._lost = function (t, gone) {
    if (t !== this._transport) return;
    t.close();
    this._transport = null;
    if (this._state === 'opening') { this._tryNext(); return; }
    if (!this._live()) return;
    if (gone) this._renew(); else this._resume();
  };

  // Reopen the same sid on the same transport with backoff, until it
  // answers, or the server says the session is gone, or resumeTimeout passes.
  Socket.prototype._resume = function () {
    var self = this, name = this._working, sid = this.sessionid;
    if (this._state !== 'resuming') {
      this._state = 'resuming';
      this._resumeAttempt = 0;
      this._deadline = setTimeout(function () {
        self._deadline = null;
        if (self._state === 'resuming' && self.sessionid === sid) self._renew();
      }, this.options.resumeTimeout);
    }
    if (io.transports[name].prototype.blind) this._probe(name, sid);
    clearTimeout(this._timer);
    this._timer = setTimeout(function () {
      self._timer = null;
      if (self._state === 'resuming' && !self._transport) self._open(name, sid);
    }, backoff(this._resumeAttempt++));
  };

  // EventSource, iframes and scripts hide the status of a failed request.
  // An empty POST (a valid empty payload) asks the server: 404 = gone.
  Socket.prototype._probe = function (name, sid) {
    var self = this;
    this._request('POST', this._base(false) + name + '/' + sid + '/send', 'data=', POST_TIMEOUT,
      function (status) {
        if (status === 404 && self._state === 'resuming' && self.sessionid === sid) self._renew();
      });
  };

  // The session is gone: a new one, starting from the transport that worked.
  Socket.prototype._renew = function () {
    this._clearTimers();
    if (this._transport) { this._transport.close(); this._transport = null; }
    // what the old session may have lost: ours never acknowledged, theirs we had
    this._lostInfo = { unacknowledged: this._sent.items.length, received: this._got.count };
    this._resetLedgers();
    this._dropCallbacks();
    this.sessionid = null;
    this.connected = false;
    this._renewing = true;
    this._lastBeat = this._beatGap = null;
    this._state = 'opening';
    var kept = [];   // echoes of the old session's heartbeats mean nothing now
    for (var i = 0; i < this._outbox.length; i++) {
      var item = this._outbox[i];
      if (typeof item !== 'string' || (item.charAt(0) !== '2' && item.charAt(0) !== '4')) kept.push(item);
    }
    this._outbox = kept;
    var start = 0;
    for (var j = 0; j < this._candidates.length; j++) if (this._candidates[j] === this._working) start = j;
    this._round(start, 0);
  };

  Socket.prototype._clearTimers = function () {
    clearTimeout(this._timer);
    clearTimeout(this._deadline);
    this._timer = this._deadline = null;
  };

  // ------------------------------------------------------------ leaving

  // Ends the socket. Unless the server already did (fromServer), tells it
  // with 0:0:, after whatever is still queued: on the WebSocket itself, else
  // by POST (waiting for one in flight, to keep the order), or by beacon
  // when the page is going away.
  Socket.prototype._leave = function (fromServer, beacon) {
    var t = this._transport, sid = this.sessionid, live = this._live();
    this._clearTimers();
    this._state = 'closed';
    this.connected = false;
    this._transport = null;
    if (fromServer || !live || !sid) { if (t) t.close(); return; }
    var items = this._outbox.concat([DISCONNECT_FRAME]);
    this._outbox = [];
    if (t && t.sync) {
      var written = t.write(items);
      t.close();
      if (written) return;
    } else if (t) {
      t.close();   // stops receiving; its send path still works
    }
    var name = this._working;
    if (io.transports[name].prototype.sync) return;   // the WebSocket is down: the server will time out
    if (beacon) { this._beacon(name, sid, items); return; }
    var poster = t || new io.transports[name](this, sid);
    if (this._busy) this._final = { t: poster, items: items };
    else poster.write(items, noop);
  };

  Socket.prototype._beacon = function (name, sid, items) {
    var payload = packItems(items, false)[0];
    var field = name === 'jsonp-polling' ? 'd' : 'data';
    var value = field === 'd' ? JSON.stringify(payload) : payload;
    var url = this._base(false) + name + '/' + sid + '/send';
    var sent = false;
    if (typeof navigator !== 'undefined' && navigator.sendBeacon && typeof URLSearchParams !== 'undefined') {
      var body = new URLSearchParams();
      body.append(field, value);
      try { sent = navigator.sendBeacon(url, body); } catch (e) { sent = false; }
    }
    if (!sent) this._request('POST', url, formField(field, value), 0, noop);
  };

  // pagehide: say goodbye (§8). A page restored from the back-forward cache
  // (pageshow with persisted) connects again, as a new session.
  Socket.prototype._watchPage = function (on) {
    if (typeof root.addEventListener !== 'function') return;
    var self = this;
    if (on && !this._onPageHide) {
      this._onPageHide = function () {
        if (!self._live()) return;
        var was = self.connected;
        self._restore = true;   // keeps these listeners for pageshow
        self._leave(false, true);
        if (was) self._fire('disconnect');
      };
      this._onPageShow = function (event) {
        if (event.persisted && self._restore) { self._restore = false; self.connect(); }
      };
      root.addEventListener('pagehide', this._onPageHide, false);
      root.addEventListener('pageshow', this._onPageShow, false);
    } else if (!on && this._onPageHide) {
      root.removeEventListener('pagehide', this._onPageHide, false);
      root.removeEventListener('pageshow', this._onPageShow, false);
      this._onPageHide = this._onPageShow = null;
    }
  };

  // ================================================= 8. export

  io.Socket = Socket;
  io.Realm = Realm;
  io.EventEmitter = Emitter;
  io.connect = function (host, options) { return new Socket(host, options).connect(); };
  io._internal = {
    encodeFrame: encodeFrame, readFrame: readFrame, Decoder: Decoder, decodePayload: decodePayload,
    encodeBody: encodeBody, encodeMessage: encodeMessage, splitBody: splitBody, decodeBody: decodeBody,
    encodeBase64: encodeBase64, decodeBase64: decodeBase64, MultipartParser: MultipartParser,
    packItems: packItems, formField: formField, backoff: backoff, defineTransport: defineTransport, DEFAULT_TRANSPORTS: DEFAULT_TRANSPORTS
  };

  if (typeof module !== 'undefined' && module.exports) module.exports = io;
  if (typeof window !== 'undefined') window.io = io;
})(typeof window !== 'undefined' ? window : (typeof globalThis !== 'undefined' ? globalThis : this));
