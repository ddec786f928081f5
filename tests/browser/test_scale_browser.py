"""The bundled client in headless Chromium through gunicorn -w 4 --reuse-port on one Redis:
connections land on any worker, two pages exchange messages on every transport."""
from __future__ import annotations

import pytest

from ..scale.conftest import gunicorn, redis_server  # noqa: F401 (the fixtures, shared)

TRANSPORTS = ["websocket", "server-events", "htmlfile", "xhr-multipart", "xhr-polling", "jsonp-polling"]
TIMEOUT = 20000
COUNT = 30

SETUP = """
([transport, port]) => {
  window.log = [];
  const sock = window.sock = new io.Socket('127.0.0.1', {port: port, transports: [transport], connectTimeout: 5000});
  sock.on('connect', () => log.push(['connect', sock.transport, sock.sessionid]));
  sock.on('message', (m) => log.push(['message', m]));
  sock.connect();
}
"""


@pytest.fixture
def four(gunicorn, redis_server):  # noqa: F811 (pytest's fixture arguments)
    return gunicorn(redis_server.url, workers=4, extra=["--reuse-port"])


def got(page):  # type: ignore[no-untyped-def]
    return page.evaluate("() => log.filter(e => e[0] === 'message').map(e => e[1])")


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_two_pages_talk_through_four_workers(context, four, transport):
    pages = []
    for _ in range(2):
        page = context.new_page()
        page.goto("http://127.0.0.1:%d/page.html" % four.port)
        page.evaluate(SETUP, [transport, four.port])
        page.wait_for_function("() => log.some(e => e[0] === 'connect')", timeout=TIMEOUT)
        assert page.evaluate("() => sock.transport") == transport
        pages.append(page)
    first, second = pages
    first.evaluate("(n) => { for (let i = 0; i < n; i++) sock.send('bcast:from first ' + i); }", COUNT)
    second.evaluate("(n) => { for (let i = 0; i < n; i++) sock.send('n:' + i); }", COUNT)
    for page in pages:
        page.wait_for_function("(n) => log.filter(e => e[0] === 'message' && String(e[1]).startsWith('from first'))"
                               ".length >= n", arg=COUNT, timeout=TIMEOUT)
        assert [m for m in got(page) if str(m).startswith("from first")] == ["from first %d" % i
                                                                            for i in range(COUNT)]
    second.wait_for_function("(n) => log.filter(e => e[0] === 'message' && String(e[1]).startsWith('echo:n:'))"
                             ".length >= n", arg=COUNT, timeout=TIMEOUT)
    assert [m for m in got(second) if str(m).startswith("echo:n:")] == ["echo:n:%d" % i for i in range(COUNT)]
    for page in pages:
        page.close()
