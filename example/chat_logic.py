"""The chat's behaviour, shared by the Flask (``chat.py``) and Django
(``django_chat/``) examples: nothing here knows which web framework serves
the page.

Every message is JSON over plain ``send``. A client says:

* ``{"nick": name}`` to choose a nickname (unique, at most 32 characters);
* ``{"join": room}`` to move to a room (one room at a time; every client
  starts in ``lobby``);
* ``{"say": text}`` to speak to its room.

The server answers with events (``{"event": ...}``): ``welcome`` (to a new
client: its id, nick, room, the room's online list and recent history, and
the room list), ``room`` (to a client that moved: the same for its new room),
``joined``, ``left``, ``renamed`` and ``said`` (to the members of one room),
``rooms`` (to everyone: how many are in each room) and ``error`` (to one
client). ``said`` carries the speaker's public ``id`` (never the session
id, which would let others act as that client) and ``at``, the server's
time in milliseconds since the epoch.

Rooms are the library's: ``client.join`` / ``client.leave``,
``listener.to(room).send``, ``listener.clients_in(room)`` and
``listener.rooms``.
"""
from __future__ import annotations

import os
import re
import secrets
import time
from collections import deque
from typing import Any, Deque, Dict, List, Optional, Sequence

HERE = os.path.dirname(os.path.abspath(__file__))
#: The page both examples serve.
PAGE = os.path.join(HERE, "static", "chat.html")
#: Rooms that always exist, in the order the page shows them.
FIXED_ROOMS = ("lobby", "random", "python", "gevent")
LOBBY = FIXED_ROOMS[0]
#: How many ``said`` events a room remembers for those who join it later.
HISTORY = 50
MAX_NICK = 32
MAX_ROOM = 20  # shorter than a session id (24), so a room name is never one
MAX_TEXT = 2000
_ROOM = re.compile(r"[\w-]+")


def room_name(text: Any) -> Optional[str]:
    """``text`` as a room name (``"#Python Fans"`` -> ``"python-fans"``), or None."""
    if not isinstance(text, str):
        return None
    name = re.sub(r"\s+", "-", text.strip().lstrip("#").strip().lower())
    if not name or len(name) > MAX_ROOM or not _ROOM.fullmatch(name):
        return None
    return name


class Chat:
    """The chat's state on one listener (nicknames, rooms, recent history)."""

    def __init__(self, listener: Any, rooms: Sequence[str] = FIXED_ROOMS) -> None:
        self.listener = listener
        self.fixed = tuple(rooms)
        self.nicks: Dict[str, str] = {}   # session id -> nickname
        self.ids: Dict[str, str] = {}     # session id -> public id
        self.where: Dict[str, str] = {}   # session id -> its room
        self.history: Dict[str, Deque[dict]] = {}
        listener.on("connection", self.connected)

    # -- what the events carry ---------------------------------------------
    def online(self, room: str) -> List[str]:
        return sorted((self.nicks.get(c.session_id, "?") for c in self.listener.clients_in(room)), key=str.lower)

    def room_counts(self) -> List[list]:
        ours = set(self.where.values())  # the listener may hold rooms of other code too
        counts = {name: len(sids) for name, sids in self.listener.rooms.items() if name in ours}
        names = list(self.fixed) + sorted(set(counts) - set(self.fixed))
        return [[name, counts.get(name, 0)] for name in names]

    def room_state(self, room: str) -> dict:
        return {"room": room, "online": self.online(room), "history": list(self.history.get(room, ()))}

    def announce_rooms(self) -> None:
        self.listener.broadcast({"event": "rooms", "rooms": self.room_counts()})

    # -- what clients do ---------------------------------------------------
    def connected(self, client: Any) -> None:
        sid = client.session_id
        client.on("message", lambda message, annotations: self.message(client, message))
        client.on("disconnect", lambda: self.gone(client))
        self.ids[sid] = secrets.token_hex(4)
        self.nicks[sid] = self.free_nick("guest-" + self.ids[sid][:4])
        self.enter(client, LOBBY)
        client.send(dict({"event": "welcome", "id": self.ids[sid], "nick": self.nicks[sid],
                          "transport": client.transport, "rooms": self.room_counts()}, **self.room_state(LOBBY)))
        self.announce_rooms()

    def message(self, client: Any, msg: Any) -> None:
        sid = client.session_id
        if not isinstance(msg, dict) or sid not in self.where:
            return
        if "nick" in msg:
            self.rename(client, msg["nick"])
        elif "join" in msg:
            self.move(client, msg["join"])
        elif isinstance(msg.get("say"), str) and msg["say"].strip():
            room = self.where[sid]
            said = {"event": "said", "id": self.ids[sid], "nick": self.nicks[sid], "text": msg["say"][:MAX_TEXT],
                    "transport": client.transport, "room": room, "at": int(time.time() * 1000)}
            self.history.setdefault(room, deque(maxlen=HISTORY)).append(said)
            self.listener.to(room).send(said)

    def rename(self, client: Any, wanted: Any) -> None:
        sid = client.session_id
        nick = wanted.strip()[:MAX_NICK] if isinstance(wanted, str) else ""
        if not nick or nick == self.nicks[sid]:
            return
        if self.free_nick(nick, sid) != nick:
            client.send({"event": "error", "text": "the nickname %s is taken" % nick})
            return
        old, self.nicks[sid] = self.nicks[sid], nick
        room = self.where[sid]
        self.listener.to(room).send({"event": "renamed", "old": old, "nick": nick, "room": room,
                                     "online": self.online(room)})

    def move(self, client: Any, wanted: Any) -> None:
        sid = client.session_id
        room = room_name(wanted)
        if room is None:
            client.send({"event": "error", "text": "a room name is 1 to %d letters, digits, - or _" % MAX_ROOM})
            return
        old = self.where[sid]
        if room == old:
            client.send(dict({"event": "room"}, **self.room_state(room)))
            return
        client.leave(old)
        self.listener.to(old).send({"event": "left", "nick": self.nicks[sid], "room": old, "to": room,
                                    "online": self.online(old)})
        self.enter(client, room)
        self.forget_if_empty(old)
        client.send(dict({"event": "room"}, **self.room_state(room)))
        self.announce_rooms()

    def enter(self, client: Any, room: str) -> None:
        sid = client.session_id
        client.join(room)
        self.where[sid] = room
        self.listener.to(room).send({"event": "joined", "nick": self.nicks[sid], "room": room,
                                     "online": self.online(room)}, except_=sid)

    def gone(self, client: Any) -> None:
        """The session ended: the library has taken the client out of its rooms."""
        sid = client.session_id
        room = self.where.pop(sid, None)
        nick = self.nicks.pop(sid, "?")
        self.ids.pop(sid, None)
        if room is None:
            return
        self.listener.to(room).send({"event": "left", "nick": nick, "room": room, "online": self.online(room)})
        self.forget_if_empty(room)
        self.announce_rooms()

    # -- helpers -----------------------------------------------------------
    def free_nick(self, nick: str, sid: Optional[str] = None) -> str:
        """``nick`` if nobody else (ignoring case) has it, else with a number added."""
        taken = {n.lower() for s, n in self.nicks.items() if s != sid}
        candidate, n = nick, 1
        while candidate.lower() in taken:
            n += 1
            candidate = "%s-%d" % (nick[:MAX_NICK - 4], n)
        return candidate

    def forget_if_empty(self, room: str) -> None:
        if room not in self.fixed and room not in self.where.values():
            self.history.pop(room, None)


def attach_chat(listener: Any, rooms: Sequence[str] = FIXED_ROOMS) -> Chat:
    """Wire the chat's behaviour onto a ``socketio_gevent.Listener``."""
    return Chat(listener, rooms)
