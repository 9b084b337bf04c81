"""The learning-rate map, served: `POST /api/sweep` at once, or over the training socket in slices.

A request names a config, learning rates and batch sizes; each pair is trained from the config's
start with its seed and its first run's update rule (engine/sweep.py). The whole map counts
against DESCENT_MAX_HEADLESS_ITERATIONS, checked on the config's arithmetic before any work.

On the socket (`{"type": "sweep", ...}`) the map is computed in a worker thread in slices of
about SLICE_SECONDS, a few sessions' at a time (the headless concurrency), so the session's
receiver and pacer go on meanwhile; `sweep_progress` reports every PROGRESS_EVERY seconds and
`sweep_result` ends it. A newer `sweep` or `start` drops the map being computed.

Progress under load: a slice ends early, even inside a cell, when a progress is due, and the
loop sends it as the slice returns, while the worker holds no GIL. A timer alone (as before)
had to wake the loop while the worker computed: on a starved machine each wake-up first waits
for the worker to give up the GIL and then for the OS to run the loop again, and the timer's
`sweep_progress` went out up to 0.3 s late. The timer stays for slices that wait their turn.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Literal

import anyio
from pydantic import BaseModel

from app.core.schemas import SweepMessage, SweepRequest
from app.core.settings import Settings
from engine import make_dataset, model_for
from engine.descent import STATUSES
from engine.problem import iterations_per_epoch
from engine.sweep import Sweep

if TYPE_CHECKING:
    from app.live.session import Session

#: Seconds of compute per slice in the worker thread (then the session looks up: cancelled?).
SLICE_SECONDS = 0.02
#: Seconds between two `sweep_progress` messages: the page is promised one at least every
#: 250 ms, and a busy machine delays the event loop by tens of milliseconds now and then.
PROGRESS_EVERY = 0.1


class SweepRefused(ValueError):
    """A map over a server cap; the message names the setting, `limit` is its value."""

    code = "too_many_iterations"
    field = "config.epochs"

    def __init__(self, message: str, limit: int) -> None:
        super().__init__(message)
        self.limit = limit


class SweepCell(BaseModel):
    """One learning rate × batch size: its final full-data loss (null if it diverged)."""

    loss: float | None
    status: Literal[tuple(s for s in STATUSES if s != "running")]  # type: ignore[valid-type]
    iterations: int


class SweepResult(BaseModel):
    """The map: cells[i][j] is learning rate i with batch size j."""

    lrs: list[float]
    batch_sizes: list[int | None]
    cells: list[list[SweepCell]]
    lr_limit: float | None  # 2 / λ_max for plain GD on w·x + b with MSE, else null


def plan(request: SweepRequest, limits: Settings) -> int:
    """The iterations the whole map may take; SweepRefused past a cap (nothing is built)."""
    config = request.config
    total = 0
    for batch in request.batch_sizes:
        per_run = iterations_per_epoch(config.n_samples, batch) * config.epochs
        if per_run > limits.max_iterations_per_run:
            raise SweepRefused(
                f"batch size {batch} would take {per_run:,} iterations per cell; at most "
                f"{limits.max_iterations_per_run:,} (DESCENT_MAX_ITERATIONS_PER_RUN): lower "
                "epochs or n_samples, or use a bigger batch", limits.max_iterations_per_run)
        total += per_run * len(request.lrs)
    if total > limits.max_headless_iterations:
        raise SweepRefused(
            f"this map needs up to {total:,} iterations ({len(request.lrs)} learning rates x "
            f"{len(request.batch_sizes)} batch sizes); one map may compute at most "
            f"{limits.max_headless_iterations:,} (DESCENT_MAX_HEADLESS_ITERATIONS): fewer "
            "learning rates, bigger batches, fewer epochs or samples",
            limits.max_headless_iterations)
    return total


def build(request: SweepRequest) -> Sweep:
    """The engine's sweep of this config: its data, model (start), seed and first update rule."""
    c = request.config
    data = make_dataset(c.dataset, n_samples=c.n_samples, noise=c.noise, seed=c.seed,
                        n_classes=c.n_classes)
    model = model_for(data.task, data.n_features, data.n_classes, c.hidden, c.activation, c.seed)
    return Sweep(data.X, data.y, model, c.loss, request.lrs, request.batch_sizes, c.epochs,
                 seed=c.seed, update=c.runs[0].update, target_loss=c.target_loss,
                 patience=c.patience)


def result(request: SweepRequest, sweep: Sweep) -> dict[str, Any]:
    """The finished map as JSON (the body of `POST /api/sweep` and of `sweep_result`)."""
    return {
        "lrs": list(request.lrs),
        "batch_sizes": list(request.batch_sizes),
        "cells": [[{"loss": c.loss, "status": c.status, "iterations": c.iterations}
                   for c in row] for row in sweep.cells],
        "lr_limit": sweep.lr_limit,
    }


def compute(request: SweepRequest) -> dict[str, Any]:
    """The whole map at once (call `plan` first)."""
    sweep = build(request)
    sweep.run()
    return result(request, sweep)


def work(sweep: Sweep, due: float = float("inf")) -> bool:
    """One slice (in a worker thread): about SLICE_SECONDS, or up to the monotonic time `due`
    (the next progress) if that is sooner, a cell finished or not; whether the map is done."""
    end = min(time.monotonic() + SLICE_SECONDS, due)
    while not sweep.finished and time.monotonic() < end:
        sweep.advance(8)
    return sweep.finished


class Sweeper:
    """A session's map in progress: at most one; a newer request or a start drops it."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.ticket = 0  # the map being computed; a newer one (or cancel) moves it on
        self.reported = 0.0  # when its latest `sweep_progress` went out (monotonic)
        # the latest map sent, with the config it is of: a room presented later gets it too
        self.latest: tuple[dict[str, Any], dict[str, Any]] | None = None

    def cancel(self) -> None:
        """Drop the map in progress (its slice ends, and nothing more of it is sent)."""
        self.ticket += 1

    def begin(self, msg: SweepMessage) -> None:
        """Drop the map in progress and compute this one in the background."""
        self.cancel()
        self.session.tg.start_soon(self._run, msg, self.ticket)

    async def _run(self, msg: SweepMessage, ticket: int) -> None:
        session = self.session
        try:
            plan(msg, session.settings)
            sweep = await anyio.to_thread.run_sync(build, msg, limiter=limiter(session))
        except SweepRefused as exc:
            await self._error(msg, ticket, str(exc), exc.code, exc.field, exc.limit)
            return
        except ValueError as exc:  # the engine refused a combination the schema let through
            await self._error(msg, ticket, f"config: {exc}", "bad_config", "config")
            return
        self.reported = -PROGRESS_EVERY  # the first progress is due now
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._report, msg, sweep, ticket)
            try:
                while ticket == self.ticket and not await anyio.to_thread.run_sync(
                        work, sweep, self.reported + PROGRESS_EVERY, limiter=limiter(session)):
                    await self._progress(msg, sweep, ticket)  # if due: the worker is idle now
            finally:
                tg.cancel_scope.cancel()
        if ticket == self.ticket:
            message = {"type": "sweep_result", "id": msg.id, **result(msg, sweep)}
            self.latest = (map_config(msg.config), message)
            await session.send(message)

    def latest_of(self, config: Any) -> dict[str, Any] | None:
        """The latest map sent, if it is of this config (any field but the speed)."""
        if self.latest is None or self.latest[0] != map_config(config):
            return None
        return self.latest[1]

    async def _report(self, msg: SweepMessage, sweep: Sweep, ticket: int) -> None:
        """`sweep_progress` now, and later whenever the slices (waiting their turn, or with
        the loop too busy to take one back) let one fall a slice behind."""
        while ticket == self.ticket:
            await self._progress(msg, sweep, ticket)
            await anyio.sleep(max(0.0, self.reported + PROGRESS_EVERY + SLICE_SECONDS
                                  - time.monotonic()))

    async def _progress(self, msg: SweepMessage, sweep: Sweep, ticket: int) -> None:
        """A `sweep_progress` if one is due (PROGRESS_EVERY since the last)."""
        with anyio.CancelScope(shield=True):  # a progress is sent whole, before the result
            now = time.monotonic()
            if ticket != self.ticket or now < self.reported + PROGRESS_EVERY:
                return
            self.reported = now
            await self.session.send({"type": "sweep_progress", "id": msg.id,
                                     "done": sweep.done, "total": sweep.total})

    async def _error(self, msg: SweepMessage, ticket: int, text: str, code: str, field: str,
                     limit: int | None = None) -> None:
        if ticket != self.ticket:
            return
        error = {"type": "error", "message": text, "field": field, "code": code,
                 "sweep": msg.id}
        if limit is not None:
            error["limit"] = limit
        await self.session.send(error)


def map_config(config: Any) -> dict[str, Any]:
    """What a map depends on: a config's every field but its speed."""
    return config.model_dump(exclude={"speed"})


def limiter(session: Session) -> anyio.CapacityLimiter:
    """The app's worker threads for maps: DESCENT_MAX_HEADLESS_CONCURRENT slices at once, so
    fifty students' maps leave the event loop its share of the GIL (see build_limiter)."""
    state = session.ws.app.state
    if getattr(state, "sweep_limiter", None) is None:  # made on first use, in the running loop
        state.sweep_limiter = anyio.CapacityLimiter(session.settings.max_headless_concurrent)
    return state.sweep_limiter
