"""Forwarded headers count only when DESCENT_TRUST_PROXY_HEADERS=true (issue 6, "Security").

Real server processes: `descent-playground` (app/cli.py) with the setting off and on, and
`uvicorn app.main:app` run directly, whose own proxy-headers middleware believes 127.0.0.1.
Every socket here really comes from 127.0.0.1 and claims another address in X-Forwarded-For.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Mapping

import pytest
from conftest import start_live_server
from starlette.websockets import WebSocket
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from app import cli
from app.core.settings import Settings
from app.server.connections import UNTRUSTED_FORWARD, Connections, counted_as

# Whatever the machine running the tests exports must not decide what is trusted.
CLEAN_ENV = {k: v for k, v in os.environ.items()
             if k != "FORWARDED_ALLOW_IPS" and not k.startswith("DESCENT_")}


def start_cli_server(env: Mapping[str, str], name: str) -> contextlib.AbstractContextManager[str]:
    """Run ``python -m app.cli`` (what the Docker image runs) on a free port; yield its URL."""
    return start_live_server(env, name, module=("app.cli",), base_env=CLEAN_ENV)


def session(base: str, forwarded_for: str) -> ClientConnection:
    url = base.replace("http", "ws", 1) + "/ws/train"
    return connect(url, additional_headers={"X-Forwarded-For": forwarded_for})


def assert_started(ws: ClientConnection) -> None:
    ws.send(json.dumps({"type": "start", "config": {"speed": 0, "epochs": 1}}))
    assert json.loads(ws.recv(timeout=10))["type"] == "started"


def assert_refused_by_the_per_client_cap(ws: ClientConnection) -> str:
    with pytest.raises(ConnectionClosed) as info:
        ws.recv(timeout=10)
    assert info.value.rcvd is not None, "no close frame"
    assert info.value.rcvd.code == 1013
    reason = info.value.rcvd.reason
    assert "DESCENT_MAX_SESSIONS_PER_CLIENT" in reason and "at most 1" in reason
    return reason


ONE_PER_CLIENT = {"DESCENT_MAX_SESSIONS_PER_CLIENT": "1"}


def test_untrusted_forwarded_for_does_not_get_past_the_per_client_cap():
    with start_cli_server({**ONE_PER_CLIENT, "DESCENT_TRUST_PROXY_HEADERS": "false",
                           # Ignored while the setting is off, even naming this very peer.
                           "FORWARDED_ALLOW_IPS": "127.0.0.1"}, "proxy-off") as base:
        with session(base, "203.0.113.1") as first, session(base, "203.0.113.2") as second:
            assert_started(first)
            reason = assert_refused_by_the_per_client_cap(second)
            assert "127.0.0.1" in reason and "203.0.113" not in reason


def test_trusted_forwarded_for_names_the_client():
    with start_cli_server({**ONE_PER_CLIENT, "DESCENT_TRUST_PROXY_HEADERS": "true"},
                          "proxy-on") as base:
        with session(base, "203.0.113.1") as first, session(base, "203.0.113.2") as second:
            assert_started(first)
            assert_started(second)
            with session(base, "203.0.113.1") as again:
                reason = assert_refused_by_the_per_client_cap(again)
                assert "203.0.113.1" in reason


def test_trusted_forwarded_for_only_from_the_named_proxy():
    env = {**ONE_PER_CLIENT, "DESCENT_TRUST_PROXY_HEADERS": "true",
           "FORWARDED_ALLOW_IPS": "192.0.2.7"}  # the proxy; these sockets come from elsewhere
    with start_cli_server(env, "proxy-named") as base:
        with session(base, "203.0.113.1") as first, session(base, "203.0.113.2") as second:
            assert_started(first)
            assert "127.0.0.1" in assert_refused_by_the_per_client_cap(second)


def test_plain_uvicorn_rewrites_but_the_app_still_caps_untrusted_forwarded_for():
    # `uvicorn app.main:app` keeps uvicorn's default: X-Forwarded-For believed from 127.0.0.1,
    # so the app sees 203.0.113.x; with the setting off it counts them all as one client.
    # (FORWARDED_ALLOW_IPS pins that default whatever the environment says.)
    env = {**ONE_PER_CLIENT, "DESCENT_TRUST_PROXY_HEADERS": "false",
           "FORWARDED_ALLOW_IPS": "127.0.0.1"}
    with start_live_server(env, "proxy-plain-uvicorn", base_env=CLEAN_ENV) as base:
        with session(base, "203.0.113.1") as first, session(base, "203.0.113.2") as second:
            assert_started(first)
            assert UNTRUSTED_FORWARD in assert_refused_by_the_per_client_cap(second)


def test_server_options_turn_uvicorn_proxy_headers_off_unless_trusted():
    off = cli.server_options(Settings(), {"FORWARDED_ALLOW_IPS": "*"})
    assert off["proxy_headers"] is False and "forwarded_allow_ips" not in off
    assert off["ws_per_message_deflate"] is False
    assert (off["host"], off["port"]) == (Settings().host, Settings().port)

    trusted = Settings(trust_proxy_headers=True)
    assert cli.server_options(trusted, {}) == {
        **off, "proxy_headers": True, "forwarded_allow_ips": "*"}
    named = cli.server_options(trusted, {"FORWARDED_ALLOW_IPS": " 10.0.0.2,10.1.0.0/16 "})
    assert named["forwarded_allow_ips"] == "10.0.0.2,10.1.0.0/16"


def test_proxy_notice():
    trusted = Settings(trust_proxy_headers=True)
    assert "FORWARDED_ALLOW_IPS" in cli.proxy_notice(trusted, {})
    assert cli.proxy_notice(trusted, {"FORWARDED_ALLOW_IPS": "10.0.0.2"}) is None
    assert "ignored" in cli.proxy_notice(Settings(), {"FORWARDED_ALLOW_IPS": "*"})
    assert cli.proxy_notice(Settings(), {}) is None


def test_server_options_are_all_uvicorn_config_arguments():
    import uvicorn

    for settings in (Settings(), Settings(trust_proxy_headers=True)):
        config = uvicorn.Config("app.main:app", **cli.server_options(settings, {}))
        assert config.proxy_headers is settings.trust_proxy_headers


def _socket(client: tuple[str, int], forwarded_for: list[str]) -> WebSocket:
    headers = [(b"x-forwarded-for", v.encode("latin1")) for v in forwarded_for]
    scope = {"type": "websocket", "path": "/ws/train", "headers": headers, "client": client}
    return WebSocket(scope, receive=None, send=None)


@pytest.mark.parametrize("client, forwarded_for, shared", [
    (("203.0.113.1", 0), ["203.0.113.1"], True),            # what uvicorn's rewrite leaves
    (("203.0.113.1", 5), ["10.0.0.1, 203.0.113.1:5"], True),
    (("2001:db8::1", 0), ["[2001:db8::1]:443"], True),
    (("2001:db8::1", 0), ["10.0.0.1", "2001:db8::1"], True),  # two headers
    (("10.0.0.1:x", 0), ["10.0.0.1:x"], True),              # uvicorn keeps what it can't parse
    (("127.0.0.1", 5), ["203.0.113.1"], True),              # any X-Forwarded-For, untrusted
    (("127.0.0.1", 5), [], False),
])
def test_which_buckets_a_session_counts_against(client, forwarded_for, shared):
    ws = _socket(client, forwarded_for)
    assert counted_as(ws, trust_proxy_headers=True) == (client[0],)
    expected = (client[0], UNTRUSTED_FORWARD) if shared else (client[0],)
    assert counted_as(ws, trust_proxy_headers=False) == expected


def test_a_forged_long_address_still_fits_a_close_frame():
    connections = Connections(max_sessions=10, max_per_client=1, trust_proxy_headers=True)
    forged = "x" * 5000
    assert connections.admit_session(_socket((forged, 0), [forged])) is None
    reason = connections.admit_session(_socket((forged, 0), [forged]))
    assert reason is not None and len(reason.encode()) <= 123
    # Past 45 characters (the longest IPv6 text) it is one bucket, however it ends.
    assert connections.admit_session(_socket((forged[:45] + "y", 0), [])) is not None
