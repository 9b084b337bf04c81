"""What one live session costs the server, so a teacher can size a machine.

    python benchmarks/cost.py [N] [SECONDS]   # default: 10 sessions, 6 s per row

One server (the real app under uvicorn, one process, loopback), one row at a time: N sessions
of one config train for SECONDS, then stop; the server's CPU time over the row (its user +
system time from /proc, the idle server's own ticking subtracted), per session and second, is
the figure: "% of one core per session". Each session has its own seed, so no two share a
surface (app/live/surfaces.py): the cost of a class whose students each changed something.
Within one process, the sessions share one core's worth of Python (the GIL): past ~80 % of a
core, frames come late, which is where a second worker pays off (`--workers 2` with Redis).

Rows vary one thing from the base (moons, 200 samples, hidden [8], the three default runs,
30 iterations per second): the number of runs (1-6), the model (no hidden layer to 4 x 16),
and the speed (30, 100, 1,000 iterations per second).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path

import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load import cpu_seconds, cpu_ticks, steal_share  # noqa: E402
from stream import start_server  # noqa: E402

BASE = {"dataset": "moons", "n_samples": 200, "hidden": [8], "epochs": 1000, "speed": 30}
BATCHES = [1, 32, None, 4, 16, 64]  # the first three are the default SGD, mini-batch, full
BUSY = 0.8  # share of one core past which one process's frames come late


def runs(k: int) -> list[dict]:
    return [{"name": f"B={b}" if b else "Full", "batch_size": b} for b in BATCHES[:k]]


ROWS: list[tuple[str, str, dict]] = [
    *[("runs", str(k), {"runs": runs(k)}) for k in range(1, 7)],
    ("model", "no hidden layer (3 parameters)", {"hidden": []}),
    ("model", "[8] (33 parameters)", {}),
    ("model", "[16, 16] (337 parameters)", {"hidden": [16, 16]}),
    ("model", "[16, 16, 16, 16] (881 parameters)", {"hidden": [16, 16, 16, 16]}),
    *[("speed", f"{s} it/s", {"speed": s}) for s in (30, 100, 1000)],
]
#: Rows whose N sessions would not fit one process: fewer of them, so the figure is the cost of
#: the speed asked for (ten sessions at 1,000 iterations per second get ~870 of their 3,000).
SESSIONS = {"1000 it/s": 3}


async def session(base: str, config: dict, seconds: float) -> int:
    """Train `config` for `seconds`, then stop; the points received."""
    url = base.replace("http", "ws", 1) + "/ws/train"
    points = 0
    async with websockets.connect(url, max_size=2**26, open_timeout=60) as ws:
        await ws.send(json.dumps({"type": "start", "config": config}))
        end = None
        async for raw in ws:
            if raw.startswith('{"type":"started"'):
                end = time.perf_counter() + seconds
            elif raw.startswith('{"type":"frame"'):
                points += raw.count('{"iteration":')
            elif raw.startswith('{"type":"done"'):
                return points
            elif raw.startswith('{"type":"error"'):
                raise SystemExit(raw[:300])
            if end is not None and time.perf_counter() >= end:
                await ws.send(json.dumps({"type": "stop"}))
                end = float("inf")
    return points


async def row(base: str, pid: int, n: int, seconds: float, config: dict, idle: float,
              first_seed: int) -> tuple[float, int]:
    """% of one core per session, and the points per second each session received."""
    t0, c0 = time.perf_counter(), cpu_seconds(pid)
    points = await asyncio.gather(*(session(base, {**config, "seed": first_seed + i}, seconds)
                                    for i in range(n)))
    wall, cpu = time.perf_counter() - t0, cpu_seconds(pid) - c0
    return 100 * (cpu / wall - idle) / n, round(sum(points) / n / seconds)


async def main(n: int, seconds: float) -> None:
    proc, base = start_server()
    try:
        await asyncio.sleep(4)  # start-up and the assets' compression, done before measuring
        c0, t0 = cpu_seconds(proc.pid), time.perf_counter()
        await asyncio.sleep(2)
        idle = (cpu_seconds(proc.pid) - c0) / (time.perf_counter() - t0)
        ticks = cpu_ticks()
        print(f"{n} sessions per row, {seconds:g} s each; idle server {100 * idle:.1f} % of a "
              "core (subtracted)\n")
        print(f"{'varies':>6} | {'value':<34} | {'% of a core per session':>24} | "
              f"{'points/s per session':>20} | {'sessions per process':>20}")
        print("-" * 117)
        for r, (what, label, change) in enumerate(ROWS):
            k = min(n, SESSIONS.get(label, n))  # seeds of its own: no surface from another row
            share, rate = await row(base, proc.pid, k, seconds, {**BASE, **change}, idle,
                                    first_seed=1000 * r)
            label += f" ({k} sessions)" if k != n else ""
            fit = f"~{BUSY * 100 / share:,.0f}" if share > 0 else "-"
            print(f"{what:>6} | {label:<34} | {share:>22.2f} % | {rate:>20,} | {fit:>20}",
                  flush=True)
        print(f"\nsessions per process: how many such sessions keep one process under "
              f"{BUSY * 100:.0f} % of a core; beyond, run two workers with Redis. "
              f"Steal over the run: {steal_share(ticks, cpu_ticks()):.0f} %.")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


if __name__ == "__main__":
    os.environ.setdefault("DESCENT_LOG_LEVEL", "warning")  # the server's per-session log lines
    args = sys.argv[1:]
    asyncio.run(main(int(args[0]) if args else 10, float(args[1]) if len(args) > 1 else 6.0))
