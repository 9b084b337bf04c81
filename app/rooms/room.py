"""Presenter rooms: a teacher's session broadcast, read-only, to every viewer in the room.

A room keeps what a late joiner needs (the latest `started`, its `surface`, every `frame`
since, the latest `detail` per run, `state` and `done`) and fans each message out as the
text the teacher's session already encoded: a frame is encoded once per room, not once per
viewer. Each viewer has its own bounded backlog and sender task, so a slow viewer never delays
the teacher or the other viewers; one that falls too far behind is resynchronised (a `reset`,
then the run so far), and closed if that keeps happening.

Both are bounded in bytes (Settings.max_room_history_mb, max_viewer_backlog_mb): the history
keeps each point as its JSON text, so it is measured exactly, and past its bound the older half
of each run is thinned to every other point, as a session's is.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from app.core.history import thin
from app.core.settings import Settings
from app.core.wire import encode

log = logging.getLogger("descent.rooms")

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: easy to read off a projector
CODE_LENGTH = 5
MAX_BACKLOG = 512  # messages queued for one viewer before it is resynchronised (or bytes:)
BACKLOG_BYTES = Settings().max_viewer_backlog_mb * 2**20  # beyond the run so far it was sent
HISTORY_BYTES = Settings().max_room_history_mb * 2**20  # per room; older points thinned beyond
STR_BYTES = 57  # what CPython spends on a kept ASCII text besides its characters (+ list slot)
MAX_RESYNCS = 3  # resyncs within RESYNC_WINDOW before a viewer is closed
RESYNC_WINDOW = 60.0
SNAPSHOT_FRAME_POINTS = 5000  # points per frame in a late joiner's snapshot, at most ...
SNAPSHOT_FRAME_BYTES = 2**20  # ... and about this many characters
FLUSH_EVERY = 0.066  # seconds: viewers get the presenter's frames merged, ~15 per second
BROADCAST = frozenset({"started", "surface", "frame", "detail", "state", "done"})


def _hash(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


class RoomError(Exception):
    """A refused room operation; `code` for the page, the message says why."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(eq=False)
class Viewer:
    """One read-only connection: its backlog of encoded messages and its resync record.

    `queued` counts the backlog's characters (bytes, for the ASCII that orjson mostly writes);
    the room resyncs the viewer before it passes `allowance`.
    """

    queue: deque[str] = field(default_factory=deque)
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    resyncs: deque[float] = field(default_factory=deque)
    closed_reason: str | None = None
    queued: int = 0
    allowance: int = BACKLOG_BYTES

    def push(self, text: str) -> None:
        self.queue.append(text)
        self.queued += len(text)
        self.ready.set()

    def clear(self) -> None:
        self.queue.clear()
        self.queued = 0

    async def next(self) -> str | None:
        """The next message to send, or None once the viewer must be closed."""
        while not self.queue:
            if self.closed_reason:
                return None
            self.ready.clear()
            await self.ready.wait()
        text = self.queue.popleft()
        self.queued -= len(text)
        return text

    def close(self, reason: str) -> None:
        self.closed_reason = reason
        self.ready.set()


@dataclass(eq=False)
class Room:
    """A presenter's room: its token's hash, its viewers and the history a late joiner gets."""

    code: str
    token_hash: bytes
    created: float = field(default_factory=time.monotonic)
    last_active: float = field(default_factory=time.monotonic)
    viewers: set[Viewer] = field(default_factory=set)
    presenters: int = 0
    started: dict[str, Any] | None = None
    surface: dict[str, Any] | None = None
    points: dict[str, list[str]] = field(default_factory=dict)  # each point's JSON text
    history_bytes: int = 0  # what `points` holds: its texts and their CPython overhead
    max_history_bytes: int = HISTORY_BYTES
    max_backlog_bytes: int = BACKLOG_BYTES
    details: dict[str, str] = field(default_factory=dict)
    state: str | None = None
    done: str | None = None
    thinned: bool = False
    on_viewers: list[Any] = field(default_factory=list)  # callbacks: the presenter's counters
    on_lost: list[Any] = field(default_factory=list)  # callbacks (code, reason): its presenters
    sinks: list[Any] = field(default_factory=list)  # callbacks (message, text): e.g. to Redis
    remote_viewers: int = 0  # viewers of this room in other processes (Redis mode)
    _snapshot: list[str] | None = None
    _snapshot_bytes: int = 0
    _pending: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    _pending_t: float | None = None
    _pending_generation: Any = None
    _pending_thinned: bool = False
    _flush_handle: asyncio.TimerHandle | None = None

    @property
    def viewer_count(self) -> int:
        return len(self.viewers) + self.remote_viewers

    def check(self, token: str) -> bool:
        """Does `token` open this room? (constant-time comparison of hashes)"""
        return hmac.compare_digest(self.token_hash, _hash(token))

    def touch(self) -> None:
        self.last_active = time.monotonic()

    # -- the presenter's side ----------------------------------------------------------------
    def publish(self, message: dict[str, Any], text: str) -> None:
        """Record `message` for late joiners and queue its text for every viewer.

        Frames are merged for ~FLUSH_EVERY seconds and sent as one (encoded once for all
        viewers); any other message first flushes them, so the order never changes.
        """
        kind = message.get("type")
        if kind not in BROADCAST:
            return
        self.touch()
        if kind == "frame":
            if message.get("thinned"):  # a session's history, thinned by its own bound
                self._pending_thinned = True
            if self._pending_t is None:
                self._pending_t, self._pending_generation = message["t"], message["generation"]
                loop = asyncio.get_running_loop()
                self._flush_handle = loop.call_later(FLUSH_EVERY, self.flush)
            for name, pts in message["runs"].items():
                self._pending.setdefault(name, []).extend(pts)
            return
        self.flush()
        self._emit(message, text)

    def flush(self) -> None:
        """Send the merged pending frames (points enter the history only now: exactly once)."""
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        if self._pending_t is None:
            return
        runs, t = self._pending, self._pending_t
        self._pending, self._pending_t = {}, None
        generation, thinned = self._pending_generation, self._pending_thinned
        self._pending_thinned = False
        frame = {"type": "frame", "generation": generation, "t": t, "runs": runs}
        if thinned:
            frame["thinned"] = True
        texts = {name: [encode(p) for p in pts] for name, pts in runs.items()}
        self._emit(frame, frame_text(generation, t, texts, thinned), texts)

    def _emit(self, message: dict[str, Any], text: str,
              point_texts: dict[str, list[str]] | None = None, sinks: bool = True) -> None:
        """Record a message for late joiners, queue it for the viewers, pass it to the sinks."""
        self._record(message["type"], message, text, point_texts)
        self._fan_out(text)
        if sinks:
            for sink in self.sinks:
                sink(message, text)

    def deliver(self, message: dict[str, Any], text: str) -> None:
        """A message that another process's presenter published (already merged): pass it on."""
        self.touch()
        self._emit(message, text, sinks=False)

    def _fan_out(self, text: str) -> None:
        for viewer in list(self.viewers):
            if viewer.queue and (len(viewer.queue) >= MAX_BACKLOG
                                 or viewer.queued + len(text) > viewer.allowance):
                self.resync(viewer)
            else:
                viewer.push(text)

    def _record(self, kind: str, message: dict[str, Any], text: str,
                point_texts: dict[str, list[str]] | None = None) -> None:
        self._snapshot = None
        if kind == "started":
            self.started, self.surface, self.done = message, None, None
            self.points, self.details, self.thinned = {}, {}, False
            self.history_bytes = 0
        elif kind == "surface":
            self.surface = message
        elif kind == "frame":
            if point_texts is None:  # from another process: decoded, each point encoded again
                point_texts = {name: [encode(p) for p in pts]
                               for name, pts in message["runs"].items()}
            for name, texts in point_texts.items():
                self.points.setdefault(name, []).extend(texts)
                self.history_bytes += sum(map(len, texts)) + STR_BYTES * len(texts)
            if message.get("thinned"):  # a history thinned by the session's bound or in Redis
                self.thinned = True
            self._thin()
        elif kind == "detail":
            self.details[message.get("run", "")] = text
        elif kind == "state":
            self.state = text
        elif kind == "done":
            self.done = text

    def _thin(self) -> None:
        """Past max_history_bytes, keep every other point of the older half of each run."""
        while self.history_bytes > self.max_history_bytes:
            before = self.history_bytes
            self.points = {name: thin(pts) for name, pts in self.points.items()}
            self.history_bytes = sum(len(p) + STR_BYTES for pts in self.points.values()
                                     for p in pts)
            self.thinned = True
            if self.history_bytes == before:  # a point or two per run: nothing left to thin
                return

    # -- the viewers' side -------------------------------------------------------------------
    def snapshot(self) -> list[str]:
        """The run so far as ordinary messages: started, surface, frames, details, state, done."""
        if self._snapshot is not None:
            return self._snapshot
        out: list[str] = []
        if self.started is not None:
            generation = self.started.get("generation")
            out.append(encode(self.started))
            if self.surface is not None:
                out.append(encode(self.surface))
            batch: dict[str, list[str]] = {}
            count = size = 0
            for name, pts in self.points.items():
                for text in pts:
                    batch.setdefault(name, []).append(text)
                    count, size = count + 1, size + len(text)
                    if count >= SNAPSHOT_FRAME_POINTS or size >= SNAPSHOT_FRAME_BYTES:
                        out.append(frame_text(generation, time.time(), batch, self.thinned))
                        batch, count, size = {}, 0, 0
            if batch:
                out.append(frame_text(generation, time.time(), batch, self.thinned))
            out.extend(self.details.values())
            if self.done is not None:
                out.append(self.done)
        if self.state is not None:
            out.append(self.state)
        self._snapshot, self._snapshot_bytes = out, sum(map(len, out))
        return out

    def welcome(self) -> str:
        return encode({"type": "room", "code": self.code, "viewers": self.viewer_count,
                        "live": self.presenters > 0, "thinned": self.thinned})

    def join(self, viewer: Viewer) -> None:
        self.viewers.add(viewer)
        self.touch()
        viewer.push(self.welcome())
        self._send_snapshot(viewer)
        self._viewers_changed()

    def _send_snapshot(self, viewer: Viewer) -> None:
        """Queue the run so far; the backlog may then grow by max_backlog_bytes more."""
        for text in self.snapshot():
            viewer.push(text)
        viewer.allowance = self._snapshot_bytes + self.max_backlog_bytes

    def leave(self, viewer: Viewer) -> None:
        if viewer in self.viewers:
            self.viewers.discard(viewer)
            self._viewers_changed()

    def resync(self, viewer: Viewer) -> None:
        """A viewer fell too far behind: drop its backlog, send a reset and the run so far."""
        now = time.monotonic()
        while viewer.resyncs and now - viewer.resyncs[0] > RESYNC_WINDOW:
            viewer.resyncs.popleft()
        viewer.resyncs.append(now)
        if len(viewer.resyncs) > MAX_RESYNCS:
            self.viewers.discard(viewer)
            viewer.clear()
            viewer.close("too slow: fell behind the presenter repeatedly")
            self._viewers_changed()
            return
        viewer.clear()
        viewer.push(encode({"type": "reset", "reason": "fell behind; resending the run so far"}))
        viewer.push(self.welcome())
        self._send_snapshot(viewer)

    def _viewers_changed(self) -> None:
        for callback in list(self.on_viewers):
            callback(self.viewer_count)

    def close(self, reason: str, code: str = "room_ended") -> None:
        """Close every viewer with `reason`; tell the presenters still here (`code` says why)."""
        self.flush()
        for viewer in list(self.viewers):
            viewer.push(encode({"type": "room_closed", "reason": reason}))
            viewer.close(reason)
        self.viewers.clear()
        for callback in list(self.on_lost):
            callback(code, reason)



class RoomHub:
    """Every room of this process (the embedded default): create, present, join, expire.

    The methods are coroutines so that `RedisRoomHub`, which shares rooms between processes,
    is a drop-in replacement.
    """

    def __init__(self, max_rooms: int, max_viewers: int, idle_seconds: float,
                 max_history_bytes: int = HISTORY_BYTES,
                 max_backlog_bytes: int = BACKLOG_BYTES) -> None:
        self.rooms: dict[str, Room] = {}
        self.max_rooms, self.max_viewers, self.idle_seconds = max_rooms, max_viewers, idle_seconds
        self.room_limits = {"max_history_bytes": max_history_bytes,
                            "max_backlog_bytes": max_backlog_bytes}

    def _too_many(self) -> RoomError:
        return RoomError(
            f"room limit reached: this server hosts at most {self.max_rooms} rooms "
            "(DESCENT_MAX_ROOMS); end a presentation or wait for idle rooms to expire",
            "too_many_rooms",
        )

    def _full(self, code: str) -> RoomError:
        return RoomError(
            f"room {code} is full: at most {self.max_viewers} viewers "
            "(DESCENT_MAX_VIEWERS_PER_ROOM)",
            "room_full",
        )

    async def create(self) -> tuple[str, str]:
        """A new room's code and its token (shown once, to the presenter)."""
        await self.expire()
        if len(self.rooms) >= self.max_rooms:
            raise self._too_many()
        code = new_code(self.rooms)
        token = secrets.token_urlsafe(24)
        self.rooms[code] = Room(code=code, token_hash=_hash(token), **self.room_limits)
        log.info("room %s created (%d rooms)", code, len(self.rooms))
        return code, token

    def _get(self, code: str) -> Room:
        room = self.rooms.get(normalise_code(code))
        if room is None:
            raise RoomError(f"no room {code!r}: it ended or expired", "unknown_room")
        return room

    async def present(self, code: str, token: str) -> Room:
        """The room, for a presenter who holds its token."""
        await self.expire()
        room = self._get(code)
        if not room.check(token):
            raise RoomError("wrong token for this room", "bad_token")
        room.presenters += 1
        room.touch()
        return room

    def unpresent(self, room: Room) -> None:
        room.presenters -= 1

    async def join(self, code: str, viewer: Viewer) -> Room:
        """Add a viewer to a room (refused with a reason when it does not exist or is full)."""
        await self.expire()
        room = self._get(code)
        if len(room.viewers) >= self.max_viewers:
            raise self._full(room.code)
        room.join(viewer)
        return room

    async def leave(self, room: Room, viewer: Viewer) -> None:
        room.leave(viewer)

    async def end(self, code: str, reason: str = "the presenter ended the presentation") -> None:
        room = self.rooms.pop(code, None)
        if room is not None:
            room.close(reason)
            log.info("room %s ended: %s", code, reason)

    async def expire(self) -> None:
        """Close rooms idle for longer than the idle timeout."""
        now = time.monotonic()
        for code, room in list(self.rooms.items()):
            idle = now - room.last_active
            if idle > self.idle_seconds and room.presenters == 0:
                await self.end(code, f"idle for {int(idle)} s")

    async def close(self) -> None:
        """Nothing to release in-process."""


def frame_text(generation: Any, t: float, runs: dict[str, list[str]],
               thinned: bool = False) -> str:
    """A frame's JSON made of its points' JSON texts (each point is encoded once)."""
    head: dict[str, Any] = {"type": "frame", "generation": generation, "t": t}
    if thinned:
        head["thinned"] = True
    body = ",".join(f"{encode(name)}:[{','.join(pts)}]" for name, pts in runs.items())
    return f'{encode(head)[:-1]},"runs":{{{body}}}}}'


def new_code(taken: Any) -> str:
    """A fresh room code: short, unambiguous letters and digits."""
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        if code not in taken:
            return code


def normalise_code(code: str) -> str:
    """Room codes are case-insensitive for people typing them."""
    return code.strip().upper()
