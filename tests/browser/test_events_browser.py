"""Named events with acknowledgements between the page and the server (docs/protocol.rst §8),
and the transports that wait for the page's load event, in headless Chromium."""
from __future__ import annotations

import pytest

TIMEOUT = 15000


def watch_console(page):  # type: ignore[no-untyped-def]
    """The page's console errors and uncaught exceptions, as they come."""
    errors: list = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append("pageerror: %s" % e))
    return errors


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
