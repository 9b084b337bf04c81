"""Lesson files (issue 15): the loader refuses a bad file naming the file, the step and the field;
DESCENT_LESSONS_DIR adds a teacher's lessons; the API lists them and serves each one whole."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.core.paths import LESSONS_DIR
from app.core.schemas import TrainConfig
from app.core.settings import Settings
from app.lessons import LessonError, load_lessons
from app.lessons.loader import read_lesson
from app.main import create_app

ROOT = Path(__file__).resolve().parents[3]
BUILTIN = "how-a-network-learns"

GOOD = """
id = "my-lesson"
title = { en = "Mine", ko = "내 수업" }

[[steps]]
title = { en = "One", ko = "하나" }
text = { en = "First.", ko = "첫째." }
[steps.config]
dataset = "moons"
hidden = [4]
runs = [{ name = "A", batch_size = 8 }, { name = "B", batch_size = "full" }]
[steps.question]
prompt = { en = "Which?", ko = "어느 것?" }
choices = [{ en = "A", ko = "A" }, { en = "B", ko = "B" }]
answer = 1
about = "B"

[[steps]]
title = { en = "Two", ko = "둘" }
text = { en = "Second.", ko = "둘째." }
[steps.config]
lr = 0.1
"""


def write(folder: Path, text: str, name: str = "mine.toml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def refusal(tmp_path: Path, text: str, **settings: object) -> LessonError:
    file = write(tmp_path, text)
    with pytest.raises(LessonError) as caught:
        read_lesson(file, Settings(**settings))
    assert str(caught.value).startswith(f"{file}: "), caught.value  # names the file
    return caught.value


def test_a_good_file_loads_with_full_batch_spelt_full_and_defaults_filled_in(tmp_path):
    lesson = read_lesson(write(tmp_path, GOOD), Settings())
    assert lesson.id == "my-lesson" and len(lesson.steps) == 2
    first, second = lesson.steps
    assert [r.batch_size for r in first.config.runs] == [8, None]
    assert first.config.loss == "binary_crossentropy"  # resolved as a start resolves it
    assert second.config == TrainConfig(lr=0.1) and second.question is None


@pytest.mark.parametrize("old, new, step, field, words", [
    ("lr = 0.1", "lr = 50", 2, "config.lr", "config.lr must be a number in (0, 10], got 50"),
    ('dataset = "moons"', 'dataset = "moon"', 1, "config.dataset", "unknown dataset 'moon'"),
    ('dataset = "moons"', 'dataset = "moons"\nloss = "mse"', 1, "config.loss",
     "does not fit binary data"),
    ("hidden = [4]", "hidden = [4]\nwings = 2", 1, "config.wings", "not a known field"),
    ('batch_size = 8 }', 'batch_size = 0 }', 1, "config.runs.0.batch_size", "[1, 100000]"),
    ('{ name = "B", batch_size = "full" }', '{ name = "A", batch_size = "full" }', 1,
     "config.runs", "run names must be unique"),
    ('text = { en = "Second.", ko = "둘째." }', 'text = { en = "Second." }', 2, "text.ko",
     "Field required"),
    ('choices = [{ en = "A", ko = "A" }, { en = "B", ko = "B" }]', 'choices = [{ en = "A", ko = "A" }]',
     1, "question.choices", "2 to 6 choices"),
    ("answer = 1", "answer = 2", 1, "question.answer", "[0, 1], got 2"),
    ('about = "B"', 'about = "C"', 1, "question.about", "one of the step's runs (A, B)"),
])
def test_a_bad_step_is_refused_naming_the_file_the_step_and_the_field(tmp_path, old, new, step,
                                                                       field, words):
    assert old in GOOD
    error = refusal(tmp_path, GOOD.replace(old, new, 1))
    assert (error.step, error.field) == (step, field)
    assert f": step {step}: " in str(error) and field in str(error) and words in str(error)


def test_a_step_longer_than_the_server_allows_is_refused_naming_the_setting(tmp_path):
    error = refusal(tmp_path, GOOD.replace("lr = 0.1", "epochs = 100\nn_samples = 5000"),
                    max_iterations_per_run=100_000)
    assert (error.step, error.field) == (2, "config.epochs")
    assert "DESCENT_MAX_ITERATIONS_PER_RUN" in str(error) and "500,000" in str(error)


CUSTOM = """
[steps.config]
dataset = "custom"
epochs = 400
runs = [{ name = "A", batch_size = 2 }]
[steps.config.data]
task = "regression"
X = [[-1.0], [0.0], [1.0], [2.0], [3.0]]
y = [1, 2, 3, 4, -5]
standardize = false
"""


def test_a_step_on_custom_data_in_mini_batches_counts_its_own_points(tmp_path):
    text = GOOD.replace("[steps.config]\nlr = 0.1\n", CUSTOM.lstrip())
    step = read_lesson(write(tmp_path, text), Settings()).steps[1]
    assert step.config.data.X[4] == [3.0] and step.config.n_samples is None
    # 5 points in batches of 2: 3 iterations per epoch, 1,200 in all (step 1 takes 260)
    error = refusal(tmp_path, text, max_iterations_per_run=1199)
    assert (error.step, error.field) == (2, "config.epochs") and "1,200 iterations" in str(error)


@pytest.mark.parametrize("text, field, words", [
    ("id = [", "file", "not valid TOML"),
    (GOOD.replace('id = "my-lesson"', 'id = "My Lesson"'), "id", "should match pattern"),
    (GOOD.replace('title = { en = "Mine", ko = "내 수업" }', 'title = { en = "Mine" }'),
     "title.ko", "Field required"),
    ('id = "x"\ntitle = { en = "X", ko = "X" }\nsteps = 3', "steps", "[[steps]]"),
])
def test_a_bad_lesson_is_refused_naming_the_file_and_the_field(tmp_path, text, field, words):
    error = refusal(tmp_path, text)
    assert error.step is None and error.field == field and words in str(error)


def test_the_teachers_folder_adds_its_lessons_after_the_built_in_ones(tmp_path):
    write(tmp_path, GOOD)
    write(tmp_path, "not a lesson", name="notes.txt")  # only *.toml files are lessons
    assert list(load_lessons(Settings())) == [BUILTIN]
    assert list(load_lessons(Settings(lessons_dir=str(tmp_path)))) == [BUILTIN, "my-lesson"]


def test_two_lessons_with_one_id_are_refused_naming_both_files(tmp_path):
    write(tmp_path, GOOD.replace("my-lesson", BUILTIN))
    with pytest.raises(LessonError, match=f"already the id of {LESSONS_DIR / BUILTIN}.toml"):
        load_lessons(Settings(lessons_dir=str(tmp_path)))


def test_the_setting_must_name_a_folder(tmp_path):
    with pytest.raises(ValueError, match="DESCENT_LESSONS_DIR must be a folder of lesson files"):
        Settings.from_env({"DESCENT_LESSONS_DIR": str(tmp_path / "missing")})
    assert Settings.from_env({"DESCENT_LESSONS_DIR": str(tmp_path)}).lessons_dir == str(tmp_path)


def test_a_bad_lesson_file_stops_the_server_start_with_one_line_naming_it(tmp_path):
    bad = write(tmp_path, GOOD.replace("lr = 0.1", "lr = 50"))
    env = {**os.environ, "DESCENT_LESSONS_DIR": str(tmp_path), "DESCENT_PORT": "1"}
    done = subprocess.run([sys.executable, "-m", "app.cli"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == (f"descent-playground: error: {bad}: step 2: config.lr must be "
                                   "a number in (0, 10], got 50")
    # `uvicorn app.main:app` refuses too: the app is not made
    uvicorn = subprocess.run([sys.executable, "-c", "import app.main"], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=60)
    assert uvicorn.returncode != 0 and f"{bad}: step 2: config.lr" in uvicorn.stderr


# -- the API ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def client(tmp_path_factory) -> TestClient:
    folder = tmp_path_factory.mktemp("lessons")
    write(folder, GOOD)
    return TestClient(create_app(Settings(lessons_dir=str(folder))))


def test_the_list_gives_each_lessons_id_title_and_number_of_steps(client):
    answer = client.get("/api/lessons")
    assert answer.status_code == 200
    assert answer.json() == [
        {"id": BUILTIN, "title": {"en": "How a network learns", "ko": "신경망 학습"}, "steps": 11},
        {"id": "my-lesson", "title": {"en": "Mine", "ko": "내 수업"}, "steps": 2},
    ]


def test_a_lesson_comes_whole_with_every_config_resolved(client):
    lesson = client.get("/api/lessons/my-lesson").json()
    assert list(lesson) == ["id", "title", "steps"] and lesson["id"] == "my-lesson"
    first, second = lesson["steps"]
    assert list(first) == ["title", "text", "config", "question"]
    assert first["config"] == TrainConfig.model_validate(
        {"dataset": "moons", "hidden": [4], "runs": [{"name": "A", "batch_size": 8},
                                                     {"name": "B", "batch_size": None}]}
    ).model_dump(mode="json")
    assert first["question"] == {"prompt": {"en": "Which?", "ko": "어느 것?"},
                                 "choices": [{"en": "A", "ko": "A"}, {"en": "B", "ko": "B"}],
                                 "answer": 1, "about": "B"}
    assert second["question"] is None and second["text"] == {"en": "Second.", "ko": "둘째."}
    # the config is what a socket start would send: it validates again as is
    assert TrainConfig.model_validate(first["config"]).model_dump(mode="json") == first["config"]


def test_the_outlier_steps_come_with_their_own_points(client):
    """Steps 2a and 2b train on custom data: the API gives the points, as a start would send."""
    steps = client.get(f"/api/lessons/{BUILTIN}").json()["steps"]
    mse, mae = steps[1]["config"], steps[2]["config"]
    assert mse["dataset"] == mae["dataset"] == "custom" and mse["data"] == mae["data"]
    assert (mse["n_samples"], mse["noise"]) == (None, None)  # do not apply to custom data
    data = mse["data"]
    assert data["task"] == "regression" and data["standardize"] is False
    assert len(data["X"]) == len(data["y"]) == 12 and data["y"][-1] == -3.0
    assert TrainConfig.model_validate(mse).model_dump(mode="json") == mse

def test_an_unknown_lesson_is_404_naming_the_known_ones(client):
    answer = client.get("/api/lessons/nope")
    assert answer.status_code == 404
    assert answer.json() == {"detail": f"no lesson 'nope'; the lessons are: {BUILTIN}, my-lesson"}


def test_both_routes_are_in_the_openapi_schema_with_their_models(client):
    schema = client.get("/openapi.json").json()
    listed = schema["paths"]["/api/lessons"]["get"]["responses"]["200"]["content"]
    assert listed["application/json"]["schema"]["items"]["$ref"].endswith("/LessonSummary")
    one = schema["paths"]["/api/lessons/{lesson_id}"]["get"]["responses"]
    assert one["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/Lesson")
    assert "404" in one
    step = schema["components"]["schemas"]["Step"]["properties"]
    assert {"title", "text", "config", "question"} <= set(step)


# -- packaging ----------------------------------------------------------------------------------
def test_the_lessons_ship_in_the_package_and_the_image():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert config["package-dir"]["app.lesson_files"] == "lessons"
    assert "app.lesson_files" in config["packages"] and "app.lessons" in config["packages"]
    patterns = config["package-data"]["app.lesson_files"]
    files = sorted(p.name for p in (ROOT / "lessons").iterdir())
    assert files and all(any(Path(f).match(p) for p in patterns) for f in files), files
    assert "COPY lessons/ lessons/" in (ROOT / "Dockerfile").read_text()
