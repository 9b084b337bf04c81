"""Share links: config <-> query, lenient reading with notices, the page's context, QR codes,
and an address students can reach."""

from __future__ import annotations

import json
import random
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import parse_qsl, quote, urlsplit

import httpx
import pytest
from conftest import free_port, local_ipv4_addresses, start_live_server
from fastapi.testclient import TestClient
from starlette.datastructures import URL

from app.core.schemas import MAX_RUNS, MAX_SEED, RunConfig, TrainConfig
from app.core.settings import Settings
from app.main import create_app
from app.routes.classroom import MAX_QR_CHARS
from app.routes.pages import link_context
from app.share.address import lan_address, reachable_base_url
from app.share.links import (
    MAX_VALUE_CHARS,
    config_to_query,
    parse_query,
    preferred_language,
    query_to_config,
)
from engine.datasets import DATASETS, LIMITS
from engine.layers import ACTIVATIONS
from engine.losses import LOSSES_BY_TASK

REPO = Path(__file__).resolve().parents[3]
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def http():
    with TestClient(create_app(Settings())) as client:
        yield client


def read_link(query: str):
    """A query string as query_to_config reads it."""
    return query_to_config(parse_query(query))


def fields_of(notices) -> list[str]:
    return [n.field for n in notices]


# --- round trip -------------------------------------------------------------------------------

NAMES = ["SGD", "Mini-batch", "Full batch", "확률적 경사하강법", "미니배치 32", "a,b", "x:y",
         "50%", "A&B=C", "1+1", "#1?", "lr=0.5", "full", "  padded  ", "é", "🙂 smile",
         "%2C", "a" * 40]


def random_config(rng: random.Random) -> TrainConfig:
    """A valid config with every field drawn at random, floats with all their digits."""
    dataset = rng.choice(list(DATASETS))
    spec = DATASETS[dataset]
    names = rng.sample(NAMES, rng.randint(1, MAX_RUNS))
    runs = [RunConfig(name=name,
                      batch_size=rng.choice([None, 1, rng.randint(1, 100_000)]),
                      lr=rng.choice([None, rng.uniform(1e-9, 10)]),
                      update=rng.choice(["sgd", "momentum", "adam"])) for name in names]
    return TrainConfig(
        dataset=dataset,
        n_samples=rng.randint(1, 5000),
        noise=rng.choice([None, rng.uniform(*LIMITS["noise"])]),
        n_classes=rng.randint(*LIMITS["n_classes"]) if spec.has_classes else None,
        seed=rng.choice([0, MAX_SEED, rng.randint(0, MAX_SEED)]),
        hidden=[rng.randint(1, 16) for _ in range(rng.randint(0, 4))],
        activation=rng.choice(list(ACTIVATIONS)),
        loss=rng.choice(LOSSES_BY_TASK[spec.task]),
        lr=rng.choice([10.0, 5e-324, rng.uniform(1e-6, 10)]),
        epochs=rng.randint(1, 1000),
        speed=rng.choice([0, 10_000, rng.uniform(0, 10_000)]),
        pacing=rng.choice(["iterations", "samples"]),
        target_loss=rng.choice([None, 0.0, 1e6, rng.uniform(0, 5)]),
        patience=rng.choice([None, rng.randint(1, 1000)]),
        repeats=rng.choice([1, rng.randint(1, 10)]),
        runs=runs,
    )


EDGE_CONFIGS = [
    TrainConfig(),
    TrainConfig(dataset="moons", lr=0.1, seed=7, hidden=[8, 8]),
    TrainConfig(runs=[RunConfig(name="Too small", batch_size=None, lr=0.01),
                      RunConfig(name="Just right", batch_size=None, lr=0.5),
                      RunConfig(name="Too big", batch_size=None, lr=1.2)]),
    TrainConfig(runs=[RunConfig(name="한국어 이름", batch_size=8, update="adam"),
                      RunConfig(name="a,b:c%d", batch_size=1, lr=0.3, update="momentum")]),
    TrainConfig(dataset="spiral_k", n_classes=5, loss="categorical_crossentropy",
                hidden=[16, 16, 16, 16], activation="relu", noise=0.0, target_loss=0.0,
                patience=1000, speed=0, pacing="samples"),
    TrainConfig(lr=0.1 + 0.2, noise=1 / 3, target_loss=1e-300, speed=1e-5),
    TrainConfig(runs=[RunConfig(name=name, batch_size=i + 1) for i, name in
                      enumerate(["%", "%25", ",", ":", "=", "&"])]),
]


@pytest.mark.parametrize("config", EDGE_CONFIGS, ids=range(len(EDGE_CONFIGS)))
def test_edge_configs_round_trip_exactly(config):
    assert read_link(config_to_query(config)) == (config, [])


def test_many_random_configs_round_trip_exactly():
    rng = random.Random(20261126)
    for _ in range(400):
        config = random_config(rng)
        back, notices = read_link(config_to_query(config))
        assert notices == []
        assert back == config
        assert back.model_dump() == config.model_dump()  # floats bit for bit


def test_round_trip_through_http(http):
    """The server's own query parsing reads the links too, e.g. when a student opens one."""
    rng = random.Random(7)
    for config in EDGE_CONFIGS + [random_config(rng) for _ in range(30)]:
        body = http.get("/api/share?" + config_to_query(config)).json()
        assert body["notices"] == []
        assert body["config"] == config.model_dump(mode="json")
        assert body["query"] == config_to_query(config)


def test_query_is_readable_and_in_field_order():
    query = config_to_query(TrainConfig(dataset="moons", lr=0.1, seed=7, hidden=[8, 8]))
    assert query == ("dataset=moons&n_samples=100&noise=0.4&seed=7&hidden=8,8&activation=tanh"
                     "&loss=binary_crossentropy&lr=0.1&epochs=20&speed=30&pacing=iterations"
                     "&runs=SGD:1,Mini-batch:32,Full%20batch:full")
    assert [key for key, _ in parse_query(query)] == [
        k for k in TrainConfig.model_fields
        if k not in ("n_classes", "target_loss", "patience", "repeats", "data")]


def test_repeats_travel_in_a_link_and_one_repeat_is_left_out():
    query = config_to_query(TrainConfig(repeats=5))
    assert "&repeats=5&runs=" in query
    assert read_link(query) == (TrainConfig(repeats=5), [])
    assert "repeats" not in config_to_query(TrainConfig())
    config, notices = read_link("repeats=11&seed=3")
    assert config == TrainConfig(seed=3)
    assert [(n.field, n.code) for n in notices] == [("repeats", "out_of_range")]
    assert "an integer in [1, 10]" in notices[0].message


def test_run_names_are_percent_escaped_inside_runs():
    runs = [RunConfig(name="a,b", batch_size=1), RunConfig(name="c:d", batch_size=None),
            RunConfig(name="50%", batch_size=2), RunConfig(name="한", batch_size=3, lr=0.5)]
    value = dict(parse_query(config_to_query(TrainConfig(runs=runs))))["runs"]
    assert value == "a%2Cb:1,c%3Ad:full,50%25:2,한:3:lr=0.5"
    assert "runs=a%252Cb:1,c%253Ad:full,50%2525:2,%ED%95%9C:3:lr=0.5" in config_to_query(
        TrainConfig(runs=runs))


def test_hand_written_links_read_as_documented():
    config, notices = read_link("dataset=moons&lr=0.1&seed=7&hidden=8,8"
                                "&runs=SGD:1,Mini-batch:32,Full%20batch:full")
    assert notices == []
    assert config == TrainConfig(dataset="moons", lr=0.1, seed=7, hidden=[8, 8])
    config, notices = read_link("runs=Too%20small:full:lr=0.01,Just%20right:full:lr=0.5,"
                                "Too%20big:full:lr=1.2:update=momentum&hidden=&autoplay=1&lang=ko")
    assert notices == []
    assert [(r.name, r.batch_size, r.lr, r.update) for r in config.runs] == [
        ("Too small", None, 0.01, "sgd"), ("Just right", None, 0.5, "sgd"),
        ("Too big", None, 1.2, "momentum")]
    assert config.hidden == []


def test_mapping_and_pairs_are_both_accepted():
    assert query_to_config({"lr": "0.5"}) == query_to_config([("lr", "0.5")])
    assert query_to_config({})[0] == TrainConfig()


# --- bad links --------------------------------------------------------------------------------

@pytest.mark.parametrize("query, field, words", [
    ("lr=abc", "lr", "lr must be a number in (0, 10]"),
    ("lr=99", "lr", "got '99'"),
    ("lr=nan", "lr", "lr must be"),
    ("lr=-1", "lr", "lr must be"),
    ("hidden=8,x", "hidden", "hidden.1"),
    ("hidden=8,8,8,8,8", "hidden", "at most 4"),
    ("hidden=99", "hidden", "[1, 16]"),
    ("runs=bad", "runs", "NAME:BATCH"),
    ("runs=", "runs", "1 to 6 runs"),
    ("runs=A:0", "runs", "runs.0.batch_size"),
    ("runs=A:1,A:2", "runs", "unique"),
    ("runs=" + ",".join(f"R{i}:1" for i in range(7)), "runs", "1 to 6 runs"),
    ("dataset=nope", "dataset", "unknown dataset 'nope'"),
    ("dataset=moons&loss=mae", "loss", "does not fit binary data"),
    ("loss=zzz", "loss", "unknown loss"),
    ("n_classes=4", "n_classes", "multi-class datasets only"),
    ("dataset=multiblobs&n_classes=9", "n_classes", "[3, 5]"),
    ("seed=-1", "seed", "[0, 4294967295]"),
    ("seed=1.5", "seed", "seed must be"),
    ("epochs=0", "epochs", "[1, 1000]"),
    ("n_samples=999999", "n_samples", "[1, 5000]"),
    ("noise=3", "noise", "noise must be"),
    ("pacing=fast", "pacing", "pacing"),
    ("activation=swish", "activation", "unknown activation"),
    ("speed=-5", "speed", "speed must be"),
    ("target_loss=-1", "target_loss", "target_loss must be"),
    ("patience=0", "patience", "patience must be"),
    ("colour=red", "colour", "not a setting"),
    ("lr=" + "9" * 5000, "lr", f"longer than {MAX_VALUE_CHARS}"),
    ("runs=" + "x" * 100_000, "runs", f"longer than {MAX_VALUE_CHARS}"),
])
def test_a_bad_value_falls_back_with_a_notice(query, field, words):
    config, notices = read_link(query)
    assert field in fields_of(notices), notices
    notice = next(n for n in notices if n.field == field)
    assert words in notice.message
    assert len(notice.value) <= 80
    rest = "&".join(part for part in query.split("&") if not part.startswith(field + "="))
    assert config == read_link(rest)[0]  # as if the link had left the field out


def test_a_bad_field_keeps_every_other_valid_field():
    config, notices = read_link("dataset=moons&lr=abc&seed=7&hidden=8,x&epochs=5&runs=A:1,B:full")
    assert fields_of(notices) == ["lr", "hidden"]
    assert (config.dataset, config.lr, config.seed, config.hidden, config.epochs) == (
        "moons", 0.2, 7, [], 5)
    assert [r.name for r in config.runs] == ["A", "B"]


def test_unknown_dataset_then_its_loss_fall_back_in_turn():
    config, notices = read_link("dataset=nope&loss=categorical_crossentropy&n_classes=4&lr=0.3")
    assert fields_of(notices) == ["dataset", "loss", "n_classes"]
    assert (config.dataset, config.loss, config.n_classes, config.lr) == ("linear", "mse", None, 0.3)


def test_a_loss_that_does_not_fit_falls_back_to_the_datasets_default():
    config, notices = read_link("dataset=spiral_k&loss=mse&n_classes=4")
    assert fields_of(notices) == ["loss"]
    assert (config.loss, config.n_classes) == ("sparse_categorical_crossentropy", 4)


def test_bad_parts_of_a_run_drop_only_that_part():
    config, notices = read_link("runs=A:1:lr=99,B:0,C:2:foo=1,D:full:update=fast,E:3:lr=0.1:lr=2")
    assert [(r.name, r.batch_size, r.lr, r.update) for r in config.runs] == [
        ("A", 1, None, "sgd"), ("C", 2, None, "sgd"), ("D", None, None, "sgd"),
        ("E", 3, 0.1, "sgd")]
    messages = [n.message for n in notices]
    assert fields_of(notices) == ["runs"] * 5
    assert "runs.0.lr must be a number in (0, 10]" in messages[0]
    assert "runs.1.batch_size" in messages[1]
    assert "unknown run option 'foo=1'" in messages[2]
    assert "runs.3.update" in messages[3]
    assert "given twice" in messages[4]


def test_unknown_keys_are_each_named_up_to_a_limit():
    _, notices = read_link("&".join(f"k{i}=1" for i in range(30)))
    assert fields_of(notices)[:10] == [f"k{i}" for i in range(10)]
    assert notices[-1].message == "20 more unknown settings ignored"
    assert len(notices) == 11


def test_a_repeated_key_keeps_the_first_value():
    config, notices = read_link("lr=0.1&lr=0.3")
    assert config.lr == 0.1
    assert [(n.field, n.value, n.code) for n in notices] == [("lr", "0.3", "repeated")]


def test_page_options_are_not_config_and_not_notices():
    config, notices = read_link("autoplay=1&lang=ko")
    assert (config, notices) == (TrainConfig(), [])


def test_garbage_never_raises():
    rng = random.Random(3)
    alphabet = "abc019,:=%&+ .-_한\x00\n"
    for _ in range(300):
        junk = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60)))
        key = rng.choice(list(TrainConfig.model_fields) + ["junk"])
        config, notices = query_to_config([(key, junk)])
        assert isinstance(config, TrainConfig)
        assert all(n.message for n in notices)


# --- the page reads the link ------------------------------------------------------------------

def test_a_bad_link_still_renders_the_page(http):
    r = http.get("/?dataset=moons&lr=zzz")
    assert r.status_code == 200
    assert "<title>Descent Playground</title>" in r.text
    body = http.get("/api/share?dataset=moons&lr=zzz").json()
    assert [(n["field"], n["value"], n["code"]) for n in body["notices"]] == [
        ("lr", "zzz", "bad_type")]
    assert body["config"]["dataset"] == "moons" and body["config"]["lr"] == 0.2


def test_page_context_carries_config_notices_autoplay_and_lang():
    context = link_context(parse_qsl("dataset=moons&lr=zzz&autoplay=1&lang=ko",
                                     keep_blank_values=True), "en-US,en;q=0.9")
    assert context["initial_config"] == TrainConfig(dataset="moons").model_dump(mode="json")
    json.dumps(context["initial_config"])  # ready for the template's tojson
    assert [n["field"] for n in context["notices"]] == ["lr"]
    assert set(context["notices"][0]) == {"field", "value", "message", "code"}
    assert context["autoplay"] is True
    assert context["lang"] == "ko"  # the link wins over the browser
    plain = link_context([], None)
    assert (plain["notices"], plain["autoplay"], plain["lang"]) == ([], False, "en")


@pytest.mark.parametrize("header, lang", [
    (None, "en"),
    ("", "en"),
    ("ko-KR,ko;q=0.9,en-US;q=0.8,en;q=0.7", "ko"),
    ("en-US,en;q=0.9,ko;q=0.8", "en"),
    ("ko", "ko"),
    ("fr-FR,fr;q=0.9,ko;q=0.5", "ko"),
    ("fr-FR,fr;q=0.9", "en"),
    ("en;q=0.5,ko;q=0.6", "ko"),
    ("ko;q=0,en;q=0.1", "en"),
    ("ko;q=abc,en;q=0.5", "en"),
    ("en, ko", "en"),
    ("ko, en", "ko"),
])
def test_language_from_accept_language(header, lang):
    assert preferred_language(header) == lang


@pytest.mark.parametrize("query, lang", [("lang=en", "en"), ("lang=fr", "ko"), ("", "ko")])
def test_lang_from_the_link_else_from_the_browser(query, lang):
    assert link_context(parse_qsl(query), "ko-KR,ko")["lang"] == lang


# --- share endpoints --------------------------------------------------------------------------

def test_share_answers_config_notices_query_and_url(http):
    body = http.get("/api/share?dataset=moons&seed=7&bogus=1&autoplay=1").json()
    assert set(body) == {"config", "notices", "query", "url"}
    assert [n["field"] for n in body["notices"]] == ["bogus"]
    assert body["url"] == f"http://testserver/?{body['query']}&autoplay=1"
    assert read_link(body["query"]) == (TrainConfig(dataset="moons", seed=7), [])


def test_link_from_a_config(http):
    config = TrainConfig(dataset="moons", hidden=[8, 8], runs=[RunConfig(name="한국어", batch_size=4)])
    body = http.post("/api/link", json={"config": config.model_dump(), "lang": "ko"}).json()
    assert body["query"] == config_to_query(config)
    assert body["url"] == f"http://testserver/?{body['query']}&lang=ko"
    assert body["notices"] == []
    assert body["qr_svg_url"] == "/api/qr.svg?data=" + quote(body["url"], safe="")
    qr = http.get(body["qr_svg_url"])
    assert qr.status_code == 200 and qr.headers["content-type"] == "image/svg+xml"


def test_link_from_a_query_is_lenient_and_keeps_its_page_options(http):
    body = http.post("/api/link", json={"query": "?lr=zz&seed=3&autoplay=1"}).json()
    assert [n["field"] for n in body["notices"]] == ["lr"]
    assert body["url"].endswith("&autoplay=1")
    assert read_link(body["query"])[0].seed == 3


@pytest.mark.parametrize("payload, words", [
    ({"config": {"lr": 50}}, "config.lr must be a number in (0, 10]"),
    ({"config": {"dataset": "moons", "loss": "mse"}}, "does not fit"),
    ({}, 'either "config"'),
    ({"config": {}, "query": "lr=1"}, 'either "config"'),
    ({"config": {}, "colour": "red"}, "colour is not a known field"),
    ([1, 2], "Input should be"),
])
def test_link_rejects_bad_bodies(http, payload, words):
    r = http.post("/api/link", json=payload)
    assert r.status_code == 422
    assert words in r.json()["detail"]


def test_two_headless_runs_from_one_link_are_bit_identical(http):
    link = "dataset=moons&hidden=4&n_samples=60&epochs=3&seed=11&lr=0.3&runs=SGD:1,B:8:update=adam"
    config = http.get("/api/share?" + link).json()["config"]
    first = http.post("/api/runs", json=config)
    second = http.post("/api/runs", json=config)
    assert first.status_code == 200
    assert first.content == second.content  # the same bytes: every float bit for bit
    assert json.loads(first.content)["runs"]["B"]


# --- QR codes ---------------------------------------------------------------------------------

def test_qr_code_is_an_svg_big_enough_for_a_projector(http):
    url = "http://192.168.1.20:8000/?" + config_to_query(TrainConfig(dataset="moons"))
    r = http.get("/api/qr.svg", params={"data": url})
    assert r.status_code == 200
    assert r.headers["content-type"] == "image/svg+xml"
    root = ET.fromstring(r.content)
    assert root.tag == SVG + "svg"
    assert int(root.get("width")) >= 600 and root.get("width") == root.get("height")
    assert any(path.get("stroke") == "#000" for path in root.iter(SVG + "path"))


def test_qr_code_of_the_longest_data(http):
    r = http.get("/api/qr.svg", params={"data": "x" * MAX_QR_CHARS})
    assert r.status_code == 200
    ET.fromstring(r.content)


@pytest.mark.parametrize("data", ["x" * (MAX_QR_CHARS + 1), ""])
def test_qr_code_refuses_data_out_of_bounds_naming_the_limit(http, data):
    r = http.get("/api/qr.svg", params={"data": data})
    assert r.status_code == 422
    assert str(MAX_QR_CHARS) in r.json()["detail"]


def test_qr_code_refuses_text_too_big_for_one_code(http):
    r = http.get("/api/qr.svg", params={"data": "한" * MAX_QR_CHARS})
    assert r.status_code == 422
    assert "too much" in r.json()["detail"]


# --- a reachable address ----------------------------------------------------------------------

def fake_request(url: str, server: tuple[str, int] = ("127.0.0.1", 8000)) -> SimpleNamespace:
    """A request as reachable_base_url sees it: its base URL (from the Host header) and the
    address its connection reached (the scope's `server`)."""
    return SimpleNamespace(base_url=URL(url), scope={"server": server})


LAN = "192.168.1.20"


@pytest.mark.parametrize("request_url, bind, expected", [
    ("http://localhost:8000/", "0.0.0.0", f"http://{LAN}:8000"),
    ("http://127.0.0.1:8000/", "0.0.0.0", f"http://{LAN}:8000"),
    ("http://[::1]:8000/", "::", f"http://{LAN}:8000"),
    ("http://localhost:9000/", "10.0.0.5", "http://10.0.0.5:9000"),
    ("http://localhost/", "0.0.0.0", f"http://{LAN}"),
    ("http://localhost:8000/", "127.0.0.1", "http://localhost:8000"),
    ("http://localhost:8000/", "::1", "http://localhost:8000"),
    ("http://127.0.0.1:8000/", "localhost", "http://127.0.0.1:8000"),
    ("http://192.168.1.7:8000/", "0.0.0.0", "http://192.168.1.7:8000"),
    ("http://localhost:8000/sub/", "0.0.0.0", f"http://{LAN}:8000/sub"),
    # A name that is not this server's own (DNS rebinding, a forged Host) is never copied:
    # the address the connection reached stands in, swapped for the LAN address as above.
    ("http://evil.example:8000/", "0.0.0.0", f"http://{LAN}:8000"),
    ("http://evil.example/", "127.0.0.1", "http://127.0.0.1:8000"),
    ("https://playground.school.example/", "0.0.0.0", f"https://{LAN}:8000"),
])
def test_reachable_base_url(request_url, bind, expected):
    settings = Settings(host=bind)
    assert reachable_base_url(fake_request(request_url), settings, lambda: LAN) == expected


@pytest.mark.parametrize("settings", [
    Settings(host="0.0.0.0", trust_proxy_headers=True),  # the proxy passes its public name on
    Settings(host="0.0.0.0", allowed_origins=("https://playground.school.example",)),
    Settings(host="playground.school.example"),
])
def test_reachable_base_url_keeps_a_name_the_server_was_told(settings):
    got = reachable_base_url(fake_request("https://playground.school.example/"), settings,
                             lambda: LAN)
    assert got == "https://playground.school.example"


def test_reachable_base_url_keeps_the_machines_own_name():
    name = socket.gethostname()
    got = reachable_base_url(fake_request(f"http://{name}:8000/"), Settings(host="0.0.0.0"),
                             lambda: LAN)
    assert got == f"http://{name.lower()}:8000"


def test_reachable_base_url_without_a_lan_keeps_the_request_host():
    settings = Settings(host="0.0.0.0")
    got = reachable_base_url(fake_request("http://localhost:8000/"), settings, lambda: None)
    assert got == "http://localhost:8000"


def test_reachable_base_url_brackets_an_ipv6_lan_address():
    settings = Settings(host="::")
    got = reachable_base_url(fake_request("http://[::1]:8000/"), settings, lambda: "fd00::5")
    assert got == "http://[fd00::5]:8000"


def test_lan_address_is_one_of_this_machines_addresses():
    """Checked against the kernel's list of addresses, not against another lookup of ours."""
    mine = local_ipv4_addresses()
    expected = mine or {None}  # a machine without a LAN address: none found, nor made up
    assert lan_address() in expected, mine


def test_cli_host_reaches_the_links(tmp_path):
    """`descent-playground --host 0.0.0.0`: a link asked for on localhost names the LAN address."""
    port = free_port()
    log = tmp_path / "cli.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "--host", "0.0.0.0", "--port", str(port),
             "--log-level", "warning"], cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_for(base, proc, log)
        body = httpx.post(base + "/api/link", json={"config": {}}, timeout=10).json()
        host = urlsplit(body["url"]).hostname
        # one of the addresses the kernel lists; without any, the address asked for stays
        assert host in (local_ipv4_addresses() or {"127.0.0.1"})
        assert urlsplit(body["url"]).port == port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_a_configured_host_names_the_links():
    """Whatever this machine's network: the app told its host (DESCENT_HOST, a documentation
    address) names it in links asked for on loopback, the share link and a room's link alike."""
    with start_live_server(env={"DESCENT_HOST": "198.51.100.7"}, name="named-host") as base:
        link = httpx.post(base + "/api/link", json={"config": {}}, timeout=10).json()["url"]
        room = httpx.post(base + "/api/rooms", timeout=10).json()
    port = urlsplit(base).port
    assert link.startswith(f"http://198.51.100.7:{port}/?")
    assert room["viewer_url"] == f"http://198.51.100.7:{port}/room/{room['code']}"




def _wait_for(base: str, proc: subprocess.Popen, log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()
        try:
            if httpx.get(base + "/api/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    pytest.fail(f"the CLI's server did not start:\n{log.read_text()}")
