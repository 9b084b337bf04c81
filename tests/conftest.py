"""Shared fixtures: a live uvicorn server, Debian's Chromium through Playwright, a page.

    def test_x(live_server, page, screenshot_dir):
        page.goto(live_server + "/")
        assert page.console_errors == []
        page.screenshot(path=screenshot_dir / "x.png")

``start_live_server(env={...})`` starts another server with its own settings
(e.g. ``{"DESCENT_MAX_SESSIONS": "2"}``) as a context manager yielding its base URL
(a `ServerURL`: a str whose `.pid` is the server's process id).
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import random
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM = Path("/usr/bin/chromium")
REDIS = shutil.which("redis-server") or "/usr/bin/redis-server"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    """A port free on every address, below the kernel's ephemeral range: the tests' own client
    sockets (10,000 at once in one test) take ephemeral ports, and one of them could take a
    server's port between this choice and the server's bind; a server on 0.0.0.0 also needs it
    free on 127.0.0.2 and the rest."""
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    for _ in range(1000):
        port = random.randrange(10_000, max(low, 10_001))
        with socket.socket() as s:
            try:
                s.bind(("", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port below the ephemeral range")


def local_ipv4_addresses() -> set[str]:
    """This machine's non-loopback IPv4 addresses as the kernel lists them (Linux): what our own
    address lookups (app.share.address: lan_address, lan_addresses) are checked against."""
    lines = Path("/proc/net/fib_trie").read_text().splitlines()
    found = {lines[i - 1].strip().removeprefix("|-- ")
             for i, line in enumerate(lines) if i and line.strip() == "/32 host LOCAL"}
    return {a for a in found if not ipaddress.ip_address(a).is_loopback}


def wait_for_health(base_url: str, proc: subprocess.Popen, log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"the server exited with {proc.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(base_url + "/api/health", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"the server did not answer /api/health within {timeout} s:\n{log.read_text()}")


def start_redis(port: int, log) -> subprocess.Popen:
    """A real redis-server on a loopback port, no persistence, once it accepts connections."""
    proc = subprocess.Popen(
        [REDIS, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=log, stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.05)
    return proc


class ServerURL(str):
    """A live server's base URL ("http://127.0.0.1:PORT") that knows its process id."""

    pid: int


@contextlib.contextmanager
def start_live_server(
    env: Mapping[str, str] | None = None,
    name: str = "server",
    module: Sequence[str] = ("uvicorn", "app.main:app"),
    base_env: Mapping[str, str] | None = None,
    preexec_fn: Callable[[], object] | None = None,
) -> Iterator[ServerURL]:
    """Run ``python -m uvicorn app.main:app`` (or another `module` that takes --host, --port
    and --log-level, e.g. ``("app.cli",)``) on a free port; yield its base URL; stop it.

    The server's environment is `base_env` (default: this process's) updated with `env`;
    `preexec_fn` runs in the server's process before it starts (e.g. to lower a limit).
    """
    port = free_port()
    base_url = ServerURL(f"http://127.0.0.1:{port}")
    ARTIFACTS.mkdir(exist_ok=True)
    log = ARTIFACTS / f"{name}-{port}.log"
    cmd = [sys.executable, "-m", *module]
    cmd += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    # A log file, not a pipe (which could fill up and block the server); kept unless empty.
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            cmd, cwd=REPO, env={**(os.environ if base_env is None else base_env), **(env or {})},
            stdout=out, stderr=subprocess.STDOUT, preexec_fn=preexec_fn,
        )
    try:
        base_url.pid = proc.pid
        wait_for_health(base_url, proc, log)
        yield base_url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if log.stat().st_size == 0:
            log.unlink()


@pytest.fixture(scope="session")
def live_server() -> Iterator[str]:
    """Base URL ("http://127.0.0.1:PORT") of the real app, run by uvicorn in a subprocess."""
    with start_live_server(name="live_server") as base_url:
        yield base_url


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium driven by Playwright (Playwright's own browsers are never used)."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: install Debian's chromium "
            "(apt-get install chromium; .ci/run does) to run the end-to-end tests"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    """A fresh 1440x900 page; console errors and uncaught exceptions land in page.console_errors."""
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.console_errors = errors
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(f"uncaught: {exc}"))
    yield page
    context.close()


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    """tests/artifacts/ (gitignored), where tests save screenshots."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


# -- datasets shared by the engine's surface tests (here, not in tests/engine/conftest.py: the
# app tests import this module as `conftest`, and a second conftest.py would shadow it) --------
@pytest.fixture(scope="module")
def linear():
    """Linear regression data with x shifted off zero, so the Hessian is not diagonal."""
    import engine

    data = engine.make_dataset("linear", n_samples=400, noise=0.3, seed=1)
    return data.X + 0.7, data.y


@pytest.fixture(scope="module")
def moons():
    import engine

    return engine.make_dataset("moons", n_samples=300, seed=2)
