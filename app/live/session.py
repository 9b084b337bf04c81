"""One `/ws/train` connection: a receiver and a pacer in one task group.

The receiver reads the client's commands (app/live/messages.py) and changes the session's
state; a `start` builds the new race in a worker thread meanwhile. The pacer
(app/live/pacer.py) advances the race on a clock and sends frames; a session presenting to a
room (app/live/presenting.py) also publishes what it sends there. When either task ends, the
other is cancelled.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
from starlette.websockets import WebSocket, WebSocketDisconnect

from app.core.schemas import TrainConfig
from app.core.security import origin_refusal
from app.core.settings import Settings
from app.core.wire import encode
from app.live.messages import ClientError, RateLimit, parse, receive_within
from app.live.pacer import Pacer
from app.live.presenting import Presenting
from app.live.race import Race, TooManyIterations
from app.live.sweep import Sweeper
from app.server.connections import FORBIDDEN, TRY_AGAIN_LATER, client_address

log = logging.getLogger("descent.session")

BUILDS_AT_ONCE = 2  # races built at the same time, in worker threads (build_limiter)
# The limiter queues builds without holding threads, but frees its slot when a client that
# leaves abandons its build, which runs on: this bounds the builds that really run.
BUILDING = threading.Semaphore(BUILDS_AT_ONCE)
NEED_A_RACE = frozenset({"pause", "resume", "step", "stop"})  # commands refused before a start


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
        self.send_lock = asyncio.Lock()
        self.pacer = Pacer(self)
        self.presenting = Presenting(self)
        self.sweeper = Sweeper(self)  # the learning-rate map, computed beside the race
        self.commands: dict[str, Callable[[Any], Awaitable[None]]] = {
            "start": self.on_start, "speed": self.on_speed, "present": self.on_present,
            "end_presentation": self.on_end_presentation, "reproject": self.on_reproject,
            "inspect": self.on_inspect, "pause": self.on_pause, "resume": self.on_resume,
            "step": self.on_step, "stop": self.on_stop, "ask": self.presenting.ask,
            "reveal": self.presenting.reveal, "close_question": self.presenting.close_question,
            "sweep": self.on_sweep,
        }

    # -- plumbing --------------------------------------------------------------------------
    async def send(self, message: dict[str, Any]) -> None:
        text = encode(message)
        self.presenting.publish(message, text)
        async with self.send_lock:
            await self.ws.send_text(text)

    async def error(self, message: str, code: str, field: str | None = None,
                    limit: int | None = None) -> None:
        """An `error` message; `limit` is the value of the server cap that refused, if one did."""
        error = {"type": "error", "message": message, "field": field, "code": code}
        if limit is not None:
            error["limit"] = limit
        await self.send(error)

    def open_sessions(self) -> int:
        """Training sockets this process serves now (this one included)."""
        return len(self.ws.app.state.connections.sessions)

    def poke(self) -> None:
        """The state changed: the pacer looks again at once."""
        self.pacer.poke()

    async def serve(self) -> None:
        """Run until the client goes away."""
        async with anyio.create_task_group() as tg:
            self.tg = tg
            tg.start_soon(self._guard, self.receive_loop, tg.cancel_scope)
            tg.start_soon(self._guard, self.pacer.run, tg.cancel_scope)

    async def _guard(self, loop: Callable[[], Awaitable[None]], scope: anyio.CancelScope) -> None:
        try:
            await loop()
        except (WebSocketDisconnect, RuntimeError, OSError):
            pass  # the client went away (a send on a closed socket raises RuntimeError)
        finally:
            scope.cancel()
            self.presenting.park()  # a presenter's race waits for its page to come back
            self.race = None  # a slice still running in the worker thread stops at once

    # -- the receiver ----------------------------------------------------------------------
    async def receive_loop(self) -> None:
        limit = RateLimit(self.settings)
        while (raw := await receive_within(self.ws, limit)) is not None:
            if limit.refused:  # ignored, and said so now and then
                if limit.refused == 1 or limit.refused % 50 == 0:
                    await self.error(limit.refusal(), "rate_limited", limit=limit.rate)
                continue
            try:
                await self.handle(parse(raw, self.settings.max_message_bytes))
            except ClientError as exc:
                await self.error(str(exc), exc.code, exc.field, exc.limit)

    async def handle(self, msg: Any) -> None:
        """Act on one valid client message, then wake the pacer."""
        kind = msg.type
        if kind in NEED_A_RACE and self.race is None:
            raise ClientError(f"nothing to {kind}: send a start first", "no_run", "type")
        await self.commands[kind](msg)
        self.poke()

    # -- the commands ------------------------------------------------------------------------
    async def on_start(self, msg: Any) -> None:
        self.sweeper.cancel()  # a map of the old settings is of no use any more
        lesson = msg.lesson
        if lesson is not None:
            known = self.ws.app.state.lessons.get(lesson.id)
            if known is None:
                raise ClientError(f"lesson.id: no lesson {lesson.id!r}", "bad_value", "lesson.id")
            if lesson.step > len(known.steps):
                raise ClientError(f"lesson.step must be an integer in [1, {len(known.steps)}], "
                                  f"got {lesson.step}", "out_of_range", "lesson.step")
        self.begin(msg.config, msg.paused, lesson and lesson.model_dump())

    async def on_sweep(self, msg: Any) -> None:
        self.sweeper.begin(msg)

    async def on_speed(self, msg: Any) -> None:
        self.speed = float(msg.value)
        self.pacer.clock = time.monotonic()  # no credit at the new speed for a nap at the old one
        await self.send_state()

    async def on_present(self, msg: Any) -> None:
        await self.presenting.present(msg.room, msg.token)

    async def on_end_presentation(self, _msg: Any) -> None:
        await self.presenting.end()

    async def on_reproject(self, msg: Any) -> None:
        await self.reproject(msg.method)

    async def on_inspect(self, msg: Any) -> None:
        if self.race is not None and msg.run not in self.race.runs:
            raise ClientError(
                f"no run named {msg.run!r}; runs: {', '.join(self.race.runs)}",
                "unknown_run", "run",
            )
        self.inspected, self.batch_surface = msg.run, msg.batch_surface
        self.pacer.inspect(msg.run)
        race = self.race
        if race is not None and (self.paused or race.finished):  # the pacer is idle
            await self.pacer.send_details(race)

    async def on_pause(self, _msg: Any) -> None:
        self.paused = True
        await self.send_state()

    async def on_resume(self, _msg: Any) -> None:
        self.paused = False
        await self.send_state()

    async def on_step(self, _msg: Any) -> None:
        if not self.paused:
            raise ClientError("step works while paused; pause first", "not_paused", "type")
        self.pending_steps += 1

    async def on_stop(self, _msg: Any) -> None:
        self.stop_requested = True

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
            await self.show_plane(race, message)
        self.poke()

    async def refit(self, race: Race) -> None:
        """The race's own fit of the plane to the paths (Race.refit_due), sent by the pacer.

        Paths that cannot span a plane yet (they never left the start) keep the current one.
        """
        try:
            message = await anyio.to_thread.run_sync(race.reproject, "pca", True)
        except ValueError:
            return
        if message is not None and race is self.race:
            await self.show_plane(race, message)

    async def show_plane(self, race: Race, message: dict[str, Any]) -> None:
        """Send a new plane's surface, and the details again, their arrows on it."""
        await self.send(message)
        self.pacer.detail_sent = {}
        await self.pacer.send_details(race)

    def state_message(self) -> dict[str, Any]:
        return {"type": "state", "paused": self.paused, "speed": self.speed,
                "generation": self.generation}

    async def send_state(self) -> None:
        await self.send(self.state_message())

    # -- building a race ---------------------------------------------------------------------
    def begin(self, config: TrainConfig, paused: bool = False,
              lesson: dict[str, Any] | None = None) -> None:
        """Drop the current race and build the new one in the background.

        The receiver goes on reading meanwhile, so a newer start, or a stop, overtakes a
        build that takes long (a big model's projected surface).
        """
        self.generation += 1
        self.race = None  # the pacer drops the old race at once
        self.poke()
        self.tg.start_soon(self._build, config, paused, self.generation, lesson)

    async def _build(self, config: TrainConfig, paused: bool, generation: int,
                     lesson: dict[str, Any] | None = None) -> None:
        try:
            await self.start(config, paused, generation, lesson)
        except (WebSocketDisconnect, RuntimeError, OSError):
            self.tg.cancel_scope.cancel()  # the client went away while we sent

    async def start(self, config: TrainConfig, paused: bool, generation: int,
                    lesson: dict[str, Any] | None = None) -> None:
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
        race.lesson = lesson
        self.speed, self.pacing = config.speed, config.pacing
        self.paused, self.pending_steps, self.stop_requested = paused, 0, False
        self.pacer.reset(race)
        if self.inspected not in race.runs:
            self.inspected = next(iter(race.runs))
        await self.send(race.started_message())
        await self.send(race.surface_message())
        if paused:
            await self.send_state()
        self.race = race
        log.info("race %s started: %s, %s runs", generation, config.dataset, len(race.runs))
        self.poke()


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
        log.info("session end from %s after %d points", address, session.pacer.iterations_sent)
