"""Named events with acknowledgements between the page and the server (docs/protocol.rst §8),
and the transports that wait for the page's load event, in headless Chromium."""
from __future__ import annotations

import json
import time

import pytest

from .conftest import AppServer, open_page

TIMEOUT = 15000
EVENT_TRANSPORTS = ["websocket", "xhr-polling", "server-events", "htmlfile", "xhr-multipart", "jsonp-polling"]

SETUP = """
([transports, port]) => {
  window.log = [];
  window.got = [];
  const sock = window.sock = new io.Socket('127.0.0.1', {port: port, connectTimeout: 4000, transports: transports});
  sock.on('connect', () => log.push(['connect', sock.transport, sock.sessionid]));
  sock.on('message', (m, a) => log.push(['message', m, a || {}]));
  sock.on('double', (x) => { got.push(['double', x]); return x * 2; });
  sock.on('boom', () => { got.push(['boom']); throw new Error('page handler failed'); });
  sock.on('news', (...args) => { got.push(['news', args]); });
  sock.connect();
}
"""


def watch_console(page):  # type: ignore[no-untyped-def]
    """The page's console errors and uncaught exceptions, as they come."""
    errors: list = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append("pageerror: %s" % e))
    return errors


def start(page, server: AppServer, transport: str) -> str:  # type: ignore[no-untyped-def]
    page.evaluate(SETUP, [[transport], server.port])
    page.wait_for_function("() => log.some(e => e[0] === 'message' && e[1] === 'welcome')", timeout=TIMEOUT)
    used, sid = page.evaluate("() => [sock.transport, sock.sessionid]")
    assert used == transport
    return sid


def wait_got(page, count: int):  # type: ignore[no-untyped-def]
    page.wait_for_function("(n) => got.length >= n", arg=count, timeout=TIMEOUT)
    return page.evaluate("() => got")


def wait_answer(server: AppServer, key: str, timeout: float = TIMEOUT / 1000.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answers = server.control("answers")
        assert isinstance(answers, dict)
        if key in answers:
            return answers[key]
        time.sleep(0.05)
    raise AssertionError("no answer for %s within %.0f s" % (key, timeout))


def emit_to(server: AppServer, sid: str, name: str, args: str, key: str = "") -> None:
    from urllib.parse import quote

    query = dict(sid=sid, name=name, args=quote(args))
    if key:
        query["key"] = key
    assert server.control("emit", **query) is True


@pytest.mark.parametrize("transport", EVENT_TRANSPORTS)
def test_page_emits_with_a_callback_and_the_server_answers(context, app_server, transport):
    page = open_page(context, app_server)
    errors = watch_console(page)
    sid = start(page, app_server, transport)
    page.evaluate("""() => {
        sock.emit('note', 'x', 5);
        sock.emit('add', 1, 2, (sum) => got.push(['add', sum]));
        sock.emit('echo', 'é😀', {b: [1, null]}, (...args) => got.push(['echo', args]));
    }""")
    got = wait_got(page, 2)
    assert got == [["add", 3], ["echo", [["é😀", {"b": [1, None]}]]]]
    named = [e for e in app_server.control("events")["named"] if e["sid"] == sid]  # type: ignore[index]
    assert named == [{"sid": sid, "name": "note", "args": ["x", 5]}]
    # events are not messages, on either side
    assert [m for m in app_server.control("events")["messages"] if m["sid"] == sid] == []  # type: ignore[index]
    assert page.evaluate("() => log.filter(e => e[0] === 'message').length") == 1
    assert page.evaluate("() => Object.keys(sock._callbacks).length") == 0
    assert errors == []
    page.close()


@pytest.mark.parametrize("transport", EVENT_TRANSPORTS)
def test_server_emits_with_a_callback_and_the_page_handler_answers(context, app_server, transport):
    page = open_page(context, app_server)
    errors = watch_console(page)
    sid = start(page, app_server, transport)
    key = "double-" + transport
    emit_to(app_server, sid, "news", '["hi", {"n": 1}]')
    emit_to(app_server, sid, "double", "[21]", key=key)
    assert wait_answer(app_server, key) == [42]
    assert wait_got(page, 2) == [["news", ["hi", {"n": 1}]], ["double", 21]]
    assert page.evaluate("() => log.filter(e => e[0] === 'message').length") == 1
    assert errors == []
    page.close()


@pytest.mark.parametrize("transport", ["websocket", "xhr-polling", "jsonp-polling"])
def test_a_page_handler_that_throws_still_answers_empty(context, app_server, transport):
    page = open_page(context, app_server)
    errors = watch_console(page)
    sid = start(page, app_server, transport)
    key = "boom-" + transport
    emit_to(app_server, sid, "boom", "[]", key=key)
    assert wait_answer(app_server, key) == []
    assert wait_got(page, 1) == [["boom"]]
    assert any("page handler failed" in e for e in errors), errors
    # the socket goes on: the next event is answered too
    emit_to(app_server, sid, "double", "[2]", key=key + "-after")
    assert wait_answer(app_server, key + "-after") == [4]
    page.close()


@pytest.mark.parametrize("transport", ["websocket", "xhr-polling"])
def test_listener_emit_reaches_every_page(context, app_server, transport):
    first, second = open_page(context, app_server), open_page(context, app_server)
    start(first, app_server, transport)
    start(second, app_server, transport)
    assert app_server.control("emit_all", name="news", args="%5B%22all%22%5D") is True
    for page in (first, second):
        assert ["news", ["all"]] in wait_got(page, 1)
    first.close()
    second.close()


def test_built_in_names_cannot_be_emitted(context, app_server):
    page = open_page(context, app_server)
    start(page, app_server, "websocket")
    message = page.evaluate("() => { try { sock.emit('message', 'hi'); } catch (e) { return e.message; } }")
    assert message == "'message' is a built-in event: use socket.send(message)"
    page.close()


# ------------------------------------------------ waiting for the page's load


@pytest.mark.parametrize("transport", ["htmlfile", "jsonp-polling"])
def test_a_page_that_connects_while_loading_still_finishes_loading(context, app_server, transport):
    page = context.new_page()
    errors = watch_console(page)
    page.goto("%s/inline.html?transport=%s" % (app_server.url, transport), wait_until="commit")
    # the load event comes: the transport does not hold it back
    page.wait_for_function("() => document.readyState === 'complete' && loadedAt !== null", timeout=5000)
    assert page.evaluate("() => stateAtConnect") == "loading"
    page.wait_for_function("() => log.some(e => e[0] === 'message' && e[1] === 'welcome')", timeout=TIMEOUT)
    connect = page.evaluate("() => log[0]")
    assert connect == ["connect", transport, "complete"]
    page.evaluate("() => sock.send('after load')")
    page.wait_for_function("() => log.some(e => e[0] === 'message' && e[1] === 'after load')", timeout=TIMEOUT)
    assert errors == []
    page.close()


PY_CLIENT = r"""
import json, os, sys, gevent, gevent.event
from socketio_gevent.client import SocketClient
url, rendezvous = sys.argv[1], sys.argv[2]
client = SocketClient(url, transport="websocket")
client.on("double", lambda x: x * 2)
client.connect()
print(client.session_id, flush=True)
for _ in range(300):                       # the test writes the page's sid here
    if os.path.exists(rendezvous):
        break
    gevent.sleep(0.05)
page_sid = open(rendezvous).read().strip()
answer = gevent.event.AsyncResult()
client.emit("ask", page_sid, "double", 5, callback=lambda *got: answer.set(list(got)))
print(json.dumps(answer.get(timeout=10)), flush=True)
client.disconnect()
"""


@pytest.mark.parametrize("transport", ["websocket", "xhr-polling"])
def test_events_between_the_page_the_server_and_the_python_client(context, app_server, transport, tmp_path):
    """Page -> server -> Python client and back, and the other way round: each
    side's handler answers an event the other side emitted, through the server."""
    import subprocess
    import sys

    rendezvous = tmp_path / "page-sid"
    child = subprocess.Popen([sys.executable, "-c", PY_CLIENT, app_server.url, str(rendezvous)],
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        py_sid = child.stdout.readline().strip()
        assert py_sid
        page = open_page(context, app_server)
        errors = watch_console(page)
        page_sid = start(page, app_server, transport)
        answer = page.evaluate("""([sid]) => new Promise((done) =>
            sock.emit('ask', sid, 'double', 21, (...got) => done(got)))""", [py_sid])
        assert answer == [[42]]  # the Python client's handler, through the server's
        rendezvous.write_text(page_sid)
        assert json.loads(child.stdout.readline()) == [[10]]  # the page's handler, the other way
        assert wait_got(page, 1) == [["double", 5]]
        assert child.wait(timeout=10) == 0
        assert errors == []
    finally:
        child.kill()
