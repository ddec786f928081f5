"""Headless Chromium (Debian's, driven by Playwright) against app.py in a subprocess."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from typing import Iterator

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
ARTIFACTS = os.path.join(ROOT, "artifacts")
CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]


class AppServer:
    """tests/browser/app.py in its own process (gevent and Playwright must not share one)."""

    def __init__(self, *args: str, port: int = 0) -> None:
        self.args = list(args)
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "app.py"), "--port", str(port)] + self.args,
            stdout=subprocess.PIPE, text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert "listening on" in line, line
        self.port = int(line.strip().rsplit(":", 1)[1])
        self.url = "http://127.0.0.1:%d" % self.port

    def control(self, what: str, **query: object) -> object:
        qs = "&".join("%s=%s" % kv for kv in query.items())
        with urllib.request.urlopen("%s/control/%s?%s" % (self.url, what, qs), timeout=10) as r:
            return json.loads(r.read())

    def restart(self) -> None:
        """Stop and start again on the same port: every session is gone."""
        self.stop()
        self.__init__(*self.args, port=self.port)  # type: ignore[misc]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    assert os.path.exists(CHROMIUM), "the test command installs Debian's chromium (./run-tests)"
    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield instance
        instance.close()


@pytest.fixture
def context(browser):  # type: ignore[no-untyped-def]
    ctx = browser.new_context()
    yield ctx
    ctx.close()


@pytest.fixture(scope="module")
def app_server() -> Iterator[AppServer]:
    server = AppServer()
    yield server
    server.stop()


def open_page(context, server: AppServer, path: str = "/page.html"):  # type: ignore[no-untyped-def]
    page = context.new_page()
    page.goto(server.url + path)
    return page
