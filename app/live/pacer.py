"""The pacer: a session's sender, which advances its race on a clock and sends what it made.

It gives each run credit at `speed` iterations per second (or, pacing by samples, at rates that
give every run the same samples per second), advances the runs that are due, coalesces the new
points into at most 20 frames per second, and sends the inspected run's details. A paced tick
is a few iterations, done on the event loop; it wakes when a frame is due and an iteration with
it (iterations due sooner wait for the frame: one wake-up and one send per frame). At speed 0
the engine runs in a worker thread in slices of a few milliseconds, so the event loop stays
free for other pages and sessions; details run there too unless they proved cheap. The pacer
awaits each send before computing more, so a client that stops reading stops its trainer
instead of filling memory.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

import anyio

from app.core.frames import PendingFrame
from app.live.race import Race

if TYPE_CHECKING:
    from app.live.session import Session

log = logging.getLogger("descent.session")

TICK = 1 / 60  # seconds between pacing ticks (frames go out every FRAME_EVERY)
SLICE = 0.012  # seconds of engine work per slice in a worker thread (speed 0), at most
INLINE_SLICE = 0.004  # ... and on the event loop itself (a paced tick: a few iterations)
DETAIL_EVERY = 0.25  # seconds between detail messages of the inspected run
#: ... twice that (and twice OTHER_DETAIL_EVERY) while this process serves more than CROWD
#: sessions: a detail costs 10-20 times a point, and a lecture hall's frames come first (issue 17)
CROWD = 50
OTHER_DETAIL_EVERY = 2.0  # ... and of the other runs
#: Seconds between frames: points are coalesced (20 frames per second). The page redraws its
#: three plots in turn, one per animation frame, so each plot shows at most ~20 updates a
#: second (static/js/draw.js): more frames would cost the server sends, not the class motion.
#: At 100 sessions each frame's send was a fifth of the server's CPU (issue 17).
FRAME_EVERY = 0.05
MAX_CREDIT_SECONDS = 0.25  # a late tick may catch up this much, not more
TIMER_SLACK = 0.001  # a nap until the next iteration is due lasts this much longer (timer jitter)
INLINE_DETAILS = 0.002  # details that cost less CPU than this are computed on the event loop

Points = dict[str, list]


class Pacer:
    """What the session's sender keeps between ticks: credit, the pending frame, details sent."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.changed = asyncio.Event()  # set by poke(): the session's state changed
        self.waiter: asyncio.Future | None = None  # the current nap, ended early by poke()
        self.credit: dict[tuple[str, int], float] = {}  # per run and repeat
        self.pending = PendingFrame()  # points computed but not yet sent
        self.last_frame = 0.0
        self.last_detail = 0.0
        self.detail_sent: dict[str, tuple[int, float]] = {}
        self.detail_cost = float("inf")  # CPU seconds of the last details() that made messages
        self.clock = time.monotonic()  # when the runs last got their credit
        self.iterations_sent = 0

    def reset(self, race: Race) -> None:
        """A new race: no credit, nothing pending, no details sent yet."""
        self.credit = {run.key: 0.0 for run in race.all}
        self.pending, self.detail_sent = PendingFrame(), {}
        self.detail_cost = float("inf")

    def inspect(self, run: str) -> None:
        """Another run (or the batch surface) is inspected: its details go out on the next tick."""
        self.detail_cost = float("inf")  # measure again, in a worker thread first
        self.last_detail = 0.0
        self.detail_sent.pop(run, None)

    # -- waking and napping ------------------------------------------------------------------
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

    # -- the loop ----------------------------------------------------------------------------
    async def run(self) -> None:
        """Tick while a race goes; wait for a poke while there is nothing to do."""
        session = self.session
        self.clock = time.monotonic()
        while True:
            self.changed.clear()  # a poke from here on ends the wait or the nap below at once
            await session.presenting.send_news()
            race = session.race
            if race is not None and session.stop_requested:
                session.stop_requested = False
                race.stop()
                await self.finish(race)
            elif race is None or race.finished or (session.paused and not session.pending_steps):
                await self.idle(race)
            else:
                await self.tick(race)

    async def idle(self, race: Race | None) -> None:
        """Send what is left of the race, then wait for a poke."""
        if race is not None:
            await self.flush_frame(race)
            await self.send_details(race)  # e.g. paused between two detail ticks
        if not self.session.presenting.viewers_changed:
            await self.changed.wait()
            self.clock = time.monotonic()

    async def tick(self, race: Race) -> None:
        """Advance the runs that are due; send a frame and details when theirs are due."""
        session = self.session
        tick_start = time.monotonic()
        points, t = await self.advance(race, tick_start)
        if race is not session.race:
            return  # a new start replaced this race while the slice ran
        self.pending.add(points, t)
        if race.refit_due():  # the points so far go out on the old plane, the new one moves them
            await self.flush_frame(race)
            await session.refit(race)
            if race is not session.race:
                return
        now = time.monotonic()
        if session.paused or race.finished or now - self.last_frame >= FRAME_EVERY:
            await self.flush_frame(race)
        if session.paused or race.finished or now - self.last_detail >= self.detail_every():
            self.last_detail = now
            await self.send_details(race)
        if race.finished:
            await self.finish(race)
        elif not session.paused:
            await self.rest(race, tick_start)

    def detail_every(self) -> float:
        return detail_every(self.session.open_sessions())

    async def advance(self, race: Race, tick_start: float) -> tuple[Points, float]:
        """One step while paused (the Step button), else a slice of the credit earned."""
        session = self.session
        if session.paused:
            session.pending_steps -= 1
            return self.one_step(race)
        dt, self.clock = tick_start - self.clock, tick_start
        if session.speed == 0:  # as fast as possible: whole slices, off the event loop
            return await anyio.to_thread.run_sync(self.slice, race, dt)
        # A paced tick is a few iterations (~0.1 ms each): cheaper on the loop than a hop to a
        # worker thread, which with many sessions queues for the GIL.
        return self.slice(race, dt, INLINE_SLICE)

    async def rest(self, race: Race, tick_start: float) -> None:
        """Nap until the next iteration or frame is due (at least until the next tick)."""
        now = time.monotonic()
        due = self.until_due(race)
        spare = max(TICK - (now - tick_start), due)
        if self.session.speed > 0 and due > TIMER_SLACK:  # (none due now: not behind the pace)
            spare = max(spare, self.last_frame + FRAME_EVERY - now)  # it waits for the frame
        if self.pending:  # points held back by FRAME_EVERY go out in time
            spare = min(spare, self.last_frame + FRAME_EVERY - now)
        if spare > 0:
            await self.nap(spare)
        else:
            await asyncio.sleep(0)  # let the other sessions run

    def until_due(self, race: Race) -> float:
        """Seconds until the next paced iteration is due (0 at speed 0): no tick before it."""
        if self.session.speed == 0:
            return 0.0
        credit = self.credit
        waits = [(1.0 - credit.get(key, 0.0)) / rate
                 for key, rate in self.rates(race).items() if rate > 0]
        return max(0.0, min(waits)) + TIMER_SLACK if waits else 0.0

    async def flush_frame(self, race: Race) -> None:
        """Send the points computed since the last frame, if any, as one frame."""
        if self.pending:
            pending, t = self.pending.take()
            self.last_frame = time.monotonic()
            await self.session.send(race.frame_message(pending, t))

    async def finish(self, race: Race) -> None:
        await self.flush_frame(race)
        if race.refit_due():  # stopped: the plane fitted to every point, before `done`
            await self.session.refit(race)
        await self.session.send(race.done_message())
        log.info("race %s done", race.generation)

    # -- advancing the runs ------------------------------------------------------------------
    def rates(self, race: Race) -> dict[tuple[str, int], float]:
        """Iterations per second (or, at speed 0, per round) of each run (and repeat) still
        going: every repeat of a run keeps its pace."""
        going = race.going()
        if self.session.pacing == "samples":
            smallest = min(run.schedule.effective_batch_size for run in going)
            share = {run.key: smallest / run.schedule.effective_batch_size for run in going}
        else:
            share = {run.key: 1.0 for run in going}
        speed = self.session.speed
        if speed == 0:
            return share
        return {key: speed * s for key, s in share.items()}

    def slice(self, race: Race, dt: float, budget: float = SLICE) -> tuple[Points, float]:
        """Advance the runs that are due, for at most `budget` seconds."""
        session = self.session
        rates = self.rates(race)
        credit = self.credit
        if session.speed > 0:
            for key, rate in rates.items():
                credit[key] = min(credit.get(key, 0.0) + rate * dt, rate * MAX_CREDIT_SECONDS + 1)
        points: Points = {}
        deadline = time.perf_counter() + budget
        first_t = time.time()
        while time.perf_counter() < deadline and race is session.race:
            if session.speed == 0:
                for key, share in rates.items():
                    credit[key] = credit.get(key, 0.0) + share
            due = [race.run_of(key) for key in rates if credit[key] >= 1.0]
            if not due:
                break
            for run in due:
                credit[run.key] -= 1.0
                point = race.advance(run)
                if point is not None:
                    points.setdefault(run.name, []).append(point)
                    self.iterations_sent += 1
            rates = {key: r for key, r in rates.items() if race.run_of(key).going}
            if not rates:
                break
        return points, first_t

    def one_step(self, race: Race) -> tuple[Points, float]:
        """One iteration of every run still going (the Step button)."""
        t = time.time()
        points = {}
        for run in race.going():
            point = race.advance(run)
            if point is not None:
                points.setdefault(run.name, []).append(point)
        return points, t

    # -- details -----------------------------------------------------------------------------
    async def send_details(self, race: Race) -> None:
        if self.detail_cost < INLINE_DETAILS:  # cheap: no hop to a worker thread and back
            messages = self.timed_details(race)
        else:
            messages = await anyio.to_thread.run_sync(self.timed_details, race)
        for message in messages:
            await self.session.send(message)

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
        session = self.session
        crowd = self.detail_every() / DETAIL_EVERY  # 2 in a crowd, else 1
        for run in race.runs.values():
            if run.last is None:
                continue
            inspected = run.name == session.inspected
            sent_iteration, sent_at = self.detail_sent.get(run.name, (0, 0.0))
            if run.last.iteration == sent_iteration:
                continue
            if not inspected and now - sent_at < OTHER_DETAIL_EVERY * crowd and run.going:
                continue
            message = race.detail_message(run, inspected, session.batch_surface and inspected)
            if message is not None:
                out.append(message)
                self.detail_sent[run.name] = (run.last.iteration, now)
        return out


def detail_every(open_sessions: int) -> float:
    """Seconds between two rounds of details: DETAIL_EVERY, doubled in a crowd."""
    return DETAIL_EVERY * (2 if open_sessions > CROWD else 1)


def _wake(waiter: asyncio.Future) -> None:
    if not waiter.done():
        waiter.set_result(None)
