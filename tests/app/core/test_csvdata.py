"""`POST /api/data/csv`: a pasted or uploaded CSV as custom data, or its first bad rows as codes
and line numbers (the page says them in its language)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app.core.settings import Settings
from app.main import create_app


@pytest.fixture(scope="module")
def http():
    with TestClient(create_app(Settings())) as client:
        yield client


def post(http, text: str | bytes, task: str = "regression"):
    body = text.encode() if isinstance(text, str) else text
    return http.post(f"/api/data/csv?task={task}", content=body)


@pytest.mark.parametrize("text, task, want", [
    ("x,y\n1,2\n3.5,-4e2\n", "regression", {"task": "regression", "X": [[1.0], [3.5]],
                                            "y": [2.0, -400.0]}),
    ("1;2\n\n3;4\n", "regression", {"task": "regression", "X": [[1.0], [3.0]], "y": [2.0, 4.0]}),
    ("x1\tx2\tlabel\n1\t2\t0\n3\t4\t1\n", "regression",  # three columns: classification
     {"task": "binary", "X": [[1.0, 2.0], [3.0, 4.0]], "y": [0, 1]}),
    ("1,2,0\n3,4,2\n5,6,1\n", "binary", {"task": "multiclass", "X": [[1, 2], [3, 4], [5, 6]],
                                        "y": [0, 2, 1]}),
    ("x,label\n0.5,1\n-0.5,0\n", "binary", {"task": "binary", "X": [[0.5], [-0.5]],
                                           "y": [1, 0]}),
    ("\ufeffx,y\r\n1,2\r\n", "regression", {"task": "regression", "X": [[1.0]], "y": [2.0]}),
])
def test_good_files_become_custom_data(http, text, task, want):
    r = post(http, text, task)
    assert r.status_code == 200, r.json()
    assert r.json() == want


def test_a_file_with_bad_rows_is_refused_as_a_whole(http):
    text = "x,y\n1,2\nabc,3\n4,5,6,7\n1e7,1\nnan,1\n2,3\n1,2,3\n"
    r = post(http, text)
    assert r.status_code == 422
    body = r.json()
    assert body["problems"] == [{"code": "num", "n": 3}, {"code": "cols", "k": 4, "w": 2, "n": 4},
                                {"code": "num", "n": 5}]
    assert body["field"] == "text" and "5 bad row(s)" in body["detail"]
    r = post(http, "x1,x2,label\n1,2,0\n1,2,5\n1,2,0.5\n1,2,-1\n", "binary")
    assert [p["code"] for p in r.json()["problems"]] == ["lab", "lab", "lab"]
    assert post(http, "1,2\n1_000,2\n").json()["problems"] == [{"code": "num", "n": 2}]
    assert post(http, "1,2\n1,5\n3,1\n", "binary").json()["problems"] == [{"code": "lab", "n": 2}]


@pytest.mark.parametrize("rows, code", [(2001, 422), (2000, 200), (0, 422)])
def test_at_most_2000_rows(http, rows, code):
    r = post(http, "x,y\n" + "".join(f"{i},{i}\n" for i in range(rows)))
    assert r.status_code == code
    if code == 422:
        assert r.json()["problems"] == [{"code": "many", "n": rows}]
        assert "1 to 2000" in r.json()["detail"]


def test_text_that_is_not_utf8_is_refused(http):
    r = post(http, b"\xff\xfe1,2")
    assert r.status_code == 422 and "UTF-8" in r.json()["detail"]
