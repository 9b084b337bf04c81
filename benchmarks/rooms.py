"""Presenter-room benchmark: one teacher, many viewers, on one server.

    python benchmarks/rooms.py [VIEWERS]        # default 300

Measures, against the real app under uvicorn (one process, loopback):
- the teacher-to-viewer delay: from a point being computed (the frame's `t`) to a viewer
  receiving it, p95 over every viewer and frame (target < 200 ms);
- the teacher's own stream with the viewers watching against the same run with none (the
  baseline, measured in the same run): latency p95 and the run's wall time (target: no slower).
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
import urllib.request
from pathlib import Path

import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent))
from stream import p95, start_server  # noqa: E402

CONFIG = {"epochs": 1, "n_samples": 200}  # default speed: a 200-iteration SGD run, ~7 s


async def teacher_run(base: str, room: dict | None) -> dict:
    url = base.replace("http", "ws", 1) + "/ws/train"
    delays = []
    async with websockets.connect(url, max_size=2**26) as ws:
        if room:
            await ws.send(json.dumps({"type": "present", "room": room["code"],
                                      "token": room["token"]}))
        await ws.send(json.dumps({"type": "start", "config": CONFIG}))
        t0 = None
        async for raw in ws:
            msg = json.loads(raw)
            if msg["type"] == "frame":
                delays.append(time.time() - msg["t"])
                t0 = t0 or time.perf_counter()
            elif msg["type"] == "done":
                return {"delays": delays, "seconds": time.perf_counter() - t0}


async def viewer(base: str, code: str, delays: list[float], ready: asyncio.Event,
                 counter: list[int], total: int) -> None:
    url = base.replace("http", "ws", 1) + f"/ws/room/{code}"
    async with websockets.connect(url, max_size=2**26) as ws:
        await ws.recv()  # the room's welcome
        counter[0] += 1
        if counter[0] == total:
            ready.set()
        async for raw in ws:
            # Read only the type and `t` (no full parse): the 300 viewers share this machine's
            # two cores with the server, and the measuring client should not be what is slow.
            if raw.startswith('{"type":"frame"'):
                at = raw.index('"t":') + 4
                delays.append(time.time() - float(raw[at : raw.index(",", at)]))
            elif raw.startswith('{"type":"done"'):
                return


async def main_async(base: str, n_viewers: int) -> None:
    baseline = await teacher_run(base, None)
    req = urllib.request.Request(base + "/api/rooms", method="POST")
    room = json.load(urllib.request.urlopen(req, timeout=5))
    delays: list[float] = []
    ready, counter = asyncio.Event(), [0]
    tasks = [asyncio.create_task(viewer(base, room["code"], delays, ready, counter, n_viewers))
             for _ in range(n_viewers)]
    await asyncio.wait_for(ready.wait(), 120)
    watched = await teacher_run(base, room)
    await asyncio.wait_for(asyncio.gather(*tasks), 120)

    print(f"{n_viewers} viewers, {len(delays)} frames received in all")
    print(f"teacher-to-viewer delay: p95 {p95(delays) * 1e3:.1f} ms, median "
          f"{statistics.median(delays) * 1e3:.1f} ms (target p95 < 200 ms: "
          f"{'ok' if p95(delays) < 0.2 else 'MISSED'})")
    print(f"teacher's own stream: latency p95 {p95(watched['delays']) * 1e3:.1f} ms with viewers "
          f"vs {p95(baseline['delays']) * 1e3:.1f} ms without; run took "
          f"{watched['seconds']:.2f} s vs {baseline['seconds']:.2f} s "
          f"(x{watched['seconds'] / baseline['seconds']:.2f})")


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    proc, base = start_server()
    try:
        asyncio.run(main_async(base, n))
    finally:
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    main()
