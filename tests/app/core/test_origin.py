"""The Origin rule on every state-changing HTTP request and socket, and links that never copy a
Host header the server does not answer to. Against real servers (uvicorn subprocesses)."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import httpx
import pytest
from conftest import start_live_server
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

EVIL = "http://evil.example"


@pytest.fixture(scope="module")
def server():
    with start_live_server(env={"DESCENT_MAX_ROOMS": "1000"}, name="origin") as base:
        yield base


def ws_url(base: str, path: str = "/ws/train") -> str:
    return base.replace("http", "ws", 1) + path


def assert_refused(response: httpx.Response, origin: str) -> None:
    assert response.status_code == 403, response.text
    body = response.json()
    assert "DESCENT_ALLOWED_ORIGINS" in body["detail"] and origin[:60] in body["detail"]
    assert body["code"] == "forbidden_origin"


def assert_socket_refused(base: str, origin: str, headers: dict | None = None) -> None:
    ws = connect(ws_url(base), origin=origin, additional_headers=headers).__enter__()
    with pytest.raises(ConnectionClosed) as info:
        ws.recv(timeout=10)
    assert info.value.rcvd.code == 4403 and "DESCENT_ALLOWED_ORIGINS" in info.value.rcvd.reason


def assert_socket_admitted(base: str, origin: str, headers: dict | None = None) -> None:
    with connect(ws_url(base), origin=origin, additional_headers=headers) as ws:
        ws.send(json.dumps({"type": "start", "config": {"speed": 0, "epochs": 1}}))
        assert json.loads(ws.recv(timeout=10))["type"] == "started"


def test_a_cross_site_room_is_refused_and_takes_no_room():
    """A hidden form on another site cannot fill the room cap: with a cap of one room, ten
    cross-site attempts leave it free for the teacher."""
    with start_live_server(env={"DESCENT_MAX_ROOMS": "1"}, name="origin-cap") as base:
        for _ in range(10):
            assert_refused(httpx.post(base + "/api/rooms", headers={"Origin": EVIL}), EVIL)
        mine = httpx.post(base + "/api/rooms", headers={"Origin": base})
        assert mine.status_code == 201, mine.text
        assert httpx.post(base + "/api/rooms").status_code == 429  # the cap is still on


def test_same_origin_and_no_origin_create_rooms(server):
    assert httpx.post(server + "/api/rooms", headers={"Origin": server}).status_code == 201
    assert httpx.post(server + "/api/rooms").status_code == 201  # a script: no Origin


@pytest.mark.parametrize("method, path, body", [
    ("POST", "/api/rooms", None),
    ("POST", "/api/runs", {"epochs": 1}),
    ("POST", "/api/link", {"config": {}}),
    ("POST", "/api/export/json", {}),
    ("POST", "/api/export/check", {}),
    ("PUT", "/api/rooms", None),
    ("PATCH", "/api/rooms", None),
    ("DELETE", "/api/rooms", None),
])
def test_every_state_changing_request_checks_the_origin(server, method, path, body):
    r = httpx.request(method, server + path, json=body, headers={"Origin": EVIL})
    assert_refused(r, EVIL)


def test_reading_is_allowed_from_anywhere(server):
    assert httpx.get(server + "/api/health", headers={"Origin": EVIL}).status_code == 200


@pytest.mark.parametrize("origin", [
    "https://{netloc}",  # the scheme differs: https://host is another origin than http://host
    "http://{host}:1",  # another port
    "http://{netloc}.evil.example",
    "null",  # a sandboxed frame or a file
])
def test_only_the_same_scheme_host_and_port_is_the_same_origin(server, origin):
    parts = urlsplit(server)
    origin = origin.format(netloc=parts.netloc, host=parts.hostname)
    assert_refused(httpx.post(server + "/api/rooms", headers={"Origin": origin}), origin)
    assert_socket_refused(server, origin)


def test_an_allowed_origin_may_post():
    env = {"DESCENT_ALLOWED_ORIGINS": "https://school.example"}
    with start_live_server(env=env, name="origin-allowed") as base:
        r = httpx.post(base + "/api/rooms", headers={"Origin": "https://school.example"})
        assert r.status_code == 201, r.text


def test_forwarded_host_and_proto_count_only_when_trusted(server):
    """Off (the default), X-Forwarded-Host and -Proto are ignored: a foreign Origin that names
    itself in them is refused, over HTTP and on the socket. On, they name this server."""
    forged = {"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "http"}
    assert_refused(httpx.post(server + "/api/rooms", headers={"Origin": EVIL, **forged}), EVIL)
    assert_socket_refused(server, EVIL, forged)
    with start_live_server(env={"DESCENT_TRUST_PROXY_HEADERS": "true"}, name="origin-trust") as b:
        school = {"X-Forwarded-Host": "school.example", "X-Forwarded-Proto": "https"}
        r = httpx.post(b + "/api/rooms", headers={"Origin": "https://school.example", **school})
        assert r.status_code == 201, r.text
        assert_socket_admitted(b, "https://school.example", school)
        # ... and a proxy that says https makes http://school.example another origin.
        assert_refused(httpx.post(b + "/api/rooms", headers={"Origin": "http://school.example",
                                                             **school}), "http://school.example")


@pytest.mark.parametrize("origin", [None, EVIL])
def test_viewer_url_never_copies_a_foreign_host(server, origin):
    """A forged Host (or DNS rebinding: evil.example pointed at this server, so its Origin
    matches its Host) still gets a link to this server's own address."""
    headers = {"Host": "evil.example"} | ({"Origin": origin} if origin else {})
    r = httpx.post(server + "/api/rooms", headers=headers)
    assert r.status_code == 201, r.text
    url = urlsplit(r.json()["viewer_url"])
    assert "evil" not in r.json()["viewer_url"]
    assert (url.hostname, url.port) == ("127.0.0.1", urlsplit(server).port)
    link = httpx.post(server + "/api/link", json={"config": {}}, headers=headers).json()["url"]
    assert "evil" not in link and link.startswith(server + "/?")


def test_viewer_url_keeps_the_address_the_teacher_used(server):
    r = httpx.post(server + "/api/rooms", headers={"Host": "localhost:" + server.rsplit(":")[-1]})
    assert r.json()["viewer_url"].startswith("http://localhost:")
