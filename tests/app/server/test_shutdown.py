"""SIGTERM ends every process within 5 s, whatever the clients do (issue 10, point 6).

`python -m app.cli` (what the Docker image runs), with one worker and with two (over a real
redis-server), and one WebSocket client that asked for a long run and stopped reading: the
server's send buffer to it is full, so no close frame can ever reach it. The server runs in a
process group of its own, so every process it started (workers, multiprocessing's helpers) is
seen, and killed at the end if the test fails.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ARTIFACTS, REPO, free_port, wait_for_health
from test_rooms_redis import redis_url  # noqa: F401 - a fixture: a real redis-server

DEADLINE = 5.0  # seconds from SIGTERM to the last process gone (the bound)


def stalled_session(port: int) -> socket.socket:
    """A /ws/train session running as fast as it can, whose client never reads."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connect: a small window
    s.settimeout(10)
    s.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall((f"GET /ws/train HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
               f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
               "Sec-WebSocket-Version: 13\r\n\r\n").encode())
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        head += s.recv(1)  # byte by byte: not one byte of the frames that follow
    assert head.startswith(b"HTTP/1.1 101 "), head
    start = {"type": "start", "config": {"speed": 0, "epochs": 1000, "n_samples": 5000}}
    s.sendall(_masked_text_frame(json.dumps(start).encode()))
    return s


def _masked_text_frame(data: bytes) -> bytes:
    assert len(data) < 2**16
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
    return b"\x81" + bytes([0x80 | 126]) + struct.pack("!H", len(data)) + mask + masked


def send_queue(port: int) -> int:
    """Bytes the server has queued in the kernel for its established connections on `port`."""
    queued = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].split(":")[1], 16) == port and fields[3] == "01":  # ESTABLISHED
            queued += int(fields[4].split(":")[0], 16)
    return queued


def wait_until_the_send_buffer_is_full(port: int) -> None:
    """Until the kernel's queue to the client stops growing: from then on the server's own
    buffer fills, and a close frame would wait behind it for ever."""
    deadline = time.monotonic() + 30
    last, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        queued = send_queue(port)
        if queued != last:
            last, since = queued, time.monotonic()
        elif queued > 100_000 and time.monotonic() - since > 1.0:
            time.sleep(0.5)
            return
        time.sleep(0.1)
    pytest.fail(f"the server's send queue never filled up ({last} bytes)")


def group_members(pgid: int) -> list[int]:
    """The live (not zombie) processes of process group `pgid`."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            state, _ppid, group = (entry / "stat").read_text().rsplit(")", 1)[1].split()[:3]
            if int(group) == pgid and state != "Z":
                members.append(int(entry.name))
    return members


@pytest.mark.parametrize("workers", [1, 2])
def test_sigterm_with_a_client_that_stopped_reading_ends_every_process_within_5_s(
    workers, request
):
    env = dict(os.environ)
    if workers > 1:
        env["REDIS_URL"] = request.getfixturevalue("redis_url")[0]
    port = free_port()
    ARTIFACTS.mkdir(exist_ok=True)
    log = ARTIFACTS / f"shutdown-{workers}-{port}.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "--port", str(port), "--workers", str(workers)],
            cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    client = None
    try:
        wait_for_health(f"http://127.0.0.1:{port}", proc, log)
        if workers > 1:
            deadline = time.monotonic() + 30
            while len(group_members(proc.pid)) < 1 + workers and time.monotonic() < deadline:
                time.sleep(0.1)
            assert len(group_members(proc.pid)) >= 1 + workers, "the workers did not start"
        client = stalled_session(port)
        wait_until_the_send_buffer_is_full(port)
        sent = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        while group_members(proc.pid) and time.monotonic() - sent < 30:
            time.sleep(0.05)
        took = time.monotonic() - sent
        left = group_members(proc.pid)
        assert not left and took < DEADLINE, (
            f"{len(left)} process(es) left {took:.1f} s after SIGTERM:\n{log.read_text()[-3000:]}")
        # uvicorn re-raises the signal it handled once it has shut down: -15 is a clean exit.
        assert proc.wait(timeout=5) in (0, -signal.SIGTERM)
    finally:
        if client is not None:
            client.close()
        if group_members(proc.pid):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


# At the headless iteration cap (200,000) and under the values cap: ~20 s of computing.
LONG_HEADLESS = {"dataset": "moons", "n_samples": 5000, "epochs": 40,
                 "runs": [{"name": "SGD", "batch_size": 1}]}


def test_sigterm_while_headless_runs_compute_ends_the_process_within_5_s():
    """A worker thread computing a headless run does not hold the process after SIGTERM."""
    port = free_port()
    ARTIFACTS.mkdir(exist_ok=True)
    log = ARTIFACTS / f"shutdown-headless-{port}.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "app.cli", "--port", str(port)],
                                cwd=REPO, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    clients = []
    try:
        wait_for_health(f"http://127.0.0.1:{port}", proc, log)
        body = json.dumps(LONG_HEADLESS).encode()
        for _ in range(2):  # DESCENT_MAX_HEADLESS_CONCURRENT: both worker threads busy
            s = socket.create_connection(("127.0.0.1", port), timeout=30)
            s.sendall(b"POST /api/runs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                      b"application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
            clients.append(s)
        time.sleep(2.0)  # well into the computing, which takes ~20 s
        assert proc.poll() is None
        sent = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        while group_members(proc.pid) and time.monotonic() - sent < 60:
            time.sleep(0.05)
        took = time.monotonic() - sent
        assert not group_members(proc.pid) and took < DEADLINE, (
            f"still running {took:.1f} s after SIGTERM:\n{log.read_text()[-3000:]}")
    finally:
        for s in clients:
            s.close()
        if group_members(proc.pid):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
