"""The `/ws/train` contract, over real WebSockets against the real app under uvicorn."""

from __future__ import annotations

import json
import math
import time
import urllib.request

import pytest
from websockets.sync.client import connect

from engine import iterations_per_epoch


def strict_loads(text: str):
    """json.loads that fails on NaN / Infinity, as a browser's JSON.parse does."""

    def reject(name):
        raise AssertionError(f"non-strict JSON constant on the wire: {name}")

    return json.loads(text, parse_constant=reject)


class Client:
    """A thin test client: send dicts, receive strict-JSON dicts."""

    def __init__(self, base_url: str, path: str = "/ws/train") -> None:
        self._connection = connect(base_url.replace("http", "ws", 1) + path, max_size=2**24)
        self.ws = self._connection.__enter__()

    def send(self, message: dict) -> None:
        self.ws.send(json.dumps(message))

    def recv(self, timeout: float = 20.0) -> dict:
        return strict_loads(self.ws.recv(timeout=timeout))

    def until(self, kind: str, timeout: float = 60.0) -> tuple[dict, list[dict]]:
        """Receive until a message of type `kind`; return it and everything before it."""
        seen = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msg = self.recv(timeout=deadline - time.monotonic())
            if msg["type"] == kind:
                return msg, seen
            seen.append(msg)
        raise AssertionError(f"no {kind!r} message within {timeout} s")

    def close(self) -> None:
        self._connection.__exit__(None, None, None)


@pytest.fixture
def client(live_server):
    c = Client(live_server)
    yield c
    c.close()


def points_by_run(messages: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for msg in messages:
        if msg["type"] == "frame":
            for name, points in msg["runs"].items():
                out.setdefault(name, []).extend(points)
    return out


def test_default_race_streams_every_point_once_in_order(client):
    # Paused, one step, then on, as the page does: the first step opens up each run's start.
    client.send({"type": "start", "config": {"speed": 0, "epochs": 3}, "paused": True})
    started = client.recv()
    assert started["type"] == "started"
    assert started["model"]["layer_sizes"] == [1, 1]
    assert [r["name"] for r in started["runs"]] == ["SGD", "Mini-batch", "Full batch"]
    surface = client.recv()
    assert surface["type"] == "surface" and surface["kind"] == "exact"
    assert len(surface["z"]) == len(surface["y"]) and len(surface["z"][0]) == len(surface["x"])
    assert surface["lr_limit"] == pytest.approx(2 / surface["lambda_max"])
    assert client.recv()["type"] == "state"

    client.send({"type": "step"})
    seen, firsts = [], {}
    while len(firsts) < 3:
        msg = client.recv()
        seen.append(msg)
        if msg["type"] == "detail":
            assert msg["iteration"] == 1, msg
            firsts[msg["run"]] = msg
    # All three start from the same point, the surface's start: their parameters before the
    # first update (exact surface: the plane is (w, b) itself), and its loss.
    for name, first in firsts.items():
        assert first["params_before"] == surface["start"], name
        assert first["loss_before"] == pytest.approx(started["initial_loss"], rel=1e-12), name
        assert first["params"] != first["params_before"], name
    client.send({"type": "resume"})
    done, rest = client.until("done")
    seen += rest
    points = points_by_run(seen)
    n = started["config"]["n_samples"]
    for run in started["runs"]:
        expected = iterations_per_epoch(n, run["batch_size"]) * 3
        assert run["total_iterations"] == expected
        its = [p["iteration"] for p in points[run["name"]]]
        assert its == list(range(1, expected + 1)), run["name"]  # none dropped, none twice
        assert done["runs"][run["name"]]["status"] == "completed"
        assert done["runs"][run["name"]]["iterations"] == expected
        last = points[run["name"]][-1]
        assert done["runs"][run["name"]]["loss"] == last["loss"]
        assert last["xy"] == last["params"]  # exact surface: the plane is (w, b) itself
        assert points[run["name"]][0]["params"] == firsts[run["name"]]["params"]


def test_iterations_follow_the_source_material_example(client):
    """1,000 samples, batch 100, 5 epochs: 10 iterations per epoch, 50 in all."""
    config = {"n_samples": 1000, "epochs": 5, "speed": 0,
              "runs": [{"name": "B100", "batch_size": 100}]}
    client.send({"type": "start", "config": config})
    started = client.recv()
    assert started["runs"][0]["iterations_per_epoch"] == 10
    assert started["runs"][0]["total_iterations"] == 50
    done, seen = client.until("done")
    pts = points_by_run(seen)["B100"]
    assert [p["iteration"] for p in pts] == list(range(1, 51))
    assert [p["epoch"] for p in pts] == [e for e in range(1, 6) for _ in range(10)]
    assert pts[-1]["samples"] == 5000


def test_the_server_sends_the_arithmetic_and_the_line_the_page_displays(client):
    """100 samples in batches of 32: 4 per epoch, the last of 4 (rounded up); and for w·x + b
    each point's line, ŷ at the two ends the started message names, so the page computes none."""
    config = {"n_samples": 100, "epochs": 2, "speed": 0,
              "runs": [{"name": "B32", "batch_size": 32}, {"name": "Full", "batch_size": None}]}
    client.send({"type": "start", "config": config})
    started = client.recv()
    b32, full = started["runs"]
    assert (b32["effective_batch_size"], b32["last_batch_size"]) == (32, 4)
    assert (full["effective_batch_size"], full["last_batch_size"]) == (100, 100)
    xs = [row[0] for row in started["dataset"]["X"]]
    pad = 0.1 * (max(xs) - min(xs))
    ends = started["model"]["line"]["x"]
    assert ends == pytest.approx([min(xs) - pad, max(xs) + pad], rel=1e-15)
    client.send({"type": "inspect", "run": "B32"})
    done, seen = client.until("done")
    for pts in points_by_run(seen).values():
        for p in pts:
            w, b = p["params"]
            assert p["line"] == [w * ends[0] + b, w * ends[1] + b]  # bit for bit
    assert [p["samples"] for p in points_by_run(seen)["B32"]] == [32, 64, 96, 100, 132, 164,
                                                                  196, 200]
    details = [m for m in seen if m["type"] == "detail"]
    assert details and all(d["forward"]["line"] is True for d in details)


def test_a_network_gets_no_line_and_its_details_say_so(client):
    config = {"dataset": "sine", "hidden": [3], "n_samples": 40, "epochs": 1, "speed": 0}
    client.send({"type": "start", "config": config})
    started = client.recv()
    assert started["model"]["line"] is None
    client.send({"type": "inspect", "run": "SGD"})
    done, seen = client.until("done")
    assert all("line" not in p for pts in points_by_run(seen).values() for p in pts)
    details = [m for m in seen if m["type"] == "detail"]
    assert details and all(d["forward"]["line"] is False for d in details)


def test_nothing_is_sent_before_the_first_message(client):
    with pytest.raises(TimeoutError):
        client.ws.recv(timeout=0.5)


def test_pause_step_resume_stop(client):
    client.send({"type": "start", "config": {"speed": 20, "epochs": 50}})
    client.until("surface")
    first, _ = client.until("frame")
    client.send({"type": "pause"})
    state, seen = client.until("state")
    assert state["paused"] is True
    # Drain what was in flight, then nothing more arrives while paused.
    last = {}
    for name, pts in points_by_run([first, *seen]).items():
        last[name] = pts[-1]["iteration"]
    time.sleep(0.3)
    while True:
        try:
            msg = client.recv(timeout=0.3)
        except TimeoutError:
            break
        for name, pts in points_by_run([msg]).items():
            last[name] = pts[-1]["iteration"]
    with pytest.raises(TimeoutError):
        client.recv(timeout=0.5)

    client.send({"type": "step"})
    frame, _ = client.until("frame")
    assert set(frame["runs"]) == {"SGD", "Mini-batch", "Full batch"}
    for name, pts in frame["runs"].items():
        assert len(pts) == 1
        assert pts[0]["iteration"] == last.get(name, 0) + 1

    client.send({"type": "speed", "value": 100})
    state, _ = client.until("state")
    assert state["speed"] == 100 and state["paused"] is True
    client.send({"type": "resume"})
    state, _ = client.until("state")
    assert state["paused"] is False
    client.until("frame")
    client.send({"type": "stop"})
    done, _ = client.until("done")
    assert {r["status"] for r in done["runs"].values()} == {"stopped"}


def test_step_needs_a_pause_and_a_run(client):
    client.send({"type": "step"})
    err = client.recv()
    assert err["type"] == "error" and err["code"] == "no_run"
    client.send({"type": "start", "config": {"speed": 5}})
    client.until("surface")
    client.send({"type": "step"})
    err, _ = client.until("error")
    assert err["code"] == "not_paused"


@pytest.mark.parametrize(
    "message, field, code",
    [
        ({"type": "start", "config": {"lr": 50}}, "config.lr", "out_of_range"),
        ({"type": "start", "config": {"lr": "fast"}}, "config.lr", "bad_type"),
        ({"type": "start", "config": {"n_samples": 0}}, "config.n_samples", "out_of_range"),
        ({"type": "start", "config": {"hidden": [8, 99]}}, "config.hidden.1", "out_of_range"),
        ({"type": "start", "config": {"dataset": "nope"}}, "config.dataset", "bad_value"),
        ({"type": "start", "config": {"dataset": "moons", "loss": "mse"}}, "config.loss",
         "bad_value"),
        ({"type": "start", "config": {"runs": []}}, "config.runs", "out_of_range"),
        ({"type": "start", "config": {"runs": [{"name": "a", "batch_size": 1},
                                                {"name": "a", "batch_size": 2}]}},
         "config.runs", "bad_value"),
        ({"type": "start", "config": {"bogus": 1}}, "config.bogus", "unknown_field"),
        ({"type": "speed", "value": -1}, "value", "out_of_range"),
        ({"type": "fly"}, "type", "unknown_type"),
        ({"no": "type"}, "type", "unknown_type"),
    ],
)
def test_bad_messages_get_an_error_and_the_socket_stays_usable(client, message, field, code):
    client.send(message)
    err = client.recv()
    assert err["type"] == "error"
    assert err["field"] == field
    assert err["code"] == code
    assert err["message"]
    client.send({"type": "start", "config": {"speed": 0, "epochs": 1, "n_samples": 20}})
    assert client.recv()["type"] == "started"
    client.until("done")


def test_range_errors_name_the_allowed_range(client):
    client.send({"type": "start", "config": {"lr": 50}})
    err = client.recv()
    assert "(0, 10]" in err["message"] and "50" in err["message"]


@pytest.mark.parametrize("raw", ["{not json", "[1, 2]", '{"type": "speed", "value": NaN}', ""])
def test_malformed_text_gets_an_error(client, raw):
    client.ws.send(raw)
    err = client.recv()
    assert err["type"] == "error" and err["code"] in ("bad_json", "bad_message")


def test_binary_frames_get_an_error(client):
    client.ws.send(b"\x00\xff binary")
    err = client.recv()
    assert err["code"] == "binary_frame"


def test_diverging_learning_rate_ends_as_diverged(client):
    config = {"lr": 5, "speed": 0, "epochs": 50, "runs": [{"name": "Full batch", "batch_size": None}]}
    client.send({"type": "start", "config": config})
    surface, _ = client.until("surface")
    assert config["lr"] > surface["lr_limit"]
    done, seen = client.until("done")
    assert done["runs"]["Full batch"]["status"] == "diverged"
    pts = points_by_run(seen)["Full batch"]
    assert pts[-1]["status"] == "diverged"
    for p in pts:  # never a non-finite number (strict_loads already refused NaN / Infinity)
        assert all(math.isfinite(v) for v in p["params"])


def test_detail_opens_the_step_up(client):
    client.send({"type": "start", "config": {"speed": 0, "epochs": 1,
                                             "runs": [{"name": "B8", "batch_size": 8}]}})
    client.send({"type": "inspect", "run": "B8", "batch_surface": True})
    detail, _ = client.until("detail")
    assert detail["run"] == "B8"
    before, after = detail["params_before"], detail["params"]
    for b, a, g in zip(before, after, detail["grad"], strict=True):
        assert a == pytest.approx(b - detail["lr"] * g, rel=1e-12, abs=1e-15)
    assert len(detail["full_grad"]) == 2
    assert 0 <= detail["angle"] <= 180
    assert len(detail["forward"]["x"]) == min(8, detail["batch_size"])
    assert detail["prediction"]["kind"] == "line"
    done, seen = client.until("done")
    with_surface = [m for m in [detail, *seen] if m["type"] == "detail" and "batch_surface" in m]
    assert with_surface, "asked for the batch surface but never got it"
    z = with_surface[0]["batch_surface"]["z"]
    assert len(z) == 51 and len(z[0]) == 51


def test_cce_details_carry_one_hot_targets_and_scce_class_indices_with_the_same_loss(
    live_server,
):
    # The same data and seed under either loss: the same step, targets written two ways.
    details = {}
    for loss in ("categorical_crossentropy", "sparse_categorical_crossentropy"):
        c = Client(live_server)
        try:
            c.send({"type": "start", "paused": True, "config": {
                "dataset": "multiblobs", "n_classes": 3, "loss": loss, "seed": 4, "speed": 0,
                "runs": [{"name": "B10", "batch_size": 10}]}})
            c.until("state")  # the paused race exists
            c.send({"type": "inspect", "run": "B10"})
            details[loss] = []
            for _ in range(3):
                c.send({"type": "step"})
                details[loss].append(c.until("detail")[0])
        finally:
            c.close()
    for cce, scce in zip(details["categorical_crossentropy"],
                         details["sparse_categorical_crossentropy"], strict=True):
        assert cce["iteration"] == scce["iteration"]
        assert cce["batch_loss"] == pytest.approx(scce["batch_loss"], rel=1e-12)
        assert cce["loss"] == pytest.approx(scce["loss"], rel=1e-12)
        assert cce["forward"]["losses"] == pytest.approx(scce["forward"]["losses"], rel=1e-12)
        labels = scce["forward"]["t"]
        assert labels and all(isinstance(k, int) and 0 <= k < 3 for k in labels)
        assert cce["forward"]["t"] == [[1 if j == k else 0 for j in range(3)] for k in labels]
        # each sample's loss is -log of the probability at its class
        for y_hat, k, loss in zip(scce["forward"]["y_hat"], labels, scce["forward"]["losses"],
                                  strict=True):
            assert loss == pytest.approx(-math.log(y_hat[k]), rel=1e-9)


def test_inspecting_an_unknown_run_is_an_error(client):
    client.send({"type": "start", "config": {"speed": 1}})
    client.until("surface")
    client.send({"type": "inspect", "run": "nobody"})
    err, _ = client.until("error")
    assert err["code"] == "unknown_run"


def test_mlp_gets_a_projected_surface_with_residuals(client):
    config = {"dataset": "moons", "hidden": [4], "n_samples": 64, "epochs": 2, "speed": 0}
    client.send({"type": "start", "config": config})
    started = client.recv()
    assert started["model"]["layer_sizes"] == [2, 4, 1]
    surface = client.recv()
    assert surface["kind"] == "projected" and surface["lr_limit"] is None
    done, seen = client.until("done")
    for pts in points_by_run(seen).values():
        assert all(0 <= p["residual"] <= 1 for p in pts)
        assert all(len(p["params"]) == started["model"]["n_params"] for p in pts)
    assert done["residual"]["max"] >= done["residual"]["mean"]


def test_disconnect_mid_run_leaves_the_server_healthy(live_server):
    for _ in range(5):
        c = Client(live_server)
        c.send({"type": "start", "config": {"speed": 0, "epochs": 200}})
        c.until("frame")
        c.close()
    with urllib.request.urlopen(live_server + "/api/health", timeout=5) as r:
        assert json.load(r) == {"status": "ok"}
    c = Client(live_server)
    c.send({"type": "start", "config": {"speed": 0, "epochs": 1}})
    c.until("done")
    c.close()


def test_a_new_start_replaces_the_old_race(client):
    client.send({"type": "start", "config": {"speed": 10, "epochs": 100}})
    first = client.recv()
    client.send({"type": "start", "config": {"speed": 0, "epochs": 1, "n_samples": 10}})
    done, seen = client.until("done")
    second = [m for m in seen if m["type"] == "started"][-1]
    assert second["generation"] > first["generation"]
    assert done["generation"] == second["generation"]


def test_a_flood_of_messages_is_rate_limited_and_the_socket_survives(client):
    for _ in range(200):
        client.send({"type": "speed", "value": 10})
    codes = set()
    while True:
        try:
            msg = client.recv(timeout=1.0)
        except TimeoutError:
            break
        codes.add(msg.get("code") or msg["type"])
    assert "rate_limited" in codes
    time.sleep(1.5)  # the bucket refills
    client.send({"type": "start", "config": {"speed": 0, "epochs": 1, "n_samples": 10}})
    client.until("done")


def test_a_paused_start_shows_the_setup_and_waits_for_resume(client):
    client.send({"type": "start", "config": {"epochs": 2}, "paused": True})
    assert client.recv()["type"] == "started"
    assert client.recv()["type"] == "surface"
    state = client.recv()
    assert state["type"] == "state" and state["paused"] is True
    with pytest.raises(TimeoutError):
        client.recv(timeout=0.5)  # no frame until resume
    client.send({"type": "resume"})
    frame, _ = client.until("frame")
    assert all(pts[0]["iteration"] == 1 for pts in frame["runs"].values())


def test_reproject_draws_every_point_on_the_pca_plane(client):
    config = {"dataset": "moons", "hidden": [4], "n_samples": 50, "epochs": 3, "speed": 0}
    client.send({"type": "start", "config": config})
    first_surface, _ = client.until("surface")
    assert first_surface["method"].startswith("random")
    done, seen = client.until("done")
    counts = {name: len(pts) for name, pts in points_by_run(seen).items()}
    client.send({"type": "reproject", "method": "random"})
    flat, _ = client.until("surface")
    assert flat["method"].startswith("random") and flat["plane"] == "random"
    client.send({"type": "reproject", "method": "pca"})
    surface, _ = client.until("surface")
    assert surface["method"].startswith("PCA") and surface["plane"] == "pca"
    assert {name: len(p["xy"]) for name, p in surface["paths"].items()} == counts
    assert surface["residual"]["mean"] <= surface["residual"]["max"] <= 1
    # The paths lie closer to the PCA plane (the one the race ended on) than to the random one.
    assert surface["residual"] == done["residual"]
    assert surface["residual"]["mean"] < flat["residual"]["mean"]


def test_reproject_on_an_exact_surface_is_an_error(client):
    client.send({"type": "start", "config": {"speed": 0, "epochs": 1}})
    client.until("done")
    client.send({"type": "reproject"})
    err, _ = client.until("error")
    assert err["code"] == "cannot_reproject"


def test_inspect_after_the_race_ended_still_answers_with_a_detail(client):
    client.send({"type": "start", "config": {"speed": 0, "epochs": 1, "n_samples": 20}})
    client.until("done")
    client.send({"type": "inspect", "run": "Full batch"})
    detail, _ = client.until("detail")
    assert detail["run"] == "Full batch" and "prediction" in detail


def test_reproject_names_each_points_iteration_and_redraws_the_arrows(client):
    config = {"dataset": "moons", "hidden": [4], "n_samples": 30, "epochs": 2, "speed": 0}
    client.send({"type": "start", "config": config})
    client.until("done")
    client.send({"type": "reproject", "method": "pca"})
    surface, _ = client.until("surface")
    for path in surface["paths"].values():
        assert path["iterations"] == list(range(1, len(path["xy"]) + 1))
    detail, _ = client.until("detail")
    assert len(detail["grad_xy"]) == 2


def inside(surface: dict, xy: list) -> bool:
    """Whether a point lies strictly inside the surface's grid."""
    (x0, x1), (y0, y1) = sorted(surface["x"][::len(surface["x"]) - 1]), sorted(
        surface["y"][::len(surface["y"]) - 1])
    return x0 < xy[0] < x1 and y0 < xy[1] < y1


def lowest_on_edge(surface: dict) -> bool:
    z = surface["z"]
    i, j = min(((i, j) for i, row in enumerate(z) for j, v in enumerate(row) if v is not None),
               key=lambda ij: z[ij[0]][ij[1]])
    return i in (0, len(z) - 1) or j in (0, len(z[0]) - 1)


def test_a_network_race_moves_to_the_plane_of_its_paths_by_itself(client):
    config = {"dataset": "spiral", "hidden": [8], "n_samples": 100, "epochs": 3, "speed": 0}
    client.send({"type": "start", "config": config})
    first, _ = client.until("surface")
    # Before the runs move: the random slice, whose lowest grid point is on its edge (the loss
    # falls on past it): no "minimum" is marked there.
    assert first["method"].startswith("random") and first["plane"] == "pca"
    assert lowest_on_edge(first) and first["minimum"] is None and first["minimum_loss"] is None
    done, seen = client.until("done")  # no reproject sent: the server moves to the paths' plane
    surfaces = [m for m in seen if m["type"] == "surface"]
    assert len(surfaces) >= 2 and all(s["method"] == "PCA of the paths" for s in surfaces)
    for s in [first, *surfaces]:
        assert s["minimum"] is None or inside(s, s["minimum"])
    last = surfaces[-1]  # fitted to every point, at the end
    counts = {name: len(pts) for name, pts in points_by_run(seen).items()}
    assert {name: len(p["xy"]) for name, p in last["paths"].items()} == counts
    every = [xy for p in last["paths"].values() for xy in p["xy"]]
    assert all(inside(last, xy) for xy in every)
    xs = [xy[0] for xy in every] + [0.0]
    assert max(xs) - min(xs) > 0.6 * abs(last["x"][-1] - last["x"][0])  # the paths fill the view
    assert done["residual"] == last["residual"] and last["residual"]["mean"] < 0.5
    # The random slice, asked for: most of the paths' movement is off it.
    client.send({"type": "reproject", "method": "random"})
    flat, _ = client.until("surface")
    assert flat["plane"] == "random" and flat["residual"]["mean"] > 0.8


def test_a_teachers_random_choice_stops_the_refits(client):
    config = {"dataset": "circles", "hidden": [8], "n_samples": 100, "epochs": 5, "speed": 200}
    client.send({"type": "start", "config": config})
    client.until("frame")
    client.send({"type": "reproject", "method": "random"})
    while (msg := client.recv())["type"] != "surface" or msg["plane"] != "random":
        assert msg["type"] != "done"
    assert msg["method"].startswith("random")
    _, seen = client.until("done")
    assert [m for m in seen if m["type"] == "surface"] == []
