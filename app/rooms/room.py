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
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from app.core.frames import PendingFrame
from app.core.history import thin
from app.core.settings import Settings
from app.core.wire import encode
from app.rooms.codes import token_matches

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
    presence: str = "waiting"  # the presenter: waiting (never came), live, away or left
    _snapshot: list[str] | None = None
    _snapshot_bytes: int = 0
    _pending: PendingFrame = field(default_factory=PendingFrame)  # frames merged, not yet sent
    _pending_generation: Any = None
    _pending_thinned: bool = False
    _flush_handle: asyncio.TimerHandle | None = None

    @property
    def viewer_count(self) -> int:
        return len(self.viewers) + self.remote_viewers

    def check(self, token: str) -> bool:
        """Does `token` open this room? (constant-time comparison of hashes)"""
        return token_matches(self.token_hash, token)

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
            if self._pending.t is None:
                self._pending_generation = message["generation"]
                loop = asyncio.get_running_loop()
                self._flush_handle = loop.call_later(FLUSH_EVERY, self.flush)
            self._pending.add(message["runs"], message["t"])
            return
        self.flush()
        self._emit(message, text)

    def flush(self) -> None:
        """Send the merged pending frames (points enter the history only now: exactly once)."""
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        if self._pending.t is None:
            return
        runs, t = self._pending.take()
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
            if self.surface is not None:  # its paths (a refitted plane's) come after the frames
                out.append(encode({k: v for k, v in self.surface.items() if k != "paths"}))
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
            if self.surface is not None and "paths" in self.surface:
                # a refitted plane: again after the frames, whose points it moves onto itself
                out.append(encode(self.surface))
            out.extend(self.details.values())
            if self.done is not None:
                out.append(self.done)
        if self.state is not None:
            out.append(self.state)
        self._snapshot, self._snapshot_bytes = out, sum(map(len, out))
        return out

    def welcome(self) -> str:
        return encode({"type": "room", "code": self.code, "viewers": self.viewer_count,
                        "live": self.presence == "live", "presenter": self.presence,
                        "thinned": self.thinned})

    def set_presence(self, status: str) -> None:
        """Tell the viewers the presenter's news (live, away or left), after what it sent."""
        if status == self.presence:
            return
        self.presence = status
        self.flush()
        self._fan_out(encode({"type": "presenter", "status": status}))

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



def frame_text(generation: Any, t: float, runs: dict[str, list[str]],
               thinned: bool = False) -> str:
    """A frame's JSON made of its points' JSON texts (each point is encoded once)."""
    head: dict[str, Any] = {"type": "frame", "generation": generation, "t": t}
    if thinned:
        head["thinned"] = True
    body = ",".join(f"{encode(name)}:[{','.join(pts)}]" for name, pts in runs.items())
    return f'{encode(head)[:-1]},"runs":{{{body}}}}}'
