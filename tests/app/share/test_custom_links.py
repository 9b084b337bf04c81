"""Share links of custom points: up to 200 carried compactly and replayed bit for bit; a bigger
set is left out (the link keeps the rest, and reading it says to load the saved file)."""

from __future__ import annotations

import random

import pytest
from fastapi.testclient import TestClient

from app.core.schemas import TrainConfig
from app.core.settings import Settings
from app.export.compute import compute
from app.main import create_app
from app.share.links import LINK_MAX_POINTS, config_to_query, parse_query, query_to_config


@pytest.fixture(scope="module")
def http():
    with TestClient(create_app(Settings())) as client:
        yield client


def number(rng: random.Random) -> float:
    """A value with all its digits, of any size the bounds allow (the longest link text)."""
    return rng.choice([rng.uniform(-1e6, 1e6), rng.uniform(-1, 1) * 10 ** -rng.randint(5, 300),
                       rng.randint(-5, 5), 0.0])


def custom_config(rng: random.Random, n: int) -> TrainConfig:
    task = rng.choice(["regression", "binary", "multiclass"])
    width = 2 if task != "regression" else rng.choice([1, 2])
    X = [[number(rng) for _ in range(width)] for _ in range(n)]
    if task == "regression":
        y = [number(rng) for _ in range(n)]
    else:
        k = 2 if task == "binary" else rng.randint(3, 5)
        y = [i % k for i in range(n)]
        rng.shuffle(y)
    return TrainConfig(dataset="custom", seed=rng.randint(0, 99), lr=rng.uniform(0.01, 1),
                       data={"task": task, "X": X, "y": y, "standardize": rng.random() < 0.5})


@pytest.mark.parametrize("seed", range(20))
def test_custom_points_round_trip_exactly(seed):
    rng = random.Random(seed)
    config = custom_config(rng, rng.choice([5, 37, LINK_MAX_POINTS]))
    query = config_to_query(config)
    back, notices = query_to_config(parse_query(query))
    assert notices == []
    assert back == config and back.data.X == config.data.X and back.data.y == config.data.y
    assert config_to_query(back) == query


def test_a_replayed_link_trains_bit_for_bit_the_same():
    rng = random.Random(7)
    config = custom_config(rng, 60).model_copy(update={"epochs": 2})
    back, _ = query_to_config(parse_query(config_to_query(config)))
    assert compute(back)["runs"] == compute(config)["runs"]


def test_the_data_text_is_compact():
    config = TrainConfig(dataset="custom", data={"task": "binary", "X": [[0.5, 1.25], [2, -3]],
                                                 "y": [0, 1]})
    assert config_to_query(config).endswith("&data=binary:1:0.5,1.25,0_2,-3,1")


def test_a_bigger_set_is_left_out_and_the_link_keeps_the_rest(http):
    config = custom_config(random.Random(3), LINK_MAX_POINTS + 1)
    config = config.model_copy(update={"lr": 0.125, "epochs": 7})
    query = config_to_query(config)
    assert "data=" not in query and "lr=0.125" in query and "epochs=7" in query
    back, notices = query_to_config(parse_query(query))
    assert back.dataset != "custom" and back.lr == 0.125 and back.epochs == 7
    assert notices[0].field == "dataset" and "saved JSON file" in notices[0].message
    small = custom_config(random.Random(3), LINK_MAX_POINTS)
    body = http.post("/api/link", json={"config": config.model_dump()}).json()
    assert body["points_left_out"] is True and "data=" not in body["url"]
    body = http.post("/api/link", json={"config": small.model_dump()}).json()
    assert body["points_left_out"] is False and "data=" in body["url"]


@pytest.mark.parametrize("value, field, words", [
    ("binary:1:1,2,0_3,x,1", "data", "data.X[1][1]"),
    ("binary:2:1,2,0_3,4,1", "data", "standardize"),
    ("binary:1:1,2,0_3,4,0", "data", "none has label 1"),
    ("binary:1", "data", "valid dictionary"),
    ("binary:1:" + "_".join(["1,2,0"] * 4000), "data", "longer than 16000"),
])
def test_a_bad_data_value_falls_back_with_notices(value, field, words):
    config, notices = query_to_config(parse_query(f"dataset=custom&lr=0.5&data={value}"))
    assert config.dataset == "linear" and config.lr == 0.5
    assert notices[0].field == field and words in notices[0].message, notices
    assert notices[1].field == "dataset"


def test_the_page_opens_a_custom_link(http):
    query = config_to_query(custom_config(random.Random(5), 12))
    html = http.get("/?" + query).text
    assert '"dataset": "custom"' in html or '"dataset":"custom"' in html
