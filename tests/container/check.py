"""Check a running Descent Playground from outside, as a browser and a student would.

    BASE_URL=http://127.0.0.1:18000 python tests/container/check.py
    python tests/container/check.py http://127.0.0.1:8000 --wait 60 --peer http://127.0.0.1:8001

Run by ``make container-test`` (against the image built and started by podman) and
``make docker-test`` (against ``docker run``). Standard library plus ``websockets`` (the
test extra). Checks more than health: the page, every static file it loads (plotly.js
included, so the page works with no internet), the dataset API, and one whole training
session over the WebSocket; with ``--peer``, that a presenter room made on one replica is
joinable on the other (``docker compose up``: two replicas on one Redis). ``--wait`` first
waits for a container that is still starting. One line per check; exits 1 on a failure.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from html.parser import HTMLParser

from websockets.sync.client import connect

PLOTLY_PATH = "/static/vendor/plotly.min.js"
TIMEOUT = 30.0


class CheckFailed(Exception):
    pass


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


def get(base: str, path: str) -> tuple[int, dict[str, str], bytes]:
    """GET base + path without Accept-Encoding (plain bodies); status, headers, body."""
    request = urllib.request.Request(base + path, headers={"User-Agent": "container-check"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            headers = {k.lower(): v for k, v in response.headers.items()}
            return response.status, headers, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read()


def get_ok(base: str, path: str) -> tuple[dict[str, str], bytes]:
    status, headers, body = get(base, path)
    expect(status == 200, f"GET {path} answered {status}, not 200")
    return headers, body


class _Assets(HTMLParser):
    """The URLs of the scripts, style sheets, icons and images a page loads."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict[str, str | None]] = []
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "script" and a.get("src"):
            self.scripts.append(a)
            self.urls.append(a["src"] or "")
        elif tag == "link" and a.get("rel") == "preload" and a.get("as") == "script":
            self.scripts.append({**a, "src": a.get("href")})  # run later by main.js (plotly.js)
            self.urls.append(a.get("href") or "")
        elif tag == "link" and a.get("href"):
            self.urls.append(a["href"] or "")
        elif tag == "img" and a.get("src"):
            self.urls.append(a["src"] or "")


# Static and dynamic imports of an ES module: `import x from "./a.js"`, `import "./b.js"`,
# `export {y} from "./c.js"`, `import("./d.js")`.
_IMPORT = re.compile(r"""(?:\bfrom|\bimport)\s*\(?\s*["']([^"']+)["']""")


def check_health(base: str) -> str:
    _, body = get_ok(base, "/api/health")
    expect(json.loads(body) == {"status": "ok"}, f"/api/health answered {body[:200]!r}")
    return "/api/health -> ok"


def check_page(base: str) -> str:
    headers, body = get_ok(base, "/")
    expect(headers.get("content-type", "").startswith("text/html"), f"/ is {headers}")
    parser = _Assets()
    parser.feed(body.decode("utf-8"))
    plotly = [
        s for s in parser.scripts if urllib.parse.urlsplit(s["src"] or "").path == PLOTLY_PATH
    ]
    expect(len(plotly) == 1, f"/ neither loads nor preloads {PLOTLY_PATH}: {parser.scripts}")
    external = [u for u in parser.urls if urllib.parse.urlsplit(u).netloc]
    expect(not external, f"/ loads files from other hosts (needs internet): {external}")
    return f"/ -> HTML, {len(parser.urls)} same-origin assets, plotly script {plotly[0]['src']}"


def check_plotly(base: str) -> str:
    headers, body = get_ok(base, PLOTLY_PATH)
    kind = headers.get("content-type", "")
    expect("javascript" in kind, f"{PLOTLY_PATH} is served as {kind!r}")
    expect(len(body) > 1_000_000, f"{PLOTLY_PATH} is only {len(body)} bytes")
    expect(b"plotly" in body[:2000].lower(), f"{PLOTLY_PATH} does not look like plotly.js")
    return f"{PLOTLY_PATH} -> {kind}, {len(body) / 1e6:.1f} MB"


def check_assets(base: str) -> str:
    """Every file the page loads answers 200, and so does every ES module they import."""
    _, body = get_ok(base, "/")
    parser = _Assets()
    parser.feed(body.decode("utf-8"))
    todo = [urllib.parse.urljoin(base + "/", u) for u in parser.urls]
    seen: set[str] = set()
    while todo:
        url = urllib.parse.urlsplit(todo.pop())._replace(query="", fragment="").geturl()
        if url in seen:
            continue
        seen.add(url)
        path = urllib.parse.urlsplit(url).path
        headers, content = get_ok(base, path)
        if path.endswith(".js") and path != PLOTLY_PATH:
            kind = headers.get("content-type", "")
            expect("javascript" in kind, f"{path} is served as {kind!r}; modules need JavaScript")
            for spec in _IMPORT.findall(content.decode("utf-8")):
                expect(spec.startswith((".", "/")), f"{path} imports {spec!r} (not a local file)")
                todo.append(urllib.parse.urljoin(url, spec))
    modules = sorted(urllib.parse.urlsplit(u).path for u in seen if u.endswith(".js"))
    return f"{len(seen)} static files answer 200 ({len(modules)} scripts: {', '.join(modules)})"


def check_datasets(base: str) -> str:
    headers, body = get_ok(base, "/api/datasets")
    expect(headers.get("content-type", "").startswith("application/json"), f"{headers}")
    datasets = json.loads(body)
    expect(isinstance(datasets, list) and datasets, f"/api/datasets is {body[:200]!r}")
    names = [d["name"] for d in datasets]
    expect("linear" in names, f"/api/datasets has no 'linear': {names}")
    expect(all(d.get("task") and d.get("allowed_losses") for d in datasets), "dataset fields")
    return f"/api/datasets -> {', '.join(names)}"


def check_lessons(base: str) -> str:
    """The built-in lessons ship in the image (installed as app/lesson_files)."""
    _headers, body = get_ok(base, "/api/lessons")
    ids = [lesson["id"] for lesson in json.loads(body)]
    expect("how-a-network-learns" in ids, f"/api/lessons has no built-in lesson: {ids}")
    _headers, body = get_ok(base, "/api/lessons/how-a-network-learns")
    steps = json.loads(body)["steps"]
    return f"/api/lessons -> {', '.join(ids)} ({len(steps)} steps)"


def _strict(text: str | bytes) -> dict:
    def reject(name: str) -> None:
        raise CheckFailed(f"non-strict JSON constant on the wire: {name}")

    return json.loads(text, parse_constant=reject)


def check_training(base: str) -> str:
    """One whole session: start → started, surface, frames (every point once), done."""
    url = "ws" + base.removeprefix("http") + "/ws/train"
    kinds: list[str] = []
    points: dict[str, list[int]] = {}
    t0 = time.monotonic()
    # With the Origin a browser on the page sends: the app refuses foreign origins.
    with connect(url, origin=base, open_timeout=TIMEOUT, max_size=2**24) as ws:
        ws.send(json.dumps({"type": "start", "config": {"speed": 0, "epochs": 2}}))
        started = _strict(ws.recv(timeout=TIMEOUT))
        expect(started["type"] == "started", f"first message is {started['type']!r}: {started}")
        totals = {r["name"]: r["total_iterations"] for r in started["runs"]}
        deadline = time.monotonic() + 120
        while True:
            expect(time.monotonic() < deadline, f"no 'done' within 120 s; got {kinds[-5:]}")
            msg = _strict(ws.recv(timeout=TIMEOUT))
            kinds.append(msg["type"])
            expect(msg["type"] != "error", f"error from the server: {msg}")
            if msg["type"] == "frame":
                expect("surface" in kinds, "a frame came before the surface")
                for name, run_points in msg["runs"].items():
                    points.setdefault(name, []).extend(p["iteration"] for p in run_points)
            if msg["type"] == "done":
                done = msg
                break
    expect(kinds[0] == "surface", f"the message after 'started' is {kinds[0]!r}")
    frames = kinds.count("frame")
    expect(frames >= 1, "no frame before done")
    for name, total in totals.items():
        expect(
            points.get(name) == list(range(1, total + 1)),
            f"run {name}: iterations {points.get(name, [])[:5]}... not 1..{total} once each",
        )
        status = done["runs"][name]["status"]
        expect(
            status in ("completed", "target_reached", "early_stopped", "diverged"),
            f"run {name} ended {status!r}",
        )
    runs = ", ".join(f"{n} {t}" for n, t in totals.items())
    return (
        f"/ws/train -> started, surface, {frames} frames ({runs} iterations), done "
        f"in {time.monotonic() - t0:.1f} s"
    )


def check_room_on_peer(base: str, peer: str) -> str:
    """Replicas sharing Redis (compose.yaml): a room made on one is joinable on the other."""
    request = urllib.request.Request(base + "/api/rooms", method="POST")
    with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
        expect(response.status == 201, f"POST /api/rooms answered {response.status}")
        code = json.load(response)["code"]
    url = "ws" + peer.removeprefix("http") + f"/ws/room/{code}"
    with connect(url, origin=peer, open_timeout=TIMEOUT, max_size=2**24) as ws:
        first = _strict(ws.recv(timeout=TIMEOUT))
    expect(first["type"] == "room", f"the peer answered {first} for room {code}")
    return f"room {code} made on {base} -> joined on {peer}"


CHECKS = [check_health, check_page, check_plotly, check_assets, check_datasets, check_lessons,
          check_training]


def wait_until_up(base: str, seconds: float) -> None:
    """Poll /api/health until it answers 200 (a container that is still starting)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            if get(base, "/api/health")[0] == 200:
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise CheckFailed(f"{base}/api/health did not answer 200 within {seconds:g} s")
        time.sleep(0.5)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "base_url",
        nargs="?",
        default=os.environ.get("BASE_URL", ""),
        help="the server, e.g. http://127.0.0.1:8000 (default: $BASE_URL)",
    )
    parser.add_argument(
        "--wait",
        type=float,
        default=0,
        metavar="SECONDS",
        help="first wait up to this long for /api/health to answer",
    )
    parser.add_argument(
        "--peer",
        metavar="URL",
        help="another replica on the same Redis: also check that a room made on the first "
        "server can be joined there",
    )
    args = parser.parse_args(argv)
    base = args.base_url.rstrip("/")
    if not base.startswith(("http://", "https://")):
        parser.error("give the server's URL, or set BASE_URL")
    print(f"checking {base}")
    if args.wait:
        try:
            wait_until_up(base, args.wait)
        except CheckFailed as exc:
            print(f"  FAIL  {exc}", flush=True)
            return 1
    checks = [(check.__name__, functools.partial(check, base)) for check in CHECKS]
    if args.peer:
        peer = args.peer.rstrip("/")
        checks.append(("check_room_on_peer", functools.partial(check_room_on_peer, base, peer)))
    for name, check in checks:
        try:
            print(f"  ok    {check()}", flush=True)
        except Exception as exc:  # any failure, reported with the check's name
            print(f"  FAIL  {name}: {type(exc).__name__}: {exc}", flush=True)
            return 1
    print(f"container check: all {len(checks)} checks passed against {base}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
