"""Fuzzing: the HTTP API against its own OpenAPI schema, the training socket against junk.

- HTTP: schemathesis generates requests (valid and invalid) for every operation of
  `/openapi.json` and sends them to the ASGI app; no response may be a 5xx and every 2xx must
  match its documented schema. Bounded and deterministic: 30 examples per operation, derandomized.
  Places where the schema and the app once disagreed, and requests that once made a 500, are
  pinned by explicit tests at the end, one per bug.
- WebSocket: Hypothesis batches of hostile messages (random JSON of every shape, huge and tiny
  numbers, ints past 2**64, long strings, 10,000-deep nesting, payloads over the 64 KiB cap,
  binary frames, invalid UTF-8, text that is not JSON, NaN / Infinity literals) against the live
  server. Each message gets exactly one strict-JSON `error` with `message`, `code` and `field`
  (one more than 64 KiB past the cap instead closes the socket with 1009, and the batch goes on
  on a new one); after each batch the same socket still runs a valid `start` to `done`, and
  `/api/health` answers.
"""

from __future__ import annotations

import json
import string

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from test_train_socket import Client
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from app.core.schemas import MESSAGES, TrainConfig
from app.core.settings import Settings
from app.main import create_app
from app.server.protocols import ws_max_size

# -- HTTP: schemathesis against the ASGI app -----------------------------------------------------
# Settings() (the defaults), not the environment: the fuzzed app is the same on every machine.
schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(Settings()))
MAX_MESSAGE_BYTES = Settings().max_message_bytes


@schema.parametrize()
@settings(max_examples=30, derandomize=True, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
def test_http_api_never_answers_5xx(case):
    # Not `positive_data_acceptance`: several bodies are documented as free-form (`Any`) and
    # checked by hand (e.g. /api/link needs "config" or "query"), so a schema-valid body may
    # rightly get a 422.
    case.call_and_validate(checks=[not_a_server_error, status_code_conformance,
                                  content_type_conformance, response_schema_conformance])


# -- WebSocket: strategies -----------------------------------------------------------------------
FUZZ_KEY = "zz_fuzz"  # an unknown field: makes any message invalid whatever else it holds

_numbers = st.one_of(
    st.integers(),
    st.integers(min_value=2**64, max_value=2**400),
    st.integers(min_value=-(2**400), max_value=-(2**64)),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([1e308, -1e308, 5e-324, -0.0, 2**53 + 1, 0, -1, 1e-300]),
)
_texts = st.one_of(
    st.text(max_size=30),
    st.sampled_from(list(MESSAGES) + ["linear", "moons", "tanh", "mse", "SGD", "full", ""]),
    st.integers(min_value=1_000, max_value=60_000).map(lambda n: "é" * n),  # long strings
)
_leaves = st.one_of(st.none(), st.booleans(), _numbers, _texts)
json_values = st.recursive(
    _leaves,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.text(string.ascii_letters + "_.", max_size=12), inner, max_size=4),
    ),
    max_leaves=12,
)


def _dumps(value) -> str:
    return json.dumps(value, allow_nan=False)


def _deep(depth: int, kind: str) -> str:
    if kind == "list":
        return "[" * depth + "]" * depth
    if kind == "object":
        return '{"a":' * depth + "1" + "}" * depth
    return '{"type":"start","config":' + '{"hidden":[' * depth + "]}" * depth + "}"


# Messages whose type is one the server knows, carrying random fields and one unknown field.
typed_messages = st.builds(
    lambda kind, fields, extra: _dumps({**fields, "type": kind, FUZZ_KEY: extra}),
    st.sampled_from(list(MESSAGES)),
    st.dictionaries(st.sampled_from(["value", "run", "room", "token", "batch_surface", "config",
                                     "x"]), json_values, max_size=3),
    json_values,
)
# A start whose config fields get random values (plus one unknown field: never valid).
config_messages = st.builds(
    lambda fields, extra: _dumps({"type": "start", "config": {**fields, FUZZ_KEY: extra}}),
    st.dictionaries(st.sampled_from(list(TrainConfig.model_fields)), json_values, max_size=4),
    json_values,
)
# Any JSON value at all: not an object, an object with no or a wrong "type", ...
any_json = json_values.filter(
    lambda v: not (isinstance(v, dict) and v.get("type") in MESSAGES)
).map(_dumps)
# Text that is not JSON (a control character can start no JSON document).
not_json = st.text(max_size=200).map(lambda s: "\x01" + s)
non_finite = st.builds(
    lambda literal, template: template.replace("@", literal),
    st.sampled_from(["NaN", "Infinity", "-Infinity"]),
    st.sampled_from(['{"type":"speed","value":@}', '{"type":"start","config":{"lr":@}}',
                     '{"type":"start","config":{"runs":[{"name":"a","batch_size":1,"lr":@}]}}',
                     "@", "[@]"]),
)
too_large = st.sampled_from([
    '{"type":"start","config":{"dataset":"' + "a" * MAX_MESSAGE_BYTES + '"}}',
    "x" * (MAX_MESSAGE_BYTES + 1),
    '{"type":"inspect","run":"' + "한" * (MAX_MESSAGE_BYTES // 3 + 1) + '"}',  # 3 bytes each
])
deep = st.builds(_deep, st.sampled_from([2_000, 10_000]), st.sampled_from(["list", "object",
                                                                           "config"]))
binary = st.one_of(
    st.binary(max_size=64),
    st.sampled_from([b"\xff\xfe\xfd", b"\xc3\x28", b"\xed\xa0\x80", b'{"type":"pause"}', b""]),
)
payloads = st.one_of(typed_messages, config_messages, any_json, not_json, non_finite, too_large,
                     deep, binary)


# -- WebSocket: checks ---------------------------------------------------------------------------
def assert_error(msg: dict) -> None:
    """An `error` as docs/protocol.md has it: message, code, field (a string or null)."""
    assert msg["type"] == "error", msg
    assert {"message", "code", "field"} <= set(msg), msg
    assert isinstance(msg["message"], str) and msg["message"], msg
    assert isinstance(msg["code"], str) and msg["code"], msg
    assert msg["field"] is None or isinstance(msg["field"], str), msg


def assert_runs_to_done(client: Client) -> None:
    client.send({"type": "start", "config": {"speed": 0, "epochs": 1, "n_samples": 20}})
    assert client.recv()["type"] == "started"
    done, _ = client.until("done")
    assert {r["status"] for r in done["runs"].values()} == {"completed"}


def assert_healthy(base: str) -> None:
    r = httpx.get(base + "/api/health", timeout=30)
    assert r.status_code == 200 and r.json() == {"status": "ok"}


def send_raw(client: Client, payload: str | bytes) -> None:
    client.ws.send(payload)


@given(batch=st.lists(payloads, min_size=1, max_size=6))
@settings(max_examples=40, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])
def test_socket_answers_every_hostile_message_with_an_error(live_server, batch):
    client = Client(live_server)
    try:
        for payload in batch:
            send_raw(client, payload)
            size = len(payload.encode("utf-8", "surrogatepass") if isinstance(payload, str)
                       else payload)
            if size > ws_max_size(MAX_MESSAGE_BYTES):
                with pytest.raises(ConnectionClosed) as info:
                    client.recv(timeout=30)
                assert info.value.rcvd is not None and info.value.rcvd.code == 1009
                client.close()
                client = Client(live_server)
                continue
            assert_error(client.recv(timeout=30))
        assert_runs_to_done(client)
    finally:
        client.close()
    assert_healthy(live_server)


@pytest.mark.parametrize("payload, code", [
    (_deep(10_000, "list"), "bad_json"),
    (_deep(10_000, "object"), "bad_json"),
    (_deep(4_000, "config"), "bad_json"),  # 52 KB: under the size cap
    ('{"type":"speed","value":NaN}', "bad_json"),
    ('{"type":"start","config":{"lr":Infinity}}', "bad_json"),
    ('{"type":"start","config":{"lr":-Infinity}}', "bad_json"),
    ('{"type":"start","config":{"lr":1e308}}', "out_of_range"),
    ('{"type":"speed","value":-1e308}', "out_of_range"),
    ('{"type":"speed","value":1e400}', None),  # parses as inf: any error code
    ('{"type":"start","config":{"seed":' + str(2**64) + "}}", "out_of_range"),
    ('{"type":"start","config":{"n_samples":' + str(2**200) + "}}", "out_of_range"),
    ('{"type":"speed","value":' + "9" * 5000 + "}", "bad_json"),  # past Python's int limit
    ('{"type":"start","config":{"dataset":"' + "d" * (MAX_MESSAGE_BYTES + 10) + '"}}',
     "too_large"),
    ("not json at all", "bad_json"),
    ("", "bad_json"),
    ("[1, 2]", "bad_message"),
    ('{"type": 5}', "unknown_type"),
    ('{"type":"inspect","run":"\\ud800"}', "bad_type"),  # a lone surrogate, escaped
    ('{"type":"start","config":{"\\udfff":1}}', None),
    (b"\xff\xfe\x00\x80", "binary_frame"),  # invalid UTF-8, as a binary frame
    (b'{"type":"pause"}', "binary_frame"),
], ids=lambda p: repr(p)[:30] if isinstance(p, str | bytes) else None)
def test_each_kind_of_junk_gets_its_error(live_server, payload, code):
    client = Client(live_server)
    try:
        send_raw(client, payload)
        err = client.recv(timeout=30)
        assert_error(err)
        if code is not None:
            assert err["code"] == code, err
        assert_runs_to_done(client)
    finally:
        client.close()


def test_invalid_utf8_in_a_text_frame_closes_cleanly(live_server):
    """Not a message at all (RFC 6455): the protocol layer closes with 1007; the server lives on."""
    url = live_server.replace("http", "ws", 1) + "/ws/train"
    with connect(url) as ws:
        ws.send(b"\xff\xfe{", text=True)  # bytes in a text frame, sent without validation
        with pytest.raises(ConnectionClosed) as info:
            ws.recv(timeout=30)
    assert info.value.rcvd is not None and info.value.rcvd.code == 1007
    client = Client(live_server)
    try:
        assert_runs_to_done(client)
    finally:
        client.close()
    assert_healthy(live_server)


def test_a_message_past_the_frame_limit_closes_cleanly_with_a_reason(live_server):
    """Past uvicorn's 16 MiB frame limit the socket closes with 1009 and a reason."""
    url = live_server.replace("http", "ws", 1) + "/ws/train"
    with connect(url) as ws:
        ws.send("x" * (16 * 2**20 + 1))
        with pytest.raises(ConnectionClosed) as info:
            ws.recv(timeout=60)
    assert info.value.rcvd is not None and info.value.rcvd.code == 1009
    assert info.value.rcvd.reason
    assert_healthy(live_server)


# -- HTTP: bugs found by fuzzing, each pinned by a test ---------------------------------------------------------
def _post_json_text(base: str, path: str, text: str | bytes) -> httpx.Response:
    return httpx.post(base + path, content=text, timeout=60,
                      headers={"content-type": "application/json"})


@pytest.mark.parametrize("body", ['{"lr": NaN}', '{"lr": Infinity}', '{"noise": -Infinity}',
                                  '{"lr": 1e400}'])
def test_runs_refuses_non_finite_numbers_with_422(live_server, body):
    r = _post_json_text(live_server, "/api/runs", body)
    assert r.status_code == 422, (r.status_code, r.text[:200])


@pytest.mark.parametrize("body", [
    '{"runs": [{"name": "\\ud800x", "batch_size": 1}]}',
    '{"dataset": "\\udfff"}',
])
def test_runs_refuses_lone_surrogates_with_422(live_server, body):
    r = _post_json_text(live_server, "/api/runs", body)
    assert r.status_code == 422, (r.status_code, r.text[:200])


@pytest.mark.parametrize("depth", [10_000, 100_000])
def test_export_check_refuses_deep_nesting_with_422(live_server, depth):
    r = httpx.post(live_server + "/api/export/check", content="[" * depth + "]" * depth,
                   timeout=60)
    assert r.status_code == 422, (r.status_code, r.text[:200])


def test_other_bodies_refuse_deep_nesting_without_a_500(live_server):
    for path in ("/api/runs", "/api/link", "/api/export/csv"):
        r = _post_json_text(live_server, path, "[" * 100_000 + "]" * 100_000)
        assert 400 <= r.status_code < 500, (path, r.status_code)


def _documented(case) -> None:
    case.call_and_validate(
        checks=[not_a_server_error, status_code_conformance, content_type_conformance,
                response_schema_conformance])


@pytest.mark.parametrize("make_case", [
    lambda: schema["/api/qr.svg"]["GET"].Case(query={"data": ""}),
    lambda: schema["/api/link"]["POST"].Case(body={}, media_type="application/json"),
    lambda: schema["/api/export/{fmt}"]["POST"].Case(
        path_parameters={"fmt": "csv"}, body={"iterations": 5}, media_type="application/json"),
    lambda: schema["/api/runs"]["POST"].Case(
        body={"n_samples": 5000, "epochs": 1000}, media_type="application/json"),
], ids=["qr.svg", "link", "export", "runs"])
def test_error_bodies_match_the_documented_schema(make_case):
    _documented(make_case())


@pytest.mark.parametrize("make_case", [
    lambda: schema["/api/export/check"]["POST"].Case(),
    lambda: schema["/api/export/{fmt}"]["POST"].Case(
        path_parameters={"fmt": "pdf"}, body={}, media_type="application/json"),
    lambda: schema["/api/qr.svg"]["GET"].Case(query={"data": "hello"}),
], ids=["export-check-422", "export-fmt-404", "qr-svg-content-type"])
def test_every_answer_is_documented(make_case):
    _documented(make_case())


# -- booleans are not numbers; a client's value is quoted short ------------------------------------
BOOL_FIELDS = [("epochs", "an integer in [1, 1000]"), ("n_samples", "an integer in [1, 5000]"),
               ("lr", "a number in (0, 10]"), ("seed", "an integer in [0, 4294967295]"),
               ("noise", "a number in [0.0, 2.0]"),
               ("speed", "a number in [0, 10000] (iterations per second; 0 = as fast as possible)"),
               ("target_loss", "a number in [0, 1000000] or null"),
               ("patience", "an integer in [1, 1000] or null")]


@pytest.mark.parametrize("field, expected", BOOL_FIELDS)
@pytest.mark.parametrize("value", [True, False])
def test_a_boolean_is_not_a_number_over_http(live_server, field, expected, value):
    r = httpx.post(live_server + "/api/runs", json={field: value}, timeout=60)
    assert r.status_code == 422, r.text[:200]
    assert r.json()["detail"] == f"{field} must be {expected}, got {value}"
    assert r.json()["field"] == field


@pytest.mark.parametrize("config, field", [
    ({"epochs": True}, "config.epochs"),
    ({"hidden": [4, True]}, "config.hidden.1"),
    ({"runs": [{"name": "a", "batch_size": True}]}, "config.runs.0.batch_size"),
    ({"runs": [{"name": "a", "batch_size": 1, "lr": True}]}, "config.runs.0.lr"),
    ({"dataset": "blobs", "n_classes": True}, "config.n_classes"),
])
def test_a_boolean_is_not_a_number_on_the_socket(live_server, config, field):
    client = Client(live_server)
    try:
        client.send({"type": "start", "config": config})
        err = client.recv(timeout=30)
        assert_error(err)
        assert err["field"] == field and "got True" in err["message"], err
        client.send({"type": "speed", "value": True})
        err = client.recv(timeout=30)
        assert err["field"] == "value" and err["code"] == "bad_type", err
    finally:
        client.close()


LONG = "x" * 60_000


@pytest.mark.parametrize("message", [
    {"type": LONG},
    {"type": "start", "config": {"dataset": LONG}},
    {"type": "start", "config": {"activation": LONG}},
    {"type": "start", "config": {"loss": LONG}},
    {"type": "speed", "value": LONG},
])
def test_errors_quote_at_most_80_characters_of_a_value(live_server, message):
    """A 60 KB `type` came back whole in the error: now cut, with an ellipsis."""
    client = Client(live_server)
    try:
        client.send(message)
        err = client.recv(timeout=30)
        assert_error(err)
        assert len(err["message"]) < 400 and "x" * 81 not in err["message"], err["message"][:500]
        assert "..." in err["message"]
    finally:
        client.close()
    if "config" in message:
        r = httpx.post(live_server + "/api/runs", json=message["config"], timeout=60)
        assert r.status_code == 422 and "x" * 81 not in r.text and len(r.text) < 600, r.text[:500]
