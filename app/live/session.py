"""One `/ws/train` connection: a receiver and a pacer in one task group.

The receiver reads the client's commands and changes the session's state. The pacer advances
the race on a clock (`speed` iterations per second per run, or equal samples per second),
coalesces the new points into at most ~30 frames per second and sends them. A paced tick is a
few iterations, done on the event loop; it wakes only when an iteration is due. At speed 0 the
engine runs in a worker thread in slices of a few milliseconds, so the event loop stays free for
other pages and sessions; details run there too unless they proved cheap. The pacer awaits each
send before computing more, so a client that stops reading stops its trainer instead of filling
memory. When either task ends, the other is cancelled.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
from pydantic import ValidationError
from starlette.websockets import WebSocket, WebSocketDisconnect

from app.core.schemas import MESSAGES, TrainConfig, echo, first_error
from app.core.settings import Settings
from app.core.wire import encode
from app.live.race import Race, TooManyIterations
from app.rooms.room import Room, RoomError
from app.server.connections import FORBIDDEN, TRY_AGAIN_LATER, client_address, origin_refusal

log = logging.getLogger("descent.session")

TICK = 1 / 60  # seconds between pacing ticks (frames go out every FRAME_EVERY)
SLICE = 0.012  # seconds of engine work per slice in a worker thread (speed 0), at most
INLINE_SLICE = 0.004  # ... and on the event loop itself (a paced tick: a few iterations)
DETAIL_EVERY = 0.25  # seconds between detail messages of the inspected run
OTHER_DETAIL_EVERY = 2.0  # ... and of the other runs
FRAME_EVERY = 0.033  # seconds between frames: points are coalesced (~30 frames per second)
MAX_CREDIT_SECONDS = 0.25  # a late tick may catch up this much, not more
TIMER_SLACK = 0.001  # a nap until the next iteration is due lasts this much longer (timer jitter)
INLINE_DETAILS = 0.002  # details that cost less CPU than this are computed on the event loop
BUILDS_AT_ONCE = 2  # races built at the same time, in worker threads (build_limiter)
# The limiter queues builds without holding threads, but frees its slot when a client that
# leaves abandons its build, which runs on: this bounds the builds that really run.
BUILDING = threading.Semaphore(BUILDS_AT_ONCE)
MAX_REFUSED = 500  # messages refused for rate before the socket is closed, with this reason:
TOO_MANY_MESSAGES = "too many messages (DESCENT_MAX_MESSAGES_PER_SECOND): closed"


class RateLimit:
    """A token bucket: `allow()` is False once the client sends faster than the rate allows.

    `refused` counts the messages refused in a row; past MAX_REFUSED the client is `exhausted`
    and its socket should be closed with TOO_MANY_MESSAGES.
    """

    def __init__(self, settings: Settings) -> None:
        self.rate, self.burst = settings.max_messages_per_second, settings.max_message_burst
        self.tokens, self.stamp = float(self.burst), time.monotonic()
        self.refused = 0

    def allow(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            self.refused = 0
            return True
        self.refused += 1
        return False

    @property
    def exhausted(self) -> bool:
        return self.refused > MAX_REFUSED


class ClientError(Exception):
    """A message the session cannot act on: becomes an `error` message, the socket stays open."""

    def __init__(self, message: str, code: str, field: str | None = None,
                 limit: int | None = None) -> None:
        super().__init__(message)
        self.code, self.field, self.limit = code, field, limit


def parse(raw: dict[str, Any], max_bytes: int) -> Any:
    """A validated client message from a raw ASGI `websocket.receive` event."""
    if raw.get("bytes") is not None:
        raise ClientError("binary frames are not accepted; send JSON text", "binary_frame")
    text = raw.get("text") or ""
    if len(text.encode("utf-8", "surrogatepass")) > max_bytes:
        raise ClientError(
            f"message larger than {max_bytes} bytes (DESCENT_MAX_MESSAGE_BYTES)", "too_large",
            limit=max_bytes)
    try:
        data = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise ClientError(f"message is not valid JSON: {exc}", "bad_json") from None
    if not isinstance(data, dict):
        raise ClientError("a message must be a JSON object with a \"type\"", "bad_message")
    kind = data.get("type")
    if not isinstance(kind, str) or kind not in MESSAGES:
        raise ClientError(
            f"unknown message type {echo(kind)}; expected one of: {', '.join(MESSAGES)}",
            "unknown_type", "type",
        )
    try:
        return MESSAGES[kind].model_validate(data)
    except ValidationError as exc:
        field, message, code = first_error(exc)
        raise ClientError(message, code, field) from None
    except RecursionError:
        raise ClientError("message is nested too deeply", "bad_message") from None


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not valid JSON")


class Session:
    """The state of one training socket and the two tasks that serve it."""

    def __init__(self, websocket: WebSocket, settings: Settings) -> None:
        self.ws = websocket
        self.settings = settings
        self.race: Race | None = None
        self.generation = 0
        self.paused = False
        self.speed = 30.0
        self.pacing = "iterations"
        self.pending_steps = 0
        self.stop_requested = False
        self.inspected: str | None = None
        self.batch_surface = False
        self.changed = asyncio.Event()
        self.send_lock = asyncio.Lock()
        self.credit: dict[str, float] = {}
        self.iterations_sent = 0
        self.room: Room | None = None
        self.viewers_changed = False
        self.lost: list[dict[str, Any]] = []  # `room_lost` messages for the pacer to send
        self.pending: dict[str, list] = {}  # points computed but not yet sent
        self.pending_t: float | None = None
        self.last_frame = 0.0
        self.last_detail = 0.0
        self.detail_sent: dict[str, tuple[int, float]] = {}
        self.detail_cost = float("inf")  # CPU seconds of the last details() that made messages
        self.clock = time.monotonic()  # when the pacer last gave the runs their credit
        self.waiter: asyncio.Future | None = None  # the pacer's nap, ended early by poke()

    # -- plumbing --------------------------------------------------------------------------
    async def send(self, message: dict[str, Any]) -> None:
        text = encode(message)
        if self.room is not None and (
            message["type"] != "detail" or message.get("run") == self.inspected
        ):
            self.room.publish(message, text)  # never waits: each viewer has its own queue
        async with self.send_lock:
            await self.ws.send_text(text)

    async def error(self, message: str, code: str, field: str | None = None,
                    limit: int | None = None) -> None:
        """An `error` message; `limit` is the value of the server cap that refused, if one did."""
        error = {"type": "error", "message": message, "field": field, "code": code}
        if limit is not None:
            error["limit"] = limit
        await self.send(error)

    def poke(self) -> None:
        self.changed.set()
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def nap(self, seconds: float) -> None:
        """Sleep up to `seconds`, less if poked: a future and a timer (no cancel scope, whose
        timeout cancels the task and costs an exception per tick: ~50 µs, 15 % of a core at
        50 sessions)."""
        if self.changed.is_set():  # poked since this tick began
            return
        loop = asyncio.get_running_loop()
        waiter = self.waiter = loop.create_future()
        timer = loop.call_later(seconds, _wake, waiter)
        try:
            await waiter
        finally:
            timer.cancel()
            self.waiter = None

    async def serve(self) -> None:
        """Run until the client goes away."""
        async with anyio.create_task_group() as tg:
            self.tg = tg
            tg.start_soon(self._guard, self.receive_loop, tg.cancel_scope)
            tg.start_soon(self._guard, self.pace_loop, tg.cancel_scope)

    async def _guard(self, loop: Callable[[], Awaitable[None]], scope: anyio.CancelScope) -> None:
        try:
            await loop()
        except (WebSocketDisconnect, RuntimeError, OSError):
            pass  # the client went away (a send on a closed socket raises RuntimeError)
        finally:
            scope.cancel()
            self.race = None  # a slice still running in the worker thread stops at once
            self.leave_room()

    # -- the receiver ----------------------------------------------------------------------
    async def receive_loop(self) -> None:
        limit = RateLimit(self.settings)
        while True:
            raw = await self.ws.receive()
            if raw["type"] == "websocket.disconnect":
                return
            if not limit.allow():
                if limit.exhausted:
                    await self.ws.close(code=1008, reason=TOO_MANY_MESSAGES)
                    return
                if limit.refused == 1 or limit.refused % 50 == 0:
                    await self.error(
                        f"too many messages: at most {limit.rate} per second (bursts of "
                        f"{limit.burst}; DESCENT_MAX_MESSAGES_PER_SECOND, "
                        "DESCENT_MAX_MESSAGE_BURST); this one was ignored", "rate_limited",
                        limit=limit.rate)
                continue
            try:
                await self.handle(parse(raw, self.settings.max_message_bytes))
            except ClientError as exc:
                await self.error(str(exc), exc.code, exc.field, exc.limit)

    async def handle(self, msg: Any) -> None:
        kind = msg.type
        if kind == "start":
            self.begin(msg.config, msg.paused)
        elif kind == "speed":
            self.speed = float(msg.value)
            self.clock = time.monotonic()  # no credit at the new speed for a nap at the old one
            await self.send_state()
        elif kind == "present":
            await self.present(msg.room, msg.token)
        elif kind == "end_presentation":
            await self.end_presentation()
        elif kind == "reproject":
            await self.reproject(msg.method)
        elif kind == "inspect":
            if self.race is not None and msg.run not in self.race.runs:
                raise ClientError(
                    f"no run named {msg.run!r}; runs: {', '.join(self.race.runs)}",
                    "unknown_run", "run",
                )
            self.inspected, self.batch_surface = msg.run, msg.batch_surface
            self.detail_cost = float("inf")  # measure again, in a worker thread first
            self.last_detail = 0.0
            self.detail_sent.pop(msg.run, None)
            race = self.race
            if race is not None and (self.paused or race.finished):  # the pacer is idle
                await self.send_details(race)
        elif self.race is None:
            raise ClientError(f"nothing to {kind}: send a start first", "no_run", "type")
        elif kind == "pause":
            self.paused = True
            await self.send_state()
        elif kind == "resume":
            self.paused = False
            await self.send_state()
        elif kind == "step":
            if not self.paused:
                raise ClientError("step works while paused; pause first", "not_paused", "type")
            self.pending_steps += 1
        elif kind == "stop":
            self.stop_requested = True
        self.poke()

    async def reproject(self, method: str) -> None:
        """Draw the race on a new plane (PCA of the paths so far): a new surface, every point on it.

        The race is paused meanwhile, so no point is projected on the old plane after this.
        """
        race = self.race
        if race is None:
            raise ClientError("nothing to project: send a start first", "no_run", "type")
        was_paused, self.paused = self.paused, True
        try:
            message = await anyio.to_thread.run_sync(race.reproject, method)
        except ValueError as exc:
            raise ClientError(str(exc), "cannot_reproject", "method") from None
        finally:
            self.paused = was_paused
        if race is self.race:
            await self.send(message)
            self.detail_sent = {}  # the arrows, on the new plane
            await self.send_details(race)
        self.poke()

    # -- presenting to a room ------------------------------------------------------------------
    async def present(self, code: str, token: str) -> None:
        """Broadcast this session to a room from now on (the token proves it is ours)."""
        self.leave_room()
        try:
            room = await self.ws.app.state.rooms.present(code, token)
        except RoomError as exc:
            raise ClientError(str(exc), exc.code, "room") from None
        self.room = room
        room.on_viewers.append(self.count_viewers)
        room.on_lost.append(self.room_lost)
        await self.send({"type": "presenting", "room": room.code, "viewers": room.viewer_count})
        race = self.race
        if race is not None:  # mid-run: give the room the run so far
            room.publish(*_pair(race.started_message()))
            room.publish(*_pair(race.surface_message()))
            if any(run.points for run in race.runs.values()):
                room.publish(*_pair(race.history_message()))
            if race.finished:
                room.publish(*_pair(race.done_message()))
            room.publish(*_pair(self.state_message()))
        log.info("session presents to room %s", room.code)

    def count_viewers(self, _count: int) -> None:
        self.viewers_changed = True
        self.poke()

    def room_lost(self, code: str, reason: str) -> None:
        """The room ended without us (e.g. Redis went away): stop presenting, say so."""
        room = self.room
        if room is None:
            return
        self.leave_room()
        self.lost.append({"type": "room_lost", "room": room.code, "code": code,
                          "reason": reason})
        self.poke()

    async def end_presentation(self) -> None:
        room = self.room
        if room is None:
            raise ClientError("this session is not presenting", "not_presenting", "type")
        self.leave_room()
        await self.ws.app.state.rooms.end(room.code)
        await self.send({"type": "presentation_ended", "room": room.code})

    def leave_room(self) -> None:
        room, self.room = self.room, None
        if room is not None:
            self.ws.app.state.rooms.unpresent(room)
            if self.count_viewers in room.on_viewers:
                room.on_viewers.remove(self.count_viewers)
            if self.room_lost in room.on_lost:
                room.on_lost.remove(self.room_lost)

    def state_message(self) -> dict[str, Any]:
        return {"type": "state", "paused": self.paused, "speed": self.speed,
                "generation": self.generation}

    async def send_state(self) -> None:
        await self.send(self.state_message())

    def begin(self, config: TrainConfig, paused: bool = False) -> None:
        """Drop the current race and build the new one in the background.

        The receiver goes on reading meanwhile, so a newer start, or a stop, overtakes a
        build that takes long (a big model's projected surface).
        """
        self.generation += 1
        self.race = None  # the pacer drops the old race at once
        self.poke()
        self.tg.start_soon(self._build, config, paused, self.generation)

    async def _build(self, config: TrainConfig, paused: bool, generation: int) -> None:
        try:
            await self.start(config, paused, generation)
        except (WebSocketDisconnect, RuntimeError, OSError):
            self.tg.cancel_scope.cancel()  # the client went away while we sent

    async def start(self, config: TrainConfig, paused: bool, generation: int) -> None:
        def build() -> Race | None:
            with BUILDING:  # held by the thread: an abandoned build still counts until it ends
                if generation != self.generation:  # a newer start came while this one queued
                    return None
                return Race(config, generation, self.settings)

        try:
            race = await anyio.to_thread.run_sync(build, abandon_on_cancel=True,
                                                  limiter=build_limiter(self.ws.app))
        except TooManyIterations as exc:
            if generation == self.generation:
                await self.error(str(exc), exc.code, "config.epochs", exc.limit)
            return
        except ValueError as exc:  # the engine refused a combination the schema let through
            if generation == self.generation:
                await self.error(f"config: {exc}", "bad_config", "config")
            return
        if race is None or generation != self.generation:  # a newer start arrived meanwhile
            return
        self.speed, self.pacing = config.speed, config.pacing
        self.paused, self.pending_steps, self.stop_requested = paused, 0, False
        self.credit = {name: 0.0 for name in race.runs}
        self.pending, self.pending_t, self.detail_sent = {}, None, {}
        self.detail_cost = float("inf")
        if self.inspected not in race.runs:
            self.inspected = next(iter(race.runs))
        await self.send(race.started_message())
        await self.send(race.surface_message())
        if paused:
            await self.send_state()
        self.race = race
        log.info("race %s started: %s, %s runs", generation, config.dataset, len(race.runs))
        self.poke()

    # -- the pacer ---------------------------------------------------------------------------
    async def pace_loop(self) -> None:
        self.clock = time.monotonic()
        while True:
            self.changed.clear()  # a poke from here on ends the wait or the nap below at once
            while self.lost:
                await self.send(self.lost.pop(0))
            if self.viewers_changed:
                self.viewers_changed = False
                if self.room is not None:
                    await self.send({"type": "presenting", "room": self.room.code,
                                     "viewers": self.room.viewer_count})
            race = self.race
            if race is not None and self.stop_requested:
                self.stop_requested = False
                race.stop()
                await self.finish(race)
                continue
            idle = race is None or race.finished or (self.paused and not self.pending_steps)
            if idle:
                if race is not None:
                    await self.flush_frame(race)
                    await self.send_details(race)  # e.g. paused between two detail ticks
                if not self.viewers_changed:
                    await self.changed.wait()
                    self.clock = time.monotonic()
                continue
            tick_start = time.monotonic()
            if self.paused:
                self.pending_steps -= 1
                points, t = self.one_step(race)
            else:
                dt, self.clock = tick_start - self.clock, tick_start
                if self.speed == 0:  # as fast as possible: whole slices, off the event loop
                    points, t = await anyio.to_thread.run_sync(self.slice, race, dt)
                else:
                    # A paced tick is a few iterations (~0.1 ms each): cheaper on the loop
                    # than a hop to a worker thread, which with many sessions queues for the GIL.
                    points, t = self.slice(race, dt, INLINE_SLICE)
            if race is not self.race:
                continue  # a new start replaced this race while the slice ran
            for name, pts in points.items():
                self.pending.setdefault(name, []).extend(pts)
            self.pending_t = self.pending_t or t
            now = time.monotonic()
            if self.paused or race.finished or now - self.last_frame >= FRAME_EVERY:
                await self.flush_frame(race)
            if self.paused or race.finished or now - self.last_detail >= DETAIL_EVERY:
                self.last_detail = now
                await self.send_details(race)
            if race.finished:
                await self.finish(race)
                continue
            if not self.paused:
                now = time.monotonic()
                spare = max(TICK - (now - tick_start), self.until_due(race))
                if self.pending:  # points held back by FRAME_EVERY go out in time
                    spare = min(spare, self.last_frame + FRAME_EVERY - now)
                if spare > 0:
                    await self.nap(spare)
                else:
                    await asyncio.sleep(0)  # let the other sessions run

    def until_due(self, race: Race) -> float:
        """Seconds until the next paced iteration is due (0 at speed 0): no tick before it."""
        if self.speed == 0:
            return 0.0
        credit = self.credit
        waits = [(1.0 - credit.get(name, 0.0)) / rate
                 for name, rate in self.rates(race).items() if rate > 0]
        return max(0.0, min(waits)) + TIMER_SLACK if waits else 0.0

    async def flush_frame(self, race: Race) -> None:
        """Send the points computed since the last frame, if any, as one frame."""
        if self.pending:
            pending, t = self.pending, self.pending_t
            self.pending, self.pending_t, self.last_frame = {}, None, time.monotonic()
            await self.send(race.frame_message(pending, t))

    async def finish(self, race: Race) -> None:
        await self.flush_frame(race)
        await self.send(race.done_message())
        log.info("race %s done", race.generation)

    def rates(self, race: Race) -> dict[str, float]:
        """Iterations per second (or, at speed 0, per round) of each run still going."""
        going = race.going()
        if self.pacing == "samples":
            smallest = min(run.effective_batch(race.n) for run in going)
            share = {run.name: smallest / run.effective_batch(race.n) for run in going}
        else:
            share = {run.name: 1.0 for run in going}
        if self.speed == 0:
            return share
        return {name: self.speed * s for name, s in share.items()}

    def slice(self, race: Race, dt: float, budget: float = SLICE) -> tuple[dict[str, list], float]:
        """Advance the runs that are due, for at most `budget` seconds."""
        rates = self.rates(race)
        credit = self.credit
        if self.speed > 0:
            for name, rate in rates.items():
                credit[name] = min(credit.get(name, 0.0) + rate * dt, rate * MAX_CREDIT_SECONDS + 1)
        points: dict[str, list] = {}
        deadline = time.perf_counter() + budget
        first_t = time.time()
        while time.perf_counter() < deadline and race is self.race:
            if self.speed == 0:
                for name, share in rates.items():
                    credit[name] = credit.get(name, 0.0) + share
            due = [race.runs[name] for name in rates if credit[name] >= 1.0]
            if not due:
                break
            for run in due:
                credit[run.name] -= 1.0
                point = race.advance(run)
                if point is not None:
                    points.setdefault(run.name, []).append(point)
                    self.iterations_sent += 1
            rates = {name: r for name, r in rates.items() if race.runs[name].going}
            if not rates:
                break
        return points, first_t

    def one_step(self, race: Race) -> tuple[dict[str, list], float]:
        """One iteration of every run still going (the Step button)."""
        t = time.time()
        points = {}
        for run in race.going():
            point = race.advance(run)
            if point is not None:
                points[run.name] = [point]
        return points, t

    async def send_details(self, race: Race) -> None:
        if self.detail_cost < INLINE_DETAILS:  # cheap: no hop to a worker thread and back
            messages = self.timed_details(race)
        else:
            messages = await anyio.to_thread.run_sync(self.timed_details, race)
        for message in messages:
            await self.send(message)

    def timed_details(self, race: Race) -> list[dict[str, Any]]:
        """details(), measuring its CPU time (this thread's, not waits for the GIL)."""
        t0 = time.thread_time()
        out = self.details(race)
        if out:
            self.detail_cost = time.thread_time() - t0
        return out

    def details(self, race: Race) -> list[dict[str, Any]]:
        """The latest iteration of each run that moved, opened up (in a worker thread unless
        the last ones cost under INLINE_DETAILS of CPU).

        The inspected run's every DETAIL_EVERY, the others' every OTHER_DETAIL_EVERY (they
        feed only the counters' hover and the arrows when inspected); a run whose iteration
        has not changed since its last detail gets none.
        """
        out = []
        now = time.monotonic()
        for run in race.runs.values():
            if run.last is None:
                continue
            inspected = run.name == self.inspected
            sent_iteration, sent_at = self.detail_sent.get(run.name, (0, 0.0))
            if run.last.iteration == sent_iteration:
                continue
            if not inspected and now - sent_at < OTHER_DETAIL_EVERY and run.going:
                continue
            message = race.detail_message(run, inspected, self.batch_surface and inspected)
            if message is not None:
                out.append(message)
                self.detail_sent[run.name] = (run.last.iteration, now)
        return out


def build_limiter(app: Any) -> anyio.CapacityLimiter:
    """The app's worker threads for building races, BUILDS_AT_ONCE of them.

    Fifty students pressing Start at once would otherwise build fifty surfaces in fifty threads,
    and the event loop, which paces every running session, would get the GIL a fiftieth of the
    time: the running sessions stutter. Queued builds of a replaced start are skipped.
    """
    limiter = getattr(app.state, "build_limiter", None)
    if limiter is None:  # made on first use: a limiter belongs to the running event loop
        limiter = app.state.build_limiter = anyio.CapacityLimiter(BUILDS_AT_ONCE)
    return limiter


def _wake(waiter: asyncio.Future) -> None:
    if not waiter.done():
        waiter.set_result(None)


def _pair(message: dict[str, Any]) -> tuple[dict[str, Any], str]:
    return message, encode(message)


async def serve_session(websocket: WebSocket) -> None:
    """Accept and serve one training socket (refused with a reason past the caps)."""
    connections = websocket.app.state.connections
    await websocket.accept()
    refusal = origin_refusal(websocket, websocket.app.state.settings)
    if refusal:
        await websocket.close(code=FORBIDDEN, reason=refusal)
        return
    refusal = connections.admit_session(websocket)
    if refusal:
        await websocket.close(code=TRY_AGAIN_LATER, reason=refusal)
        return
    address = client_address(websocket)
    log.info("session start from %s (%d open)", address, len(connections.sessions))
    session = Session(websocket, websocket.app.state.settings)
    try:
        await session.serve()
    finally:
        connections.release(websocket)
        log.info("session end from %s after %d points", address, session.iterations_sent)

