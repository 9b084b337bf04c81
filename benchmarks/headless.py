"""Headless work at the engine's speed: `POST /api/runs` against the engine's own iterations.

    python benchmarks/headless.py [EPOCHS]   # default: 100 (issue 17's figure)

The default comparison (w·x + b; SGD, mini-batch and full batch) over 5,000 samples for EPOCHS
epochs: at 100, 515,725 iterations, each carrying its full-data loss. Three figures, measured
in this one run, best of ROUNDS:

- engine: the same runs' Steps drawn straight from `engine.descent.start_runs`, in this
  process (the baseline: what the engine itself costs per iteration);
- API: `POST /api/runs` against a fresh server (the real app under uvicorn, loopback), from
  sending the request to the answer's last byte (uncompressed: gzip is the client's choice and
  costs more than the training), per iteration; target: within 1.5x the engine's;
- live: one `/ws/train` session at speed 0 (as fast as possible) on the same config, points
  per second from `started` to `done`, for context: the live path paces, coalesces frames and
  opens up details, so it is not held to the target.

The server is started with DESCENT_MAX_HEADLESS_ITERATIONS and _VALUES raised to fit this
config (at the defaults it is refused, naming them: 200,000 iterations).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path

import websockets

REPO = Path(__file__).resolve().parents[1]
sys.path[0:1] = [str(REPO), str(REPO / "benchmarks")]  # the package, not benchmarks/engine.py
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as the server runs it (app/main.py)

# The package before load.py, which puts benchmarks/ first on the path.
# isort: off
from app.core.schemas import TrainConfig  # noqa: E402
from app.live.race import dataset_for  # noqa: E402
from engine import model_for  # noqa: E402
from engine.descent import RunSpec, start_runs  # noqa: E402
from heavy import post  # noqa: E402
from load import cpu_ticks, steal_share  # noqa: E402
from stream import start_server  # noqa: E402
# isort: on

ROUNDS = 3
TARGET = 1.5


def engine_seconds(config: TrainConfig) -> tuple[float, int]:
    """Seconds and iterations of every run's Steps, straight from the engine."""
    data = dataset_for(config)
    model = model_for(data.task, data.n_features, data.n_classes, config.hidden,
                      config.activation, config.seed)
    specs = [RunSpec(r.name, r.batch_size, r.lr, r.update) for r in config.runs]
    trainers = start_runs(data.X, data.y, model, config.loss, specs, lr=config.lr,
                          epochs=config.epochs, seed=config.seed, target_loss=config.target_loss,
                          patience=config.patience)
    t0, n = time.perf_counter(), 0
    for trainer in trainers.values():
        for _ in trainer:
            n += 1
    return time.perf_counter() - t0, n


async def live_points_per_second(base: str, body: dict) -> tuple[float, int]:
    """Points per second of one live session at speed 0, `started` to `done`."""
    url = base.replace("http", "ws", 1) + "/ws/train"
    points, t0 = 0, None
    async with websockets.connect(url, max_size=2**28) as ws:
        await ws.send(json.dumps({"type": "start", "config": {**body, "speed": 0}}))
        async for raw in ws:
            if raw.startswith('{"type":"started"'):
                t0 = time.perf_counter()
            elif raw.startswith('{"type":"frame"'):
                points += raw.count('{"iteration":')
            elif raw.startswith('{"type":"done"'):
                return points / (time.perf_counter() - t0), points
            elif raw.startswith('{"type":"error"'):
                raise SystemExit(raw[:300])
    raise SystemExit("closed before done")


def main() -> None:
    epochs = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    body = {"n_samples": 5000, "epochs": epochs}
    config = TrainConfig(**body)
    os.environ.update(DESCENT_MAX_HEADLESS_ITERATIONS="10000000",
                      DESCENT_MAX_HEADLESS_VALUES="1000000000",
                      DESCENT_MAX_ITERATIONS_PER_RUN="10000000",
                      DESCENT_MAX_POINTS_PER_SESSION="10000000",
                      DESCENT_LOG_LEVEL="warning")
    proc, base = start_server()
    ticks = cpu_ticks()
    try:
        engine, api = [], []
        for _ in range(ROUNDS):  # interleaved: both see the same machine
            seconds, n = engine_seconds(config)
            engine.append(seconds / n)
            # uncompressed: gzip is the client's choice and costs more than the training
            status, size, seconds = post(base, "/api/runs", body, "identity", timeout=3600)
            if status != 200:
                raise SystemExit(f"POST /api/runs answered {status}")
            api.append(seconds / n)
        live, live_points = asyncio.run(live_points_per_second(base, {**body, "epochs": 5}))
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    e, a = min(engine), min(api)
    print(f"default comparison, 5,000 samples, {epochs} epochs: {n:,} iterations; "
          f"best of {ROUNDS}; steal {steal_share(ticks, cpu_ticks()):.0f} %")
    print(f"  engine (in process)   {e * 1e6:7.1f} us/iteration  {1 / e:>10,.0f} points/s  "
          f"{e * n:6.1f} s")
    print(f"  POST /api/runs        {a * 1e6:7.1f} us/iteration  {1 / a:>10,.0f} points/s  "
          f"{a * n:6.1f} s  ({size / 1e6:,.0f} MB)  x{a / e:.2f} the engine's time "
          f"(target <= x{TARGET}: {'ok' if a / e <= TARGET else 'MISSED'})")
    print(f"  live socket, speed 0  {1e6 / live:7.1f} us/point      {live:>10,.0f} points/s  "
          f"(5 epochs, {live_points:,} points; paced in frames, details opened up)")


if __name__ == "__main__":
    main()
