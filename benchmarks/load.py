"""Load benchmark: a class's worth of live training sessions on one server.

    python benchmarks/load.py [N ...] [room]    # default: 10 25 50 100, then 50 + a 300-viewer room

N concurrent `/ws/train` sessions at the default speed, as a class that opened five shared links
(five configs cycling over the sessions, MLPs with projected surfaces included), each ~10 s long;
each inspects its SGD run as a page's step panel does (its details opened up a few times a
second).
Per row, against a fresh server (the real app under uvicorn, one process, loopback):

- frame gap p95: per session, the 95th percentile of the time between two frames while its runs
  go (target < 100 ms); the table shows the median and the worst session, and how many missed;
- drops / errors: a session drops when some run's iterations are not 1, 2, 3, ... up to the
  count `done` reports; `error` messages and sockets closed early count as errors;
- session time: from `start` to `done` (~10 s when the server keeps up);
- server RSS: the peak of VmRSS in /proc/PID/status, sampled every 0.2 s (target < 400 MB);
- steal: the share of the machine's CPU time its hypervisor gave to other guests over the row
  (/proc/stat). On a shared VM it swings from 0 to 30 % within minutes; a row taken with much
  steal says more about the neighbours than about the server.

Then the same at N = 50 with a room beside them: a teacher and 300 viewers as in
benchmarks/rooms.py (its functions, reused), with the viewers' delay from a point being computed
to its arrival.

The client is deliberately light (it reads only each message's type, the frame's `t` and the
frames' iteration numbers, with a regex, no JSON parse), but it shares this machine's cores with
the server: on a 2-core box every figure includes the client's own load.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import resource
import statistics
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rooms import teacher_run, viewer  # noqa: E402
from stream import p95, start_server  # noqa: E402

DEFAULT_NS = (10, 25, 50, 100)
ROOM_N, ROOM_VIEWERS = 50, 300
GAP_TARGET = 0.100  # s
RSS_TARGET = 400  # MB
# Five shared links. 100 samples x 3 epochs: SGD makes 300 updates at the default 30 per
# second, ~10 s; the other runs end sooner.
CONFIGS = [
    {"epochs": 3},
    {"dataset": "sine", "hidden": [8], "epochs": 3},
    {"dataset": "moons", "hidden": [8, 8], "epochs": 3},
    {"dataset": "circles", "hidden": [6], "epochs": 3},
    {"dataset": "multiblobs", "hidden": [8], "epochs": 3},
]

# A frame: {"type":"frame","generation":1,"t":...,"runs":{"SGD":[{"iteration":41,...},...],...}}
# Each run's list starts `"NAME":[{"iteration":N`; its other points start `{"iteration":N`.
_POINT = re.compile(r'"((?:[^"\\]|\\.)*)":\[\{"iteration":(\d+)|\{"iteration":(\d+)')
_T = re.compile(r'"t":([-+0-9.eE]+)')


@dataclass
class Result:
    config: int
    gaps: list[float] = field(default_factory=list)
    delays: list[float] = field(default_factory=list)
    iterations: dict[str, list[int]] = field(default_factory=dict)
    done: dict | None = None
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def dropped(self) -> bool:
        if self.done is None:
            return True
        for name, outcome in self.done["runs"].items():
            if self.iterations.get(name, []) != list(range(1, outcome["iterations"] + 1)):
                return True
        return False


async def session(base: str, index: int) -> Result:
    """One student: start the link's config, read to `done`."""
    result = Result(config=index % len(CONFIGS))
    url = base.replace("http", "ws", 1) + "/ws/train"
    t0 = time.perf_counter()
    last = None
    try:
        async with websockets.connect(url, max_size=2**26, open_timeout=120) as ws:
            await ws.send(json.dumps({"type": "start", "config": CONFIGS[result.config]}))
            # as a page does: its step panel opens up one run (the default: the first, SGD)
            await ws.send(json.dumps({"type": "inspect", "run": "SGD"}))
            async for raw in ws:
                if raw.startswith('{"type":"frame"'):
                    now = time.perf_counter()
                    if last is not None:
                        result.gaps.append(now - last)
                    last = now
                    t = _T.search(raw)
                    if t:
                        result.delays.append(time.time() - float(t.group(1)))
                    run = None
                    for m in _POINT.finditer(raw):
                        if m.group(1) is not None:
                            run = json.loads(f'"{m.group(1)}"')
                            result.iterations.setdefault(run, []).append(int(m.group(2)))
                        elif run is not None:
                            result.iterations[run].append(int(m.group(3)))
                elif raw.startswith('{"type":"done"'):
                    result.done = json.loads(raw)
                    break
                elif raw.startswith('{"type":"error"'):
                    result.errors.append(raw[:200])
    except (TimeoutError, OSError, websockets.WebSocketException) as exc:
        result.errors.append(f"{type(exc).__name__}: {exc}")
    if result.done is None and not result.errors:
        result.errors.append("closed before done")
    result.seconds = time.perf_counter() - t0
    return result


def tree(pid: int) -> list[int]:
    """`pid` and its descendants (uvicorn --workers N: the supervisor and its workers)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            children = Path(f"/proc/{p}/task/{p}/children").read_text().split()
        except OSError:
            continue
        todo.extend(int(c) for c in children)
    return out


def rss_now(pid: int) -> float:
    """VmRSS (MB) of the server: the process and its workers, summed."""
    total = 0.0
    for p in tree(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) / 1024
        except OSError:
            pass
    return total


async def sample_rss(pid: int, peak: list[float], stop: asyncio.Event) -> None:
    """Peak RSS (MB) of the server's processes, every 0.2 s until `stop`."""
    while not stop.is_set():
        peak[0] = max(peak[0], rss_now(pid))
        try:
            await asyncio.wait_for(stop.wait(), 0.2)
        except TimeoutError:
            pass


def cpu_seconds(pid: int | None = None) -> float:
    """User + system CPU seconds of the server's processes, or of this process."""
    if pid is None:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime
    total = 0.0
    for p in tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def cpu_ticks() -> list[int]:
    """The machine's CPU time counters (user, nice, system, idle, iowait, irq, softirq, steal)."""
    return [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]


def steal_share(before: list[int], after: list[int]) -> float:
    """% of the machine's CPU time the hypervisor gave to other guests between two readings."""
    delta = [b - a for a, b in zip(before, after, strict=True)]
    return 100 * delta[7] / max(1, sum(delta))


@dataclass
class Row:
    label: str
    n: int
    results: list[Result]
    rss_idle: float
    rss_peak: float
    server_cpu: float  # % of one core, over the row
    server_cpu_s: float  # the server's CPU seconds over the row
    client_cpu: float
    steal: float  # % of the machine's CPU taken by the hypervisor over the row
    extra: str = ""

    def figures(self) -> dict:
        gaps = [p95(r.gaps) for r in self.results if len(r.gaps) >= 2]
        delays = [d for r in self.results for d in r.delays]
        return {
            "gap_median": statistics.median(gaps) * 1e3 if gaps else float("nan"),
            "gap_worst": max(gaps) * 1e3 if gaps else float("nan"),
            "missed": sum(g >= GAP_TARGET for g in gaps),
            "delay_p95": p95(delays) * 1e3 if delays else float("nan"),
            "drops": sum(r.dropped for r in self.results),
            "errors": sum(bool(r.errors) for r in self.results),
            "seconds": statistics.mean(r.seconds for r in self.results),
            "seconds_max": max(r.seconds for r in self.results),
        }


async def run_row(n: int, viewers: int = 0) -> Row:
    proc, base = start_server()
    try:
        await asyncio.sleep(3)  # past start-up and the page assets' one-off compression
        idle = rss_now(proc.pid)
        peak, stop = [idle], asyncio.Event()
        sampler = asyncio.create_task(sample_rss(proc.pid, peak, stop))
        extra = ""
        wall0, server0, client0 = time.perf_counter(), cpu_seconds(proc.pid), cpu_seconds()
        ticks0 = cpu_ticks()
        if viewers:
            req = urllib.request.Request(base + "/api/rooms", method="POST")
            room = json.load(urllib.request.urlopen(req, timeout=30))
            delays: list[float] = []
            ready, counter = asyncio.Event(), [0]
            watchers = [asyncio.create_task(viewer(base, room["code"], delays, ready, counter,
                                                   viewers)) for _ in range(viewers)]
            await asyncio.wait_for(ready.wait(), 300)
            teacher = asyncio.create_task(teacher_run(base, room))
        results = await asyncio.gather(*(session(base, i) for i in range(n)))
        if viewers:
            taught = await asyncio.wait_for(teacher, 300)
            await asyncio.wait_for(asyncio.gather(*watchers), 300)
            extra = (f"room: {viewers} viewers, teacher-to-viewer delay p95 "
                     f"{p95(delays) * 1e3:.0f} ms (median {statistics.median(delays) * 1e3:.0f}"
                     f" ms) over {len(delays)} frames; the teacher's own frame delay p95 "
                     f"{p95(taught['delays']) * 1e3:.0f} ms, its run took "
                     f"{taught['seconds']:.1f} s (200 updates at 30 per second: 6.7 s nominal)")
        wall = time.perf_counter() - wall0
        server_cpu_s = cpu_seconds(proc.pid) - server0
        server_cpu = server_cpu_s / wall * 100
        client_cpu = (cpu_seconds() - client0) / wall * 100
        stop.set()
        await sampler
        label = f"{n} + room" if viewers else str(n)
        steal = steal_share(ticks0, cpu_ticks())
        return Row(label, n, list(results), idle, peak[0], server_cpu, server_cpu_s, client_cpu,
                   steal, extra)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def print_table(rows: list[Row]) -> None:
    head = (f"{'sessions':>12} | {'gap p95 median':>14} | {'gap p95 worst':>13} | "
            f"{'missed':>6} | {'frame delay p95':>15} | {'drops':>5} | {'errors':>6} | "
            f"{'session s (max)':>15} | {'RSS idle':>8} | {'RSS peak':>8} | "
            f"{'CPU server':>10} | {'CPU/session':>11} | {'CPU client':>10} | {'steal':>5}")
    print(head)
    print("-" * len(head))
    for row in rows:
        f = row.figures()
        print(f"{row.label:>12} | {f['gap_median']:>11.0f} ms | {f['gap_worst']:>10.0f} ms | "
              f"{f['missed']:>6} | {f['delay_p95']:>12.0f} ms | {f['drops']:>5} | "
              f"{f['errors']:>6} | {f['seconds']:>6.1f} ({f['seconds_max']:>5.1f}) | "
              f"{row.rss_idle:>5.0f} MB | {row.rss_peak:>5.0f} MB | "
              f"{row.server_cpu:>8.0f} % | {row.server_cpu_s / row.n * 1e3:>8.0f} ms | "
              f"{row.client_cpu:>8.0f} % | {row.steal:>3.0f} %")
    for row in rows:
        if row.extra:
            print(f"{row.label}: {row.extra}")
        errors = [e for r in row.results for e in r.errors]
        if errors:
            print(f"{row.label}: first errors: {errors[:3]}")
    print(f"targets: frame gap p95 < {GAP_TARGET * 1e3:.0f} ms per session ('missed' counts the "
          f"sessions above it), no drops or errors, server RSS < {RSS_TARGET} MB. CPU: % of one "
          "core over the row; CPU/session: the server's CPU time over the row divided by its "
          f"sessions (each a ~10 s race); the client shares this machine's {os.cpu_count()} "
          "cores with "
          "the server. Steal: % of the machine's CPU time the hypervisor gave to other guests "
          "(this VM's noisy neighbours); rows with much steal overstate every delay.")


def raise_open_files() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 4096 if hard == resource.RLIM_INFINITY else min(hard, 4096)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


def main() -> None:
    raise_open_files()
    os.environ.setdefault("DESCENT_LOG_LEVEL", "warning")  # the server's per-session log lines
    args = sys.argv[1:]
    ns = [int(a) for a in args if a != "room"] if args else list(DEFAULT_NS)
    rows = []
    for n in ns:
        rows.append(asyncio.run(run_row(n)))
        print(f"... {rows[-1].label} sessions done", flush=True)
    if not args or "room" in args:
        rows.append(asyncio.run(run_row(ROOM_N, viewers=ROOM_VIEWERS)))
    print()
    print_table(rows)


if __name__ == "__main__":
    main()
