"""Operations against a real server process: SIGTERM, caps, Origin, security headers, logs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

import pytest
from conftest import ARTIFACTS, REPO, free_port, start_live_server, wait_for_health
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect


def ws_url(base: str, path: str = "/ws/train") -> str:
    return base.replace("http", "ws", 1) + path


# `descent-playground` is what the Docker image runs; `uvicorn app.main:app` what many run.
SERVERS = {"cli": ("app.cli",), "uvicorn": ("uvicorn", "app.main:app")}


@pytest.mark.parametrize("server", SERVERS)
def test_sigterm_closes_every_socket_with_a_reason_and_exits_quickly(server):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    ARTIFACTS.mkdir(exist_ok=True)
    log_path = ARTIFACTS / f"sigterm-{server}-{port}.log"
    with open(log_path, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", *SERVERS[server], "--port", str(port)],
            cwd=REPO, stdout=out, stderr=subprocess.STDOUT,
        )
    try:
        wait_for_health(base, proc, log_path)
        sockets = []
        for _ in range(3):
            ws = connect(ws_url(base)).__enter__()
            ws.send(json.dumps({"type": "start", "config": {"speed": 20, "epochs": 500}}))
            ws.recv(timeout=10)
            sockets.append(ws)
        sent = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        for ws in sockets:
            with pytest.raises(ConnectionClosed) as info:
                while True:
                    ws.recv(timeout=10)
            assert info.value.rcvd is not None, "no close frame"
            assert info.value.rcvd.code == 1001
            assert "shutting down" in info.value.rcvd.reason
        proc.wait(timeout=10)
        assert time.monotonic() - sent < 5
    finally:
        if proc.poll() is None:
            proc.kill()
    log = log_path.read_text()
    assert "session start" in log and "session end" in log


def test_session_caps_refuse_with_the_cap_named():
    env = {"DESCENT_MAX_SESSIONS": "2"}
    with start_live_server(env=env, name="caps") as base:
        first = connect(ws_url(base)).__enter__()
        second = connect(ws_url(base)).__enter__()
        third = connect(ws_url(base)).__enter__()
        with pytest.raises(ConnectionClosed) as info:
            third.recv(timeout=10)
        assert info.value.rcvd.code == 1013
        assert "DESCENT_MAX_SESSIONS" in info.value.rcvd.reason and "2" in info.value.rcvd.reason
        first.close()
        time.sleep(0.3)
        fourth = connect(ws_url(base)).__enter__()
        fourth.send(json.dumps({"type": "start", "config": {"speed": 0, "epochs": 1}}))
        assert json.loads(fourth.recv(timeout=10))["type"] == "started"
        second.close()
        fourth.close()


def test_per_client_cap():
    env = {"DESCENT_MAX_SESSIONS_PER_CLIENT": "1"}
    with start_live_server(env=env, name="percap") as base:
        first = connect(ws_url(base)).__enter__()
        second = connect(ws_url(base)).__enter__()
        with pytest.raises(ConnectionClosed) as info:
            second.recv(timeout=10)
        assert "DESCENT_MAX_SESSIONS_PER_CLIENT" in info.value.rcvd.reason
        first.close()


@pytest.mark.parametrize("path", ["/ws/train", "/ws/room/ABCDE"])
def test_a_foreign_origin_is_refused_and_no_origin_is_allowed(live_server, path):
    foreign = connect(ws_url(live_server, path), origin="http://evil.example").__enter__()
    with pytest.raises(ConnectionClosed) as info:
        foreign.recv(timeout=10)
    assert info.value.rcvd.code == 4403 and "evil.example" in info.value.rcvd.reason
    same = connect(ws_url(live_server), origin=live_server).__enter__()
    same.send(json.dumps({"type": "start", "config": {"speed": 0, "epochs": 1}}))
    assert json.loads(same.recv(timeout=10))["type"] == "started"
    same.close()


def test_an_allowed_origin_is_let_in():
    env = {"DESCENT_ALLOWED_ORIGINS": "https://school.example"}
    with start_live_server(env=env, name="origins") as base:
        ws = connect(ws_url(base), origin="https://school.example").__enter__()
        ws.send(json.dumps({"type": "start", "config": {"speed": 0, "epochs": 1}}))
        assert json.loads(ws.recv(timeout=10))["type"] == "started"
        ws.close()


def test_pages_carry_security_headers(live_server):
    with urllib.request.urlopen(live_server + "/", timeout=5) as r:
        headers = r.headers
    csp = headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"




def test_several_workers_need_redis_for_the_rooms():
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    r = subprocess.run([sys.executable, "-m", "app.cli", "--workers", "2"], cwd=REPO, env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert "REDIS_URL" in r.stderr
