"""The example chat page (example/static/chat.html) in headless Chromium:
layout on a phone and a desktop, own messages, timestamps, rooms, and a
clean console and network log. Screenshots land in artifacts/."""
from __future__ import annotations

import os
import re
from datetime import datetime
from typing import Iterator, List

import pytest

from .conftest import ARTIFACTS, AppServer

TIMEOUT = 15000
PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 800}


@pytest.fixture(scope="module")
def chat_server() -> Iterator[AppServer]:
    server = AppServer("--example")  # example/chat.py's app and chat, as ./run-example serves them
    yield server
    server.stop()


class ChatPage:
    """One tab of the chat, with what went wrong in it (console errors, failed requests)."""

    def __init__(self, context, server: AppServer, query: str = "") -> None:  # type: ignore[no-untyped-def]
        self.page = page = context.new_page()
        self.problems: List[str] = []
        self.requested: List[str] = []
        page.on("console", lambda m: m.type in ("error", "warning") and self.problems.append(
            "console %s: %s" % (m.type, m.text)))
        page.on("pageerror", lambda e: self.problems.append("page error: %s" % e))
        page.on("request", lambda r: self.requested.append(r.url))
        page.on("requestfailed", lambda r: self.problems.append("failed: %s %s" % (r.url, r.failure)))
        page.on("response", lambda r: r.status >= 400 and self.problems.append("%d: %s" % (r.status, r.url)))
        page.goto(server.url + "/" + query)
        page.wait_for_selector("#state:text('connected via')", timeout=TIMEOUT)
        page.wait_for_selector("#messages .notice >> text=you are", timeout=TIMEOUT)

    @property
    def nick(self) -> str:
        return self.page.inner_text("#online li.me")

    def say(self, text: str) -> None:
        self.page.fill("#say", text)
        self.page.press("#say", "Enter")
        self.wait_for_message(text)

    def wait_for_message(self, text: str) -> None:
        self.page.wait_for_function(
            "(t) => [...document.querySelectorAll('#messages .msg .text')].some(e => e.textContent === t)",
            arg=text, timeout=TIMEOUT)

    def texts(self) -> List[str]:
        return self.page.eval_on_selector_all("#messages .msg .text", "els => els.map(e => e.textContent)")

    def go_to(self, room: str) -> None:
        self.page.click("#roomlist button[data-room='%s']" % room)
        self.page.wait_for_selector("#roomname:text-is('#%s')" % room, timeout=TIMEOUT)

    def check_clean(self) -> None:
        assert self.problems == []
        assert not [u for u in self.requested if "favicon" in u]  # the icon is inline: nothing to fetch

    def close(self) -> None:
        self.check_clean()
        self.page.close()  # (an open poll is cut here: not a problem of the page)


def shot(page, name: str) -> str:  # type: ignore[no-untyped-def]
    os.makedirs(ARTIFACTS, exist_ok=True)
    path = os.path.join(ARTIFACTS, name)
    page.screenshot(path=path, full_page=True)
    assert os.path.getsize(path) > 1000
    return path


def overflow(page) -> dict:  # type: ignore[no-untyped-def]
    """How wide the document is against the window, and what sticks out of it."""
    return page.evaluate("""() => {
      const root = document.documentElement, width = root.clientWidth;
      const out = [...document.querySelectorAll('header *, main *')].filter(e => {
        const r = e.getBoundingClientRect();
        return r.width && (r.left < -0.5 || r.right > width + 0.5);
      }).map(e => e.tagName + '#' + e.id + '.' + e.className);
      return {scrollWidth: root.scrollWidth, clientWidth: width, innerWidth: window.innerWidth, out: out};
    }""")


def on_screen(page, selector: str, width: int) -> None:  # type: ignore[no-untyped-def]
    box = page.locator(selector).bounding_box()
    assert box is not None and box["width"] > 0, selector
    assert box["x"] >= 0 and box["x"] + box["width"] <= width, (selector, box)


@pytest.mark.parametrize("width", [360, 390])
def test_no_sideways_scroll_on_a_phone(browser, chat_server, width):
    context = browser.new_context(viewport={"width": width, "height": 740})
    try:
        chat = ChatPage(context, chat_server)
        chat.say("a-long-word-that-would-push-the-page-wider-" * 4)
        chat.say("hello from a small screen 😀")
        chat.page.fill("#newroom", "a room with a long name")
        chat.page.press("#newroom", "Enter")
        chat.page.wait_for_selector("#roomname:text-is('#a-room-with-a-long-n')", timeout=TIMEOUT)
        chat.page.wait_for_selector("#roomlist button[data-room='a-room-with-a-long-n']", timeout=TIMEOUT)
        sizes = overflow(chat.page)
        assert sizes["innerWidth"] == width
        assert chat.page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        assert sizes["scrollWidth"] <= sizes["clientWidth"], sizes
        assert sizes["out"] == []
        for selector in ["#transport", "#state", "#dot", "#say", "#send", "#newroom",
                         "#roomlist button[data-room='a-room-with-a-long-n']"]:
            on_screen(chat.page, selector, sizes["clientWidth"])
        header = chat.page.locator("header").bounding_box()
        title = chat.page.locator("header h1").bounding_box()
        assert header["height"] > title["height"] * 1.8  # it wrapped: the controls sit under the title
        chat.close()
    finally:
        context.close()


def test_the_chat_page_on_a_phone_and_a_desktop(browser, chat_server):
    """Screenshots of a conversation: artifacts/chat-360.png and artifacts/chat-1280.png."""
    phone = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
    desktop = browser.new_context(viewport=DESKTOP)
    try:
        bob = ChatPage(phone, chat_server)
        bob.page.fill("#nick", "bob")
        bob.page.press("#nick", "Enter")
        bob.page.wait_for_selector("#online li.me:text-is('bob')", timeout=TIMEOUT)
        alice = ChatPage(desktop, chat_server)
        alice.page.fill("#nick", "alice")
        alice.page.press("#nick", "Enter")
        alice.page.wait_for_selector("#online li.me:text-is('alice')", timeout=TIMEOUT)
        alice.say("hello from the browser 😀")
        bob.wait_for_message("hello from the browser 😀")
        bob.say("hi alice! rooms work too: try #python")
        alice.wait_for_message("hi alice! rooms work too: try #python")
        alice.say("on my way")
        bob.wait_for_message("on my way")
        assert bob.page.evaluate("window.innerWidth") == PHONE["width"]
        assert bob.page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        send = bob.page.locator("#send").bounding_box()
        assert send["y"] + send["height"] <= PHONE["height"]  # type and send without scrolling first
        shot(bob.page, "chat-360.png")
        sizes = overflow(alice.page)
        assert sizes["scrollWidth"] <= sizes["clientWidth"] and sizes["out"] == [], sizes
        messages = alice.page.locator("#messages").bounding_box()
        aside = alice.page.locator("aside").bounding_box()
        assert aside["x"] >= messages["x"] + messages["width"]  # the online list beside the messages
        assert messages["y"] + messages["height"] <= DESKTOP["height"]  # the whole chat in the window
        assert alice.page.inner_text("#online").split() == ["alice", "bob"]
        assert alice.page.inner_text("#online li.me") == "alice"
        shot(alice.page, "chat-1280.png")
        bob.close()
        alice.close()
    finally:
        phone.close()
        desktop.close()


def test_own_messages_look_different_and_carry_a_local_time(browser, chat_server):
    context = browser.new_context(viewport=DESKTOP, timezone_id="Asia/Kolkata")  # UTC+05:30
    try:
        alice, bob = ChatPage(context, chat_server), ChatPage(context, chat_server)
        alice.say("mine")
        bob.say("theirs")
        alice.wait_for_message("theirs")
        page = alice.page
        mine = page.locator("#messages .msg", has_text="mine")
        theirs = page.locator("#messages .msg", has_text="theirs")
        assert "mine" in mine.get_attribute("class") and "mine" not in theirs.get_attribute("class")
        style = "e => { const s = getComputedStyle(e); return [s.backgroundColor, s.color]; }"
        assert mine.evaluate(style) != theirs.evaluate(style)
        box, own, other = (page.locator("#messages").bounding_box(), mine.bounding_box(), theirs.bounding_box())
        assert own["x"] + own["width"] > box["x"] + box["width"] - 40   # ours on the right
        assert other["x"] < box["x"] + 40                                 # theirs on the left
        assert theirs.locator(".nick").inner_text() == bob.nick           # with who said it
        for message in (mine, theirs):
            stamp = message.locator("time")
            text, iso = stamp.inner_text(), stamp.get_attribute("datetime")
            assert re.fullmatch(r"[0-2][0-9]:[0-5][0-9]", text)
            when = datetime.fromisoformat(iso.replace("Z", "+00:00"))
            local = when.astimezone(__import__("zoneinfo").ZoneInfo("Asia/Kolkata"))
            assert text == local.strftime("%H:%M")  # the reader's local time, not the server's
        # join, leave and rename notices are notices, not messages
        bob.page.fill("#nick", "bobby")
        bob.page.press("#nick", "Enter")
        page.wait_for_selector("#messages .notice >> text=is now", timeout=TIMEOUT)
        bob.close()
        page.wait_for_selector("#messages .notice >> text=bobby left", timeout=TIMEOUT)
        notices = page.locator("#messages li.notice")
        assert notices.count() >= 3  # welcome, bob joined, bob renamed, bobby left
        assert page.locator("#messages li.msg", has_text="joined").count() == 0
        assert notices.first.evaluate("e => getComputedStyle(e).textAlign") == "center"
        alice.close()
    finally:
        context.close()


def test_pages_in_different_rooms_do_not_see_each_others_messages(browser, chat_server):
    context = browser.new_context(viewport=DESKTOP)
    try:
        random, python = ChatPage(context, chat_server), ChatPage(context, chat_server)
        random.go_to("random")
        python.go_to("random")
        random.page.wait_for_selector("#online >> text=" + python.nick, timeout=TIMEOUT)
        python.go_to("python")
        assert python.page.inner_text("#online").split() == [python.nick]
        assert python.page.get_attribute("#roomlist button[data-room='python']", "aria-pressed") == "true"
        assert "room=python" in python.page.url  # a link to the room
        random.page.wait_for_selector("#messages .notice >> text=went to #python", timeout=TIMEOUT)
        assert random.page.inner_text("#online").split() == [random.nick]
        random.say("only for random")
        python.say("only for python")
        random.say("still only random")
        assert python.texts() == ["only for python"]
        assert random.texts() == ["only for random", "still only random"]
        # a third page opened on the room's link lands in it, with what was said there
        late = ChatPage(context, chat_server, "?room=python")
        late.page.wait_for_selector("#roomname:text-is('#python')", timeout=TIMEOUT)
        late.wait_for_message("only for python")
        assert late.texts() == ["only for python"]
        python.page.wait_for_selector("#online >> text=" + late.nick, timeout=TIMEOUT)
        # and back to random: its history, none of python's
        python.go_to("random")
        python.wait_for_message("still only random")
        assert python.texts() == ["only for random", "still only random"]
        for page in (random, python, late):
            page.close()
    finally:
        context.close()


def test_the_transport_stays_selectable(browser, chat_server):
    context = browser.new_context(viewport=PHONE)
    try:
        chat = ChatPage(context, chat_server, "?room=gevent")
        chat.page.wait_for_selector("#roomname:text-is('#gevent')", timeout=TIMEOUT)
        chat.page.select_option("#transport", "xhr-polling")
        chat.page.wait_for_selector("#state:text('connected via xhr-polling')", timeout=TIMEOUT)
        assert "transport=xhr-polling" in chat.page.url and "room=gevent" in chat.page.url
        chat.page.wait_for_selector("#roomname:text-is('#gevent')", timeout=TIMEOUT)  # still in the room
        assert chat.page.input_value("#transport") == "xhr-polling"
        chat.say("polling along")
        chat.close()
    finally:
        context.close()


def test_after_a_server_restart_the_page_is_back_in_its_room_with_its_nickname(browser):
    server = AppServer("--example")
    context = browser.new_context(viewport=PHONE)
    try:
        chat = ChatPage(context, server, "?room=gevent")
        chat.page.wait_for_selector("#roomname:text-is('#gevent')", timeout=TIMEOUT)
        chat.page.fill("#nick", "carol")
        chat.page.press("#nick", "Enter")
        chat.page.wait_for_selector("#online li.me:text-is('carol')", timeout=TIMEOUT)
        server.restart()  # every session is gone: the page gets a new one
        chat.page.wait_for_selector("#messages .notice >> text=reconnected (new session)", timeout=30000)
        chat.page.wait_for_selector("#roomname:text-is('#gevent')", timeout=TIMEOUT)
        chat.page.wait_for_selector("#online li.me:text-is('carol')", timeout=TIMEOUT)
        chat.say("still here")
        chat.page.close()  # (requests failed while the server was down: not checked here)
    finally:
        context.close()
        server.stop()
