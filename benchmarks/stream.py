"""Streaming benchmarks for the live page, against the real app under uvicorn.

    python benchmarks/stream.py

1. Throughput: one session, three runs at speed 0: points per second received from the first
   frame to `done` (target >= 5,000).
2. Latency: at the default speed, the delay from a Step being computed (the frame's `t`, the
   time its oldest point was computed) to the client receiving it: p95 (target < 50 ms).
3. Responsiveness: `/api/health` p95 while a session trains at full speed (target < 100 ms),
   against the same with no session (the baseline, measured in the same run).
4. The page's own JS + CSS as served, gzipped (plotly.js excluded; target <= 64 KiB, as the
   budget test) and the time until `/` is
   ready in Chromium (target < 1 s), when /usr/bin/chromium and playwright are installed.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import websockets

REPO = Path(__file__).resolve().parents[1]
# As the CLI and the Docker image run it (no per-message compression); override to compare.
EXTRA_ARGS: list[str] = os.environ.get("UVICORN_ARGS", "--ws-per-message-deflate false").split()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server() -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app.main:app", "--port", str(port),
         "--log-level", "warning", *EXTRA_ARGS],
        cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            urllib.request.urlopen(base + "/api/health", timeout=1)
            return proc, base
        except OSError:
            time.sleep(0.1)
    raise SystemExit("server did not start")


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) >= 2 else values[0]


async def session(base: str, config: dict, on_frame=None) -> dict:
    """Run one comparison to `done`; return counts and timings."""
    url = base.replace("http", "ws", 1) + "/ws/train"
    points, first, frames = 0, None, 0
    async with websockets.connect(url, max_size=2**26) as ws:
        await ws.send(json.dumps({"type": "start", "config": config}))
        async for raw in ws:
            msg = json.loads(raw)
            if msg["type"] == "frame":
                now = time.time()
                first = first or time.perf_counter()
                frames += 1
                points += sum(len(p) for p in msg["runs"].values())
                if on_frame:
                    on_frame(msg, now)
            elif msg["type"] == "done":
                return {"points": points, "seconds": time.perf_counter() - first,
                        "frames": frames}
            elif msg["type"] == "error":
                raise SystemExit(msg)
    raise SystemExit("socket closed before done")


async def health_times(base: str, seconds: float) -> list[float]:
    """Latencies of /api/health requests made back to back for `seconds`."""
    out = []
    loop = asyncio.get_running_loop()
    end = time.perf_counter() + seconds

    def one() -> float:
        t0 = time.perf_counter()
        urllib.request.urlopen(base + "/api/health", timeout=5).read()
        return time.perf_counter() - t0

    while time.perf_counter() < end:
        out.append(await loop.run_in_executor(None, one))
        await asyncio.sleep(0.01)
    return out


async def main_async(base: str) -> None:
    # 1. throughput
    config = {"n_samples": 1000, "epochs": 10, "speed": 0}
    r = await session(base, config)
    rate = r["points"] / r["seconds"]
    print(f"throughput, 3 runs at speed 0: {r['points']} points in {r['seconds']:.2f} s = "
          f"{rate:,.0f} points/s in {r['frames']} frames "
          f"({r['frames'] / r['seconds']:.0f} frames/s)  (target >= 5,000: "
          f"{'ok' if rate >= 5000 else 'MISSED'})")

    # 2. latency at the default speed
    delays: list[float] = []
    await session(base, {"epochs": 2}, lambda msg, now: delays.append(now - msg["t"]))
    print(f"latency at the default speed: p95 {p95(delays) * 1e3:.1f} ms, median "
          f"{statistics.median(delays) * 1e3:.1f} ms over {len(delays)} frames "
          f"(target p95 < 50 ms: {'ok' if p95(delays) < 0.05 else 'MISSED'})")

    # 3. health while idle, then while a session trains at full speed
    idle = await health_times(base, 2.0)
    busy_task = asyncio.create_task(session(base, {"n_samples": 2000, "epochs": 10, "speed": 0}))
    await asyncio.sleep(0.3)
    busy = await health_times(base, 2.0)
    await busy_task
    print(f"/api/health p95: idle {p95(idle) * 1e3:.1f} ms, during a full-speed session "
          f"{p95(busy) * 1e3:.1f} ms (x{p95(busy) / p95(idle):.1f}; target < 100 ms: "
          f"{'ok' if p95(busy) < 0.1 else 'MISSED'})")


def page_figures(base: str) -> None:
    static = REPO / "static"
    own = [static / "main.js", static / "style.css", *sorted((static / "js").glob("*.js"))]
    size = 0  # as the network carries them: minified, gzipped (the server's start-up warmed it)
    for path in own:
        request = urllib.request.Request(f"{base}/static/{path.relative_to(static).as_posix()}",
                                         headers={"Accept-Encoding": "gzip"})
        with urllib.request.urlopen(request, timeout=30) as response:
            size += len(response.read())
    print(f"page's own JS + CSS, as served: {size:,} bytes in {len(own)} files "
          f"(target <= 65,536: {'ok' if size <= 65536 else 'MISSED'})")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("playwright not installed: page load not measured")
        return
    if not Path("/usr/bin/chromium").exists():
        print("/usr/bin/chromium missing: page load not measured")
        return
    args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=args)
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        page.goto(base + "/")  # warm the caches once, as a teacher's second visit
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            page.goto(base + "/", wait_until="load")
            page.wait_for_function("!!document.body.dataset.status && !!window.Plotly",
                                   timeout=10_000)
            times.append(time.perf_counter() - t0)
        browser.close()
    print(f"'/' ready in Chromium: median {statistics.median(times) * 1e3:.0f} ms, max "
          f"{max(times) * 1e3:.0f} ms (target < 1 s: {'ok' if max(times) < 1 else 'MISSED'})")


def main() -> None:
    proc, base = start_server()
    try:
        asyncio.run(main_async(base))
        page_figures(base)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    main()
