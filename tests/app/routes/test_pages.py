"""The page's data block: facts the server holds once and the page reads (issue 11, point 6)."""

from __future__ import annotations

import json
import os
import re

import httpx
import pytest
from conftest import start_live_server
from fastapi.testclient import TestClient

import engine
from app.core.colors import RUN_COLORS
from app.core.paths import STATIC_DIR
from app.core.schemas import form_bounds
from app.core.settings import Settings
from app.main import create_app

FACTS = re.compile(r'<script type="application/json" id="page-facts">(.*?)</script>', re.S)


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(create_app(Settings()))


@pytest.mark.parametrize("path", ["/", "/room/ABCDE"])
def test_every_page_gets_the_run_colours_and_the_engines_default_runs(client, path):
    html = client.get(path).text
    found = FACTS.search(html)
    assert found, f"{path} has no page-facts data block"
    facts = json.loads(found.group(1))
    assert facts["run_colors"] == list(RUN_COLORS)
    assert facts["default_runs"] == [
        {"name": run.name, "batch_size": run.batch_size, "lr": run.lr, "update": run.update}
        for run in engine.DEFAULT_RUNS
    ]
    assert facts["bounds"] == form_bounds()  # what the form checks a typed value against


def test_the_pages_scripts_hold_no_second_copy_of_the_run_colours_or_default_runs():
    for path in STATIC_DIR.rglob("*.js"):
        text = path.read_text(encoding="utf-8")
        assert not any(color in text for color in RUN_COLORS), f"{path} lists run colours"
        assert '"Mini-batch", batch_size: 32' not in text, f"{path} lists the default runs"


@pytest.mark.parametrize(
    ("host", "local_only"),
    [("127.0.0.1", True), ("127.0.0.2", True), ("::1", True), ("localhost", True),
     ("0.0.0.0", False), ("::", False), ("192.168.1.20", False)],
)
def test_the_page_knows_whether_phones_can_reach_the_server(host, local_only):
    html = TestClient(create_app(Settings(host=host))).get("/").text
    assert json.loads(FACTS.search(html).group(1))["local_only"] is local_only


@pytest.mark.parametrize(("env", "local_only"), [({}, True), ({"DESCENT_HOST": "0.0.0.0"}, False)])
def test_a_real_server_says_local_only_for_its_default_host_and_not_on_the_network(env, local_only):
    """DESCENT_HOST (default 127.0.0.1) reaches the page: no QR code a phone cannot open."""
    base_env = {k: v for k, v in os.environ.items() if k != "DESCENT_HOST"}
    with start_live_server(env=env, base_env=base_env, name="local-only") as base:
        html = httpx.get(base + "/", timeout=10).text
    assert json.loads(FACTS.search(html).group(1))["local_only"] is local_only
