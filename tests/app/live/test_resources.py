"""Resources: nothing leaks over many short sessions and room viewers; a stalled client is cheap.

The app runs IN this process (uvicorn.Server in a background thread with its own event loop), so
the tests can look inside it: the open sessions and room viewers, the asyncio tasks on the
server's loop, the threads, and the live Python memory (tracemalloc). The 1,000-cycle clients run
in a separate process (this file, run as a script, with the asyncio `websockets` client, a few
cycles in flight), so their own work neither competes for this process's GIL nor shows up in
its memory. No wall-clock limits: the waits are generous timeouts.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import subprocess
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import websockets
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

if __name__ != "__main__":  # the test module (the client script needs none of this)
    import anyio.to_thread
    import httpx
    import uvicorn
    from conftest import free_port

    import app.live.session
    from app.core.settings import Settings
    from app.main import create_app

CYCLES = 1_000
WARM_UP = 50
IN_FLIGHT = 4  # cycles the client process keeps going at once
TASK_SLACK = 3  # tasks that may still be winding down on the server loop
MEMORY_BOUND = 2 * 1024 * 1024  # bytes of live Python memory the 1,000 cycles may leave behind
SMALL_RUN = {"n_samples": 20, "speed": 1000, "epochs": 50}  # 1,000 SGD iterations: ~1 s


class InProcessServer:
    """create_app() under uvicorn.Server in a thread with its own loop; helpers to look inside."""

    def __init__(self, settings: Settings) -> None:
        self.app = create_app(settings)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.ws_base = f"ws://127.0.0.1:{self.port}"
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning",
                                ws_per_message_deflate=False)
        self.server = uvicorn.Server(config)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, name="in-process-uvicorn", daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self.server.serve())

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            assert self.thread.is_alive(), "the in-process server stopped during start-up"
            assert time.monotonic() < deadline, "the in-process server did not start"
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=60)
        self.loop.close()

    def call(self, fn: Callable[[], Any]) -> Any:
        """fn() run on the server's loop (state is read where it is changed)."""

        async def run() -> Any:
            return fn()

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(timeout=60)

    def tasks(self) -> int:
        return self.call(lambda: len(asyncio.all_tasks(self.loop)))

    def sessions(self) -> int:
        return self.call(lambda: len(self.app.state.connections.sessions))

    def sockets(self) -> int:
        return self.call(lambda: len(self.app.state.connections.sockets))

    def viewers(self, code: str) -> int:
        return self.call(lambda: len(self.app.state.rooms.rooms[code].viewers))

    def pool_size(self) -> int:
        async def tokens() -> int:
            return int(anyio.to_thread.current_default_thread_limiter().total_tokens)

        return asyncio.run_coroutine_threadsafe(tokens(), self.loop).result(timeout=60)

    def wait_until(self, what: str, predicate: Callable[[], bool], timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"{what}: still not true after {timeout} s")
            time.sleep(0.02)


@pytest.fixture(scope="module")
def server() -> Iterator[InProcessServer]:
    s = InProcessServer(Settings(log_level="warning"))
    s.start()
    try:
        yield s
    finally:
        s.stop()


def start_message(**config: Any) -> str:
    return json.dumps({"type": "start", "config": config})


def until(ws, prefix: str, timeout: float = 60) -> str:
    """Raw messages until one starting with `prefix` (no full parse: keeps the cycles light)."""
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        raw = ws.recv(timeout=left)
        if raw.startswith(prefix):
            return raw
    raise TimeoutError(f"no {prefix}...}} message within {timeout} s")


def run_cycles(s: InProcessServer, kind: str, count: int, code: str = "") -> None:
    """`count` cycles of `kind` ("session" or "viewer") from a client process; fails on errors."""
    url = s.ws_base + ("/ws/train" if kind == "session" else f"/ws/room/{code}")
    proc = subprocess.run([sys.executable, __file__, kind, url, str(count), str(IN_FLIGHT)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"the client process failed:\n{proc.stdout}\n{proc.stderr}"


@contextlib.contextmanager
def traced() -> Iterator[Callable[[], int]]:
    """tracemalloc on; yields a function giving the live bytes traced since it started."""
    gc.collect()
    tracemalloc.start()
    try:
        yield lambda: (gc.collect(), tracemalloc.get_traced_memory()[0])[1]
    finally:
        tracemalloc.stop()


def top_growth(before: tracemalloc.Snapshot, after: tracemalloc.Snapshot) -> str:
    stats = after.compare_to(before, "lineno")[:8]
    return "\n".join(str(stat) for stat in stats)


def assert_back_to_baseline(s: InProcessServer, tasks: int, threads: int) -> None:
    s.wait_until("no training sessions left", lambda: s.sessions() == 0)
    s.wait_until(f"tasks back to {tasks} + {TASK_SLACK}", lambda: s.tasks() <= tasks + TASK_SLACK)
    pool = s.pool_size()
    s.wait_until(f"threads back near {threads} (+ the {pool}-thread worker pool)",
                 lambda: threading.active_count() <= threads + pool)


# -- 1,000 sessions, 1,000 viewers ---------------------------------------------------------------
def test_sessions_dropped_mid_run_leave_nothing_behind(server):
    run_cycles(server, "session", WARM_UP)
    server.wait_until("warm-up sessions released", lambda: server.sessions() == 0)
    tasks, threads = server.tasks(), threading.active_count()
    with traced() as live:
        first = tracemalloc.take_snapshot()
        base = live()
        run_cycles(server, "session", CYCLES)
        assert_back_to_baseline(server, tasks, threads)
        assert server.sockets() == 0
        grown = live() - base
        print(f"{CYCLES} sessions: +{grown / 1e3:.0f} KB live, {server.tasks()} tasks "
              f"(baseline {tasks}), {threading.active_count()} threads (baseline {threads})")
        if grown >= MEMORY_BOUND:
            pytest.fail(f"{CYCLES} sessions left {grown / 1e6:.2f} MB of live memory behind:\n"
                        + top_growth(first, tracemalloc.take_snapshot()))


class Teacher:
    """A presenting session whose messages a background thread drains (so it never stalls)."""

    def __init__(self, s: InProcessServer, room: dict, config: dict) -> None:
        self._connection = connect(s.ws_base + "/ws/train", max_size=2**26)
        self.ws = self._connection.__enter__()
        self.ws.send(json.dumps({"type": "present", "room": room["code"],
                                 "token": room["token"]}))
        until(self.ws, '{"type":"presenting"')
        self.ws.send(json.dumps({"type": "start", "config": config}))
        until(self.ws, '{"type":"frame"')
        self.frames = 0
        self.reader = threading.Thread(target=self._drain, daemon=True)
        self.reader.start()

    def _drain(self) -> None:
        with contextlib.suppress(ConnectionClosed):
            for raw in self.ws:
                self.frames += raw.startswith('{"type":"frame"')

    def close(self) -> None:
        self._connection.__exit__(None, None, None)
        self.reader.join(timeout=60)


def create_room(s: InProcessServer) -> dict:
    r = httpx.post(s.base + "/api/rooms", timeout=30)
    assert r.status_code == 201, r.text
    return r.json()


def test_room_viewers_that_come_and_go_leave_nothing_behind(server):
    room = create_room(server)
    code = room["code"]
    # The teacher keeps running slowly the whole time (5 iterations per second per run).
    teacher = Teacher(server, room, {"speed": 5, "epochs": 1000, "n_samples": 20})
    try:
        run_cycles(server, "viewer", WARM_UP, code)
        server.wait_until("warm-up viewers gone", lambda: server.viewers(code) == 0)
        tasks, threads = server.tasks(), threading.active_count()
        frames_before = teacher.frames
        with traced() as live:
            first = tracemalloc.take_snapshot()
            base = live()
            run_cycles(server, "viewer", CYCLES, code)
            server.wait_until("every viewer gone", lambda: server.viewers(code) == 0)
            server.wait_until("only the teacher's socket left", lambda: server.sockets() == 1)
            server.wait_until(f"tasks back to {tasks} + {TASK_SLACK}",
                              lambda: server.tasks() <= tasks + TASK_SLACK)
            grown = live() - base
            print(f"{CYCLES} viewers: +{grown / 1e3:.0f} KB live, {server.tasks()} tasks "
                  f"(baseline {tasks})")
            if grown >= MEMORY_BOUND:
                pytest.fail(f"{CYCLES} viewers left {grown / 1e6:.2f} MB of live memory behind "
                            "(the teacher's own run included):\n"
                            + top_growth(first, tracemalloc.take_snapshot()))
        assert teacher.frames > frames_before, "the teacher stopped streaming meanwhile"
    finally:
        teacher.close()
    assert_back_to_baseline(server, tasks, threads)
    assert server.sockets() == 0


# -- a client that never reads -------------------------------------------------------------------
def wait_until_flat(live: Callable[[], int], step: float = 0.5, flat: int = 64 * 1024,
                    steps: int = 3, timeout: float = 120) -> int:
    """Poll live memory until it grows by less than `flat` bytes over `steps` steps in a row."""
    deadline = time.monotonic() + timeout
    last, quiet = live(), 0
    while time.monotonic() < deadline:
        time.sleep(step)
        now = live()
        quiet = quiet + 1 if now - last < flat else 0
        last = now
        if quiet >= steps:
            return now
    raise AssertionError(f"memory still growing after {timeout} s: {last / 1e6:.1f} MB")


def test_a_client_that_never_reads_costs_bounded_memory(server):
    # Speed 0 and ~22,000 iterations of an MLP (big points on the wire: the socket buffers
    # between us fill after ~1,000 of them), and this client never reads.
    stalled_conn = connect(server.ws_base + "/ws/train", max_size=2**26, max_queue=1)
    stalled = stalled_conn.__enter__()
    try:
        with traced() as live:
            base = live()
            stalled.send(start_message(dataset="moons", hidden=[32], n_samples=20, epochs=1000,
                                       speed=0))
            # Until the kernel's socket buffers are full the server computes on; then it stops.
            at_stall = wait_until_flat(live)
            stalled_since = time.monotonic()
            # Meanwhile another client runs a normal session to `done`.
            with connect(server.ws_base + "/ws/train", max_size=2**24) as other:
                other.send(start_message(n_samples=100, epochs=2, speed=0))
                done = json.loads(until(other, '{"type":"done"'))
                assert {r["status"] for r in done["runs"].values()} == {"completed"}
            server.wait_until("the other session released", lambda: server.sessions() == 1)
            time.sleep(max(0.0, 5.0 - (time.monotonic() - stalled_since)))  # ~5 s stalled
            grown = live() - at_stall
        print(f"stalled client: {(at_stall - base) / 1e6:.1f} MB until the buffers filled, "
              f"then +{grown / 1e3:.0f} KB")
        assert server.sessions() == 1
        assert grown < MEMORY_BOUND, (
            f"a stalled session kept growing the server: +{grown / 1e6:.1f} MB over ~5 s "
            f"(after {(at_stall - base) / 1e6:.1f} MB until the socket buffers filled)")
    finally:
        stalled.close_socket()  # drop it without reading what is queued
        stalled_conn.__exit__(None, None, None)
    server.wait_until("the stalled session released", lambda: server.sessions() == 0)


# -- bugs found here, each pinned by a test -----------------------------------------------------
def test_a_long_run_of_a_big_model_holds_a_bounded_history(server):
    """Every point carries all ~900 weights on the wire; what the session keeps is bounded."""
    config = {"dataset": "moons", "n_samples": 20, "hidden": [16, 16, 16, 16], "speed": 0,
              "runs": [{"name": "SGD", "batch_size": 1}]}
    with connect(server.ws_base + "/ws/train", max_size=2**26) as ws:
        ws.send(start_message(**config, epochs=5))  # 100 points
        until(ws, '{"type":"done"')
        with traced() as live:
            base = live()
            ws.send(start_message(**config, epochs=250))  # the same race, 5,000 points
            until(ws, '{"type":"done"', timeout=300)
            grown = live() - base
    # Unbounded, 4,900 more points of 881 parameters would hold ~50 MB more; the session keeps
    # about DESCENT_MAX_HISTORY_MB (16 MB) of history and thins the rest.
    bound = 2 * Settings().max_history_mb * 2**20
    assert grown < bound, f"the history grew by {grown / 1e6:.1f} MB"


def test_a_finished_runs_detail_is_not_sent_again_and_again(server):
    config = {"n_samples": 40, "epochs": 2, "speed": 20,  # SGD: 80 updates, ~4 s
              "runs": [{"name": "SGD", "batch_size": 1}, {"name": "Full", "batch_size": None}]}
    with connect(server.ws_base + "/ws/train", max_size=2**24) as ws:
        ws.send(start_message(**config))
        details = []
        while not (raw := ws.recv(timeout=60)).startswith('{"type":"done"'):
            if raw.startswith('{"type":"detail"'):
                msg = json.loads(raw)
                details.append((msg["run"], msg["iteration"]))
    full = [it for run, it in details if run == "Full"]
    # Full batch ends after 2 iterations, in the first tick: one detail per iteration (and one
    # more at the end) says all there is to say.
    assert len(full) <= 3, f"{len(full)} details for a 2-iteration run: {full}"


@pytest.fixture
def slow_builds(monkeypatch) -> Iterator[threading.Event]:
    """Race(...) for a "moons" config blocks (in its worker thread) until the event is set.

    `release.building` counts the moons builds under way, `release.seeds` their seeds.
    """
    release = threading.Event()
    release.building, release.seeds = 0, []
    lock = threading.Lock()
    real = app.live.session.Race

    def race(config, generation, *args):
        if config.dataset == "moons":
            with lock:
                release.building += 1
                release.seeds.append(config.seed)
            release.wait(timeout=120)
            with lock:
                release.building -= 1
        return real(config, generation, *args)

    monkeypatch.setattr(app.live.session, "Race", race)
    try:
        yield release
    finally:
        release.set()


def test_a_newer_start_overtakes_a_slow_build(server, slow_builds):
    with connect(server.ws_base + "/ws/train", max_size=2**24) as ws:
        ws.send(start_message(dataset="moons", n_samples=20))  # blocked in its thread
        ws.send(start_message(n_samples=20, epochs=1, speed=0))
        try:
            started = json.loads(until(ws, '{"type":"started"', timeout=5))
            assert started["config"]["dataset"] == "linear", "the slow, stale start won"
        finally:
            slow_builds.set()


def test_races_are_built_a_few_at_a_time_and_a_replaced_start_is_not_built(server, slow_builds):
    """Five students press Start at once: two builds run, the rest queue (the event loop keeps
    the GIL for the running sessions); a start replaced while queued is never built."""
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(connect(server.ws_base + "/ws/train", max_size=2**24))
                   for _ in range(5)]
        try:
            for seed, ws in enumerate(sockets[:2]):  # these two take both build slots...
                ws.send(start_message(dataset="moons", n_samples=20, epochs=1, seed=seed))
            server.wait_until("two builds under way", lambda: slow_builds.building == 2)
            for seed, ws in enumerate(sockets[2:], start=2):  # ...so these three queue
                ws.send(start_message(dataset="moons", n_samples=20, epochs=1, seed=seed))
            sockets[4].send(start_message(n_samples=20, epochs=1, speed=0))  # replaces its moons
            time.sleep(0.5)
            assert slow_builds.building == 2, "more builds than BUILDS_AT_ONCE ran at once"
            slow_builds.set()
            for ws in sockets[:4]:
                assert json.loads(until(ws, '{"type":"started"'))["config"]["dataset"] == "moons"
            assert json.loads(until(sockets[4], '{"type":"started"'))["config"]["dataset"] == "linear"
            assert json.loads(until(sockets[4], '{"type":"done"'))["type"] == "done"
            limiter = app.live.session.build_limiter(server.app)
            server.wait_until("every build over", lambda: server.call(
                lambda: limiter.borrowed_tokens) == 0)
            assert sorted(slow_builds.seeds) == [0, 1, 2, 3], "a replaced, queued start was built"
        finally:
            slow_builds.set()


def test_a_client_that_leaves_during_a_slow_build_is_released_at_once(server, slow_builds):
    with connect(server.ws_base + "/ws/train", max_size=2**24) as ws:
        ws.send(start_message(dataset="moons", n_samples=20))
        server.wait_until("the build began", lambda: server.sessions() == 1)
    try:
        server.wait_until("the session released while its build still runs",
                          lambda: server.sessions() == 0, timeout=5)
    finally:
        slow_builds.set()
        server.wait_until("the session released after the build", lambda: server.sessions() == 0)


# -- the cycling client (this file run as a script) ----------------------------------------------
async def _session_cycle(url: str) -> None:
    """Connect, start, read until the first frame, disconnect mid-run."""
    async with websockets.connect(url, max_size=2**24) as ws:
        await ws.send(start_message(**SMALL_RUN))
        async for raw in ws:
            if raw.startswith('{"type":"frame"'):
                return
    raise RuntimeError("the socket closed before the first frame")


async def _viewer_cycle(url: str) -> None:
    """Join a room whose teacher is running, read one message, disconnect."""
    async with websockets.connect(url, max_size=2**24) as ws:
        await ws.recv()


async def _cycles(kind: str, url: str, count: int, in_flight: int) -> None:
    cycle = _session_cycle if kind == "session" else _viewer_cycle
    todo = iter(range(count))

    async def worker() -> None:
        for _ in todo:
            await asyncio.wait_for(cycle(url), timeout=120)

    await asyncio.gather(*(worker() for _ in range(in_flight)))


if __name__ == "__main__":
    _kind, _url, _count, _in_flight = sys.argv[1:5]
    asyncio.run(_cycles(_kind, _url, int(_count), int(_in_flight)))
