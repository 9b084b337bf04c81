"""Heavy requests beside a class: four of the heaviest `POST /api/runs` at once.

    python benchmarks/heavy.py [N] [values|iterations]   # default: 4 values

Against a fresh server (the real app under uvicorn, one process, loopback, default settings),
while N requests at the headless caps run (each near DESCENT_MAX_HEADLESS_ITERATIONS and
DESCENT_MAX_HEADLESS_VALUES: a ~50 MB answer):

- `/api/health`: p95 and worst of the time to answer, one check every 25 ms whether or not the
  last answered (target p95 < 100 ms);
- a live session at the default speed: p95 and worst gap between two frames (target < 100 ms);
- each heavy request: its status and seconds, and the server's peak RSS;
- a refusal over the cap: how long a config past DESCENT_MAX_HEADLESS_ITERATIONS takes to be
  refused on an idle server (the race is not built first, so it should be a few ms).

The heavy answers are read and thrown away (not parsed) so the client stays light; it still
shares this machine's cores with the server.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import statistics
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent))
from stream import p95, start_server  # noqa: E402

# Both at the caps (3,000,000 numbers, a ~60 MB answer): MLP [2, 16, 16, 16, 16, 1] (881
# parameters) for 3,300 iterations, cheap to compute; MLP [2, 4, 1] (17 parameters) on 5,000
# moons, SGD for 24 epochs: 120,000 iterations, ~35 s of CPU each.
HEAVY = {
    "values": {"dataset": "moons", "n_samples": 100, "hidden": [16, 16, 16, 16], "epochs": 33,
               "runs": [{"name": "SGD", "batch_size": 1}]},
    "iterations": {"dataset": "moons", "n_samples": 5000, "hidden": [4], "epochs": 24,
                   "runs": [{"name": "SGD", "batch_size": 1}]},
}
OVER_CAP = {"dataset": "moons", "n_samples": 5000, "hidden": [16, 16, 16, 16], "epochs": 1000,
            "runs": [{"name": "SGD", "batch_size": 1}]}
LIVE = {"dataset": "moons", "hidden": [8], "epochs": 100}


def post(base: str, path: str, body: dict, encoding: str = "gzip",
         timeout: float = 600) -> tuple[int, int, float]:
    """(status, bytes read, seconds) of one POST, its answer read and thrown away."""
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    t0 = time.perf_counter()
    conn.request("POST", path, json.dumps(body), {"Content-Type": "application/json",
                                                    "Accept-Encoding": encoding})
    response = conn.getresponse()
    size = 0
    while chunk := response.read(1 << 20):
        size += len(chunk)
    conn.close()
    return response.status, size, time.perf_counter() - t0


async def health_times(base: str, stop: threading.Event, every: float = 0.025) -> list[float]:
    """GET /api/health every `every` s whether or not the last one answered (open loop, as
    users arrive): a stall of the event loop shows in every check that arrives during it."""
    parts = urlsplit(base)
    times: list[float] = []

    async def one() -> None:
        t0 = time.perf_counter()
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        writer.write(b"GET /api/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        await reader.read()
        times.append(time.perf_counter() - t0)
        writer.close()

    tasks = []
    while not stop.is_set():
        tasks.append(asyncio.create_task(one()))
        await asyncio.sleep(every)
    await asyncio.gather(*tasks)
    return times


async def frame_gaps(base: str, stop: threading.Event) -> list[float]:
    """Gaps between the frames of one live session at the default speed, until `stop`."""
    url = base.replace("http", "ws", 1) + "/ws/train"
    gaps, last = [], None
    async with websockets.connect(url, max_size=2**26) as ws:
        await ws.send(json.dumps({"type": "start", "config": LIVE}))
        while not stop.is_set():
            try:
                raw = await asyncio.wait_for(ws.recv(), 0.5)
            except TimeoutError:
                continue
            if '"type":"frame"' in raw[:40]:
                now = time.perf_counter()
                if last is not None:
                    gaps.append(now - last)
                last = now
    return gaps


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main(n: int, kind: str) -> None:
    proc, base = start_server()
    try:
        status, _, seconds = post(base, "/api/runs", OVER_CAP)
        print(f"refusal over the cap: {status} in {seconds * 1000:.0f} ms")
        stop = threading.Event()
        results: list[tuple[int, int, float]] = []
        health: list[float] = []
        peak = [0.0]

        def heavy() -> None:
            results.append(post(base, "/api/runs", HEAVY[kind]))

        def watch() -> None:
            while not stop.is_set():
                peak[0] = max(peak[0], rss_mb(proc.pid))
                time.sleep(0.2)

        threading.Thread(target=watch, daemon=True).start()
        poller = threading.Thread(
            target=lambda: health.extend(asyncio.run(health_times(base, stop))))
        poller.start()
        gaps_box: list[list[float]] = []
        live = threading.Thread(target=lambda: gaps_box.append(asyncio.run(frame_gaps(base, stop))))
        live.start()
        time.sleep(1.0)
        t0 = time.perf_counter()
        workers = [threading.Thread(target=heavy) for _ in range(n)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        total = time.perf_counter() - t0
        stop.set()
        poller.join()
        live.join()
        gaps = gaps_box[0] if gaps_box else [0.0]
        for status, size, seconds in sorted(results, key=lambda r: r[2]):
            print(f"heavy POST /api/runs: {status}, {size / 1e6:.1f} MB (gzip), {seconds:.1f} s")
        print(f"{n} heavy requests ({kind}): {total:.1f} s in all; server RSS peak {peak[0]:.0f} MB")
        print(f"/api/health: p95 {p95(health) * 1000:.0f} ms, worst {max(health) * 1000:.0f} ms, "
              f"median {statistics.median(health) * 1000:.1f} ms over {len(health)} checks "
              "(target p95 < 100 ms)")
        print(f"live frame gaps: p95 {p95(gaps) * 1000:.0f} ms, worst {max(gaps) * 1000:.0f} ms "
              f"over {len(gaps)} frames (target < 100 ms)")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 4, sys.argv[2] if len(sys.argv) > 2 else "values")
