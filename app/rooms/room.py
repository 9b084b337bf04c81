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

A room also holds at most one open question of a class vote (`ask`): its text (a prompt of at
most 200 characters, 2 to 6 choices of at most 80), the tally its presenter is sent and, in
this process, each voter's choice: at most VOTERS_PER_SEAT x the viewer cap
(DESCENT_MAX_VIEWERS_PER_ROOM) voters per question, about 100 bytes each. With Redis the votes
live in Redis instead (app/rooms/redis_store.py), the room keeps only the question and tally.

A presenter's learning-rate map (`sweep_progress`, `sweep_result`) reaches its viewers too; the
room keeps the latest `sweep_result` for late joiners (at most MAX_SWEEP_BYTES: 24 x 8 cells)
until a `started` of another config (any field but `speed`) makes it stale, as on the page.
"""

from __future__ import annotations

import asyncio
import secrets
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
BROADCAST = frozenset({"started", "surface", "frame", "detail", "state", "done",
                       "sweep_progress", "sweep_result"})
# The longest `sweep_result`: 24 learning rates x 8 batch sizes of at most ~88 characters a cell
# (tests/app/rooms/test_room_sweep.py measures the largest), kept per room for late joiners.
MAX_SWEEP_BYTES = 20 * 1024
VOTE_EVERY = 0.2  # seconds: votes are tallied for the presenter at most ~5 times per second
# Voters of one question, per seat of the room (DESCENT_MAX_VIEWERS_PER_ROOM): a viewer who
# leaves keeps their vote, so a phone that reconnects (a new connection) may vote again.
VOTERS_PER_SEAT = 2


class VoteError(ValueError):
    """A vote that cannot count (the error code `bad_vote`): the message says why."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


def check_vote(question: dict[str, Any] | None, qid: str, choice: int) -> None:
    """Refuse a vote for a question that is not open, or for a choice it does not have."""
    if question is None or question["id"] != qid:
        raise VoteError(f"question {qid!r} is not open: vote on the question shown now", "id")
    if not 0 <= choice < len(question["choices"]):
        raise VoteError(f"choice must be an integer in [0, {len(question['choices']) - 1}] "
                        f"for this question, got {choice}", "choice")


def too_many_voters(limit: int) -> VoteError:
    return VoteError(f"this question has as many voters as it may: {limit} "
                     f"({VOTERS_PER_SEAT} x DESCENT_MAX_VIEWERS_PER_ROOM)", "id")


def tally(question: dict[str, Any], choices: Any) -> dict[str, Any]:
    """The `votes` message of a question from its voters' choices."""
    counts = [0] * len(question["choices"])
    voters = 0
    for choice in choices:
        if 0 <= int(choice) < len(counts):
            counts[int(choice)] += 1
            voters += 1
    return {"type": "votes", "id": question["id"], "counts": counts, "voters": voters}


SWEEP_STALE = {"type": "_sweep_stale"}  # to the sinks: the kept map no longer applies


def map_config(started: dict[str, Any] | None) -> dict[str, Any] | None:
    """What a learning-rate map depends on: the race's config but its speed."""
    if started is None:
        return None
    return {k: v for k, v in (started.get("config") or {}).items() if k != "speed"}


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
    voter: str = field(default_factory=lambda: secrets.token_hex(6))  # one vote per connection

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
    question: dict[str, Any] | None = None  # the open question's `question` message
    revealed: bool = False  # its tally is shown to the viewers
    tally: dict[str, Any] | None = None  # its latest `votes` message (without `revealed`)
    votes: dict[str, int] = field(default_factory=dict)  # voter -> choice (in this process)
    on_votes: list[Any] = field(default_factory=list)  # callbacks (votes message): presenters
    sweep: str | None = None  # the latest `sweep_result`'s text, for late joiners
    sweep_config: dict[str, Any] | None = None  # the config (but speed) it was computed for
    _tally_handle: asyncio.TimerHandle | None = None
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
        stale = self._record(message["type"], message, text, point_texts)
        self._fan_out(text)
        if sinks:
            for sink in self.sinks:
                sink(message, text)
                if stale:  # e.g. Redis forgets the map too
                    sink(SWEEP_STALE, "")

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
                point_texts: dict[str, list[str]] | None = None) -> bool:
        """Keep what a late joiner needs; True when this `started` made the kept map stale."""
        if kind == "sweep_progress":
            return False  # news of the moment: a late joiner gets the map once it is done
        self._snapshot = None
        if kind == "started":
            return self._started(message)
        elif kind == "sweep_result" and len(text) <= MAX_SWEEP_BYTES:
            self.sweep, self.sweep_config = text, map_config(self.started)
        elif kind == "surface":
            self.surface = message
        elif kind == "frame":
            self._add_points(message, point_texts)
        elif kind == "detail":
            self.details[message.get("run", "")] = text
        elif kind == "state":
            self.state = text
        elif kind == "done":
            self.done = text
        return False

    def _started(self, message: dict[str, Any]) -> bool:
        """A new race: its history starts empty; the kept map goes if its config changed."""
        stale = self.sweep is not None and map_config(message) != self.sweep_config
        if stale:
            self.sweep = self.sweep_config = None
        self.started, self.surface, self.done = message, None, None
        self.points, self.details, self.thinned = {}, {}, False
        self.history_bytes = 0
        return stale

    def _add_points(self, message: dict[str, Any],
                    point_texts: dict[str, list[str]] | None) -> None:
        if point_texts is None:  # from another process: decoded, each point encoded again
            point_texts = {name: [encode(p) for p in pts] for name, pts in message["runs"].items()}
        for name, texts in point_texts.items():
            self.points.setdefault(name, []).extend(texts)
            self.history_bytes += sum(map(len, texts)) + STR_BYTES * len(texts)
        if message.get("thinned"):  # a history thinned by the session's bound or in Redis
            self.thinned = True
        self._thin()

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
        if self.sweep is not None:
            out.append(self.sweep)
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
        """Queue the run so far and the open question; the backlog may then grow by
        max_backlog_bytes more."""
        for text in self.snapshot():
            viewer.push(text)
        extra = 0
        for message in self.question_news():
            text = encode(message)
            viewer.push(text)
            extra += len(text)
        viewer.allowance = self._snapshot_bytes + extra + self.max_backlog_bytes

    # -- a class vote --------------------------------------------------------------------------
    def question_news(self) -> list[dict[str, Any]]:
        """What a viewer who joins now is sent of the vote: the open question, its tally if
        revealed."""
        if self.question is None:
            return []
        if self.revealed and self.tally is not None:
            return [self.question, {**self.tally, "revealed": True}]
        return [self.question]

    def ask(self, qid: str, prompt: str, choices: list[str]) -> None:
        """Open a question (replacing any open one): every viewer gets it."""
        if self.question is not None and self.question["id"] == qid:
            return  # already open here (a Redis mirror loads it, then may hear it again)
        self._stop_tally()
        self.question = {"type": "question", "id": qid, "prompt": prompt, "choices": choices}
        self.revealed, self.votes = False, {}
        self.tally = tally(self.question, ())
        self.touch()
        self._fan_out(encode(self.question))
        self._votes_changed()

    def cast(self, voter: str, qid: str, choice: int, max_voters: int) -> None:
        """One viewer's vote (in this process): a later one replaces its earlier one."""
        check_vote(self.question, qid, choice)
        if voter not in self.votes and len(self.votes) >= max_voters:
            raise too_many_voters(max_voters)
        self.votes[voter] = choice
        self.touch()
        if self._tally_handle is None:  # votes arriving together: one tally for them all
            loop = asyncio.get_running_loop()
            self._tally_handle = loop.call_later(VOTE_EVERY, self._tally_votes)

    def _tally_votes(self) -> None:
        self._tally_handle = None
        if self.question is not None:
            self.set_tally(tally(self.question, self.votes.values()))

    def _stop_tally(self) -> None:
        if self._tally_handle is not None:
            self._tally_handle.cancel()
            self._tally_handle = None

    def set_tally(self, message: dict[str, Any]) -> None:
        """The open question's latest counts: to the presenters, and to viewers once revealed."""
        if self.question is None or message["id"] != self.question["id"]:
            return  # a tally of a question since replaced or closed
        self.tally = message
        self._votes_changed()
        if self.revealed:
            self._fan_out(encode({**message, "revealed": True}))

    def reveal(self, qid: str) -> None:
        """Show the viewers the tally (and every later one)."""
        if self.question is None or self.question["id"] != qid:
            return
        self.revealed = True
        if self.votes or self._tally_handle is not None:  # in this process: count now
            self._stop_tally()
            self.tally = tally(self.question, self.votes.values())
        if self.tally is not None:
            self.set_tally(self.tally)

    def close_question(self, qid: str) -> None:
        """End the question for everyone (its votes are forgotten)."""
        if self.question is None or self.question["id"] != qid:
            return
        self._stop_tally()
        self.question, self.revealed, self.tally, self.votes = None, False, None, {}
        closed = {"type": "question_closed", "id": qid}
        self._fan_out(encode(closed))
        for callback in list(self.on_votes):
            callback(closed)

    def _votes_changed(self) -> None:
        if self.tally is not None:
            for callback in list(self.on_votes):
                callback(self.tally)

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
        self._stop_tally()
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
