"""The README's code does what the README says it does."""
from __future__ import annotations

import os
import re
from typing import Any, Dict, List

import gevent

from socketio_gevent.client import SocketClient
from socketio_gevent.client.http import HTTPConnection

README = os.path.join(os.path.dirname(__file__), "..", "..", "README.rst")


def python_blocks(after_heading: str) -> List[str]:
    """The ``.. code-block:: python`` blocks of one README section."""
    text = open(README, encoding="utf-8").read()
    section = text.split(after_heading + "\n", 1)[1]
    section = re.split(r"\n[^\n]+\n-{4,}\n", section, maxsplit=1)[0]
    blocks = []
    for block in re.findall(r"\.\. code-block:: python\n\n((?:    .*\n|\n)+)", section):
        blocks.append("\n".join(line[4:] for line in block.splitlines()))
    return blocks


def test_the_quick_start_echo_runs_as_written():
    (code,) = python_blocks("Quick start: an echo")
    assert "server.serve_forever()" in code and '("127.0.0.1", 8080)' in code
    code = code.replace("server.serve_forever()", "server.start()").replace('("127.0.0.1", 8080)', '("127.0.0.1", 0)')
    scope: Dict[str, Any] = {"__name__": "__main__"}
    exec(compile(code, "README quick start", "exec"), scope)
    server, listener = scope["server"], scope["listener"]
    try:
        url = "http://127.0.0.1:%d" % server.server_port
        client = SocketClient(url, transport="websocket").connect()
        client.send("hello")
        assert client.receive(timeout=5) == ("echo: hello", {})  # what the README prints
        client.disconnect()
        page = HTTPConnection("127.0.0.1", server.server_port, timeout=5).request("GET", "/")
        assert page.status == 200 and b'<script src="/socket.io/socket.io.js">' in page.body
    finally:
        listener.close()
        server.stop(timeout=1)
        gevent.sleep(0)


def test_the_testing_example_runs_as_written():
    (code,) = python_blocks("Testing your handlers")
    exec(compile(code, "README testing example", "exec"), {})
