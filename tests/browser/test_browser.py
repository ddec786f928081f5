"""Our browser client in headless Chromium, every transport forced (docs/protocol.rst §8)."""
from __future__ import annotations

import os

import pytest

from .conftest import ARTIFACTS, AppServer, open_page

TRANSPORTS = ["websocket", "server-events", "htmlfile", "xhr-multipart", "xhr-polling", "jsonp-polling"]
TIMEOUT = 15000

SETUP = """
([transports, port]) => {
  window.log = [];
  window.realmLog = [];
  const opts = {port: port, connectTimeout: 4000};
  if (transports) opts.transports = transports;
  const sock = window.sock = new io.Socket('127.0.0.1', opts);
  const show = (m) => m instanceof ArrayBuffer ? {bytes: Array.from(new Uint8Array(m))} : m;
  sock.on('connect', () => log.push(['connect', sock.transport, sock.sessionid]));
  sock.on('message', (m, a) => log.push(['message', show(m), a || {}]));
  sock.on('disconnect', () => log.push(['disconnect']));
  sock.on('reconnect', () => log.push(['reconnect', sock.sessionid]));
  window.chat = sock.realm('chat');
  chat.on('message', (m, a) => realmLog.push([show(m), a || {}]));
  sock.connect();
}
"""


def start(page, server: AppServer, transports=None):  # type: ignore[no-untyped-def]
    page.evaluate(SETUP, [transports, server.port])
    page.wait_for_function("() => log.some(e => e[0] === 'connect')", timeout=TIMEOUT)
    page.wait_for_function("() => log.some(e => e[0] === 'message' && e[1] === 'welcome')", timeout=TIMEOUT)
    return page.evaluate("() => [sock.transport, sock.sessionid]")


def messages(page):  # type: ignore[no-untyped-def]
    return page.evaluate("() => log.filter(e => e[0] === 'message').map(e => [e[1], e[2]])")


def wait_messages(page, count: int):  # type: ignore[no-untyped-def]
    page.wait_for_function(
        "(n) => log.filter(e => e[0] === 'message').length >= n", arg=count, timeout=TIMEOUT
    )
    return messages(page)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_round_trip_text_json_binary_and_escaping(context, app_server, transport):
    page = open_page(context, app_server)
    used, sid = start(page, app_server, [transport])
    assert used == transport
    clients = {c["sid"]: c for c in app_server.control("clients")}
    assert clients[sid]["transport"] == transport
    page.evaluate("""() => {
        sock.send('hello 😀 </script><!-- \\u2028 --socketio\\n:,');
        sock.send({a: [1, 2.5, null, true], b: 'é'});
        sock.send(new Uint8Array([0, 1, 2, 255]).buffer);
        sock.send('annotated', {x: 'y', flag: null});
    }""")
    got = wait_messages(page, 5)
    assert got == [
        ["welcome", {}],
        ["hello 😀 </script><!-- \u2028 --socketio\n:,", {}],
        [{"a": [1, 2.5, None, True], "b": "é"}, {}],
        [{"bytes": [0, 1, 2, 255]}, {}],
        ["annotated", {"x": "y", "flag": None}],
    ]
    page.close()


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_broadcast_from_a_second_page(context, app_server, transport):
    first, second = open_page(context, app_server), open_page(context, app_server)
    start(first, app_server, [transport])
    start(second, app_server, [transport])
    first.evaluate("() => sock.send({cmd: 'broadcast', msg: 'hi all'})")
    assert wait_messages(second, 2)[-1] == ["hi all", {}]
    first.close()
    second.close()


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_realm_isolation(context, app_server, transport):
    page = open_page(context, app_server)
    start(page, app_server, [transport])
    page.evaluate("() => { chat.send('in the realm'); sock.send('outside'); }")
    got = wait_messages(page, 3)
    assert ["chat:in the realm", {"r": "chat"}] in got and ["outside", {}] in got
    assert page.evaluate("() => realmLog") == [["chat:in the realm", {"r": "chat"}]]
    page.close()


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_disconnect_is_seen_by_the_server(context, app_server, transport):
    page = open_page(context, app_server)
    _, sid = start(page, app_server, [transport])
    page.evaluate("() => sock.disconnect()")
    page.wait_for_function("() => log.some(e => e[0] === 'disconnect')", timeout=TIMEOUT)
    for _ in range(50):
        if sid in app_server.control("events")["disconnect"]:
            break
        page.wait_for_timeout(100)
    assert sid in app_server.control("events")["disconnect"]
    page.close()


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_server_side_cut_resumes_the_same_session_nothing_lost(context, app_server, transport):
    page = open_page(context, app_server)
    _, sid = start(page, app_server, [transport])
    assert app_server.control("cut", sid=sid) in (True, False)  # polling may hold no request now
    assert app_server.control("send", sid=sid, count=20, prefix="m") is True
    got = wait_messages(page, 21)
    page.wait_for_timeout(500)
    got = messages(page)
    assert [m for m, _ in got[1:]] == ["m%d" % i for i in range(20)]
    assert page.evaluate("() => sock.sessionid") == sid
    assert not page.evaluate("() => log.some(e => e[0] === 'reconnect')")
    page.close()


def test_fallback_when_websocket_is_disabled(context):
    server = AppServer("--transports", "server-events,htmlfile,xhr-multipart,xhr-polling,jsonp-polling")
    try:
        page = open_page(context, server)
        used, _ = start(page, server, None)  # the default order
        assert used == "server-events"
        page.close()
    finally:
        server.stop()


@pytest.mark.parametrize("transport", ["websocket", "xhr-polling"])
def test_server_restart_opens_a_new_session_and_emits_reconnect(context, transport):
    server = AppServer()
    try:
        page = open_page(context, server)
        _, sid = start(page, server, [transport])
        server.restart()
        page.wait_for_function("() => log.some(e => e[0] === 'reconnect')", timeout=30000)
        new_sid = page.evaluate("() => sock.sessionid")
        assert new_sid and new_sid != sid
        assert new_sid in {c["sid"] for c in server.control("clients")}
        page.close()
    finally:
        server.stop()


def test_example_chat_page_screenshot(context):
    server = AppServer("--example")
    try:
        page = open_page(context, server, "/")
        page.wait_for_selector("text=connected via websocket", timeout=TIMEOUT)
        page.fill("#nick", "alice")
        page.press("#nick", "Enter")
        page.fill("#say", "hello from the browser 😀")
        page.press("#say", "Enter")
        page.wait_for_selector("#messages >> text=hello from the browser", timeout=TIMEOUT)
        assert "alice" in page.inner_text("#online")
        os.makedirs(ARTIFACTS, exist_ok=True)
        path = os.path.join(ARTIFACTS, "chat.png")
        page.screenshot(path=path, full_page=True)
        assert os.path.getsize(path) > 1000
        page.close()
    finally:
        server.stop()


CHAOS = """
([transport, port, count]) => {
  window.numbers = [];
  window.renewed = [];
  const sock = window.chaos = new io.Socket('127.0.0.1', {port: port, transports: [transport], connectTimeout: 4000});
  sock.on('message', (m) => { if (typeof m === 'string' && /^[0-9]+$/.test(m)) numbers.push(+m); });
  sock.on('reconnect', (info) => renewed.push(info));
  sock.on('connect', () => {
    if (window.started) return;
    window.started = true;
    sock.send({cmd: 'stream', count: count, id: transport});
    let k = 0;
    const tick = () => { for (let i = 0; i < 2 && k < count; i++) sock.send('n:' + transport + ':' + (++k));
                         if (k < count) setTimeout(tick, 20); };
    tick();
  });
  sock.connect();
}
"""


@pytest.mark.parametrize("transport", ["websocket", "xhr-polling", "server-events"])
def test_the_browser_client_loses_nothing_through_a_cutting_proxy(context, transport):
    """500 numbered messages each way through a proxy that cuts connections
    at random (mean life 0.3 s) and splits and delays what it passes on:
    with the acks extension none is lost or duplicated (docs/protocol.rst §9)."""
    server = AppServer("--chaos")
    try:
        proxy = server.control("proxy")
        page = open_page(context, server)
        page.evaluate(CHAOS, [transport, proxy["port"], 500])
        page.wait_for_function("() => new Set(numbers).size >= 500", timeout=90000)
        for _ in range(300):
            if len(set(server.control("numbered", id=transport))) >= 500:
                break
            page.wait_for_timeout(200)
        down = page.evaluate("() => numbers")
        up = server.control("numbered", id=transport)
        cuts = server.control("proxy")["cuts"]
        assert page.evaluate("() => renewed") == []  # one session throughout
        assert sorted(set(down)) == list(range(1, 501)) and len(down) == 500, "server to browser"
        assert sorted(set(up)) == list(range(1, 501)) and len(up) == 500, "browser to server"
        assert down == sorted(down) and up == sorted(up)  # in order
        print("%s: %d cuts" % (transport, cuts))
        assert cuts >= 3, "the proxy hardly cut (%d): the test proves little" % cuts
        page.close()
    finally:
        server.stop()
