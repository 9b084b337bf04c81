"""A link opens a lesson step (`?lesson=ID&step=K`, issue 15): the page gets the step and, when
the link gives no config, the step's config; share links keep the step."""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qsl

import pytest
from fastapi.testclient import TestClient

from app.core.schemas import TrainConfig
from app.core.settings import Settings
from app.lessons import load_lessons
from app.main import create_app
from app.routes.pages import link_context
from app.share.links import page_options

LESSONS = load_lessons(Settings())
ID = "how-a-network-learns"
BLOCK = re.compile(r'<script type="application/json" id="page-lesson">(.*?)</script>', re.S)


def context(query: str) -> dict:
    return link_context(parse_qsl(query, keep_blank_values=True), None, LESSONS)


@pytest.fixture(scope="module")
def http() -> TestClient:
    return TestClient(create_app(Settings()))


def test_a_lesson_link_loads_the_steps_config_and_names_the_step():
    got = context(f"lesson={ID}&step=6")
    assert got["lesson"] == {"id": ID, "step": 6} and got["notices"] == []
    assert got["initial_config"] == LESSONS[ID].steps[5].config.model_dump(mode="json")


def test_a_config_in_the_link_wins_over_the_steps_one():
    got = context(f"dataset=moons&lesson={ID}&step=6")  # a shared link: the config on screen
    assert got["lesson"] == {"id": ID, "step": 6}
    assert got["initial_config"] == TrainConfig(dataset="moons").model_dump(mode="json")


@pytest.mark.parametrize("query, step", [("step=99", 11), ("step=0", 1), ("step=x", 1), ("", 1)])
def test_a_step_out_of_range_falls_back_to_the_nearest(query, step):
    assert context(f"lesson={ID}&{query}")["lesson"] == {"id": ID, "step": step}


def test_an_unknown_lesson_is_a_notice_and_no_panel():
    got = context("lesson=nope&step=2")
    assert got["lesson"] is None and got["initial_config"] == TrainConfig().model_dump(mode="json")
    assert [(n["field"], n["value"]) for n in got["notices"]] == [("lesson", "nope")]
    assert ID in got["notices"][0]["message"]


def test_lesson_and_step_are_page_options_not_unknown_settings():
    assert context(f"lesson={ID}&step=2&lr=0.1")["notices"] == []
    options = page_options([("lesson", ID), ("step", "3")])
    assert (options.lesson, options.step) == (ID, 3)
    assert options.query() == f"&lesson={ID}&step=3"


def test_the_page_carries_the_step_only_when_a_lesson_is_open(http):
    found = BLOCK.search(http.get(f"/?lesson={ID}&step=3").text)
    assert found and json.loads(found.group(1)) == {"id": ID, "step": 3}
    assert BLOCK.search(http.get("/").text) is None


def test_a_share_link_keeps_the_lesson_step(http):
    body = http.post("/api/link", json={"config": {"lr": 0.3},
                                        "lesson": {"id": ID, "step": 4}}).json()
    assert body["url"].endswith(f"&lesson={ID}&step=4") and "lr=0.3" in body["url"]
    assert "lesson" not in body["query"]  # the query is the config's alone
    again = http.post("/api/link", json={"query": body["url"].split("?", 1)[1]}).json()
    assert again["url"] == body["url"]
