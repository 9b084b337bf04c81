"""Races of one config share their surfaces (app/live/surfaces.py), and only those."""

import threading
import time

import numpy as np
import pytest

from app.core.schemas import TrainConfig
from app.live import surfaces
from app.live.race import Race
from engine.surface import projected_surface

MOONS = {"dataset": "moons", "hidden": [8], "epochs": 1, "n_samples": 60}


def run_to(race: Race, lead: int) -> None:
    while race.leading_iteration() < lead:
        for run in race.going():
            race.advance(run)


def test_a_second_race_of_one_config_gets_the_first_ones_surfaces():
    a, b = Race(TrainConfig(**MOONS), 1), Race(TrainConfig(**MOONS), 2)
    assert b.surface is a.surface  # the random slice, built once
    for race, lead in ((a, 8), (b, 11)):  # the pacer gets to a refit a few iterations late
        run_to(race, lead)
        assert race.refit_due()
        race.reproject("pca", auto=True)
    assert b.surface is a.surface  # fitted to the same points (up to 8): the same plane, once
    assert a.fitted_at == b.fitted_at == 8


def test_a_shared_surface_is_the_one_the_race_would_compute():
    race = Race(TrainConfig(**MOONS), 1)
    run_to(race, 9)
    race.reproject("pca", auto=True)
    fresh = projected_surface(race.model, race.config.loss, race.data.X, race.data.y,
                              paths=race._fit_paths(8), grid=race.surface.z.shape[0],
                              method="pca", seed=race.config.seed, center=race.start)
    for name in ("x", "y", "z", "center", "directions"):
        np.testing.assert_array_equal(getattr(race.surface, name), getattr(fresh, name))


@pytest.mark.parametrize("change", [{"seed": 3}, {"noise": 0.3}, {"activation": "relu"},
                                    {"hidden": [6]}, {"n_samples": 61}])
def test_what_a_surface_depends_on_keeps_it_apart(change):
    assert Race(TrainConfig(**{**MOONS, **change}), 1).surface is not \
        Race(TrainConfig(**MOONS), 1).surface


def test_races_that_part_ways_fit_their_own_planes():
    a, b = Race(TrainConfig(**MOONS), 1), Race(TrainConfig(**{**MOONS, "lr": 0.3}), 2)
    assert b.surface is a.surface  # the learning rate moves the paths, not the start
    for race in (a, b):
        run_to(race, 8)
        race.reproject("pca", auto=True)
    assert b.surface is not a.surface


def test_the_kept_surfaces_stay_within_their_bytes(monkeypatch):
    size = surfaces.nbytes(Race(TrainConfig(**MOONS), 1).surface)
    monkeypatch.setattr(surfaces, "MAX_BYTES", 3 * size + 10)  # room for three
    races = [Race(TrainConfig(**{**MOONS, "seed": seed}), 1) for seed in range(1, 6)]
    assert surfaces.kept_bytes() <= 3 * size + 10
    assert Race(TrainConfig(**{**MOONS, "seed": 5}), 1).surface is races[-1].surface  # kept
    assert Race(TrainConfig(**{**MOONS, "seed": 1}), 1).surface is not races[0].surface  # gone


def test_races_that_ask_together_wait_for_one_build():
    race = Race(TrainConfig(**{**MOONS, "seed": 77}), 1)
    key, built, go = surfaces.digest("together", 77), [], threading.Event()

    def build():
        built.append(1)
        go.wait(60)  # held until every other caller waits for this build
        return projected_surface(race.model, "binary_crossentropy", race.data.X, race.data.y,
                                 grid=5, seed=77)

    got: list = []
    threads = [threading.Thread(target=lambda: got.append(surfaces.shared(key, build)))
               for _ in range(8)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 60
    while not (key in surfaces._building
               and len(surfaces._building[key]._condition._waiters) == 7):
        assert time.monotonic() < deadline, f"{len(built)} builds started: not one"
        time.sleep(0.001)
    go.set()
    for t in threads:
        t.join()
    assert len(built) == 1 and len(got) == 8 and all(s is got[0] for s in got)


def test_a_failed_build_raises_and_is_not_kept():
    key = surfaces.digest("fails")

    def build():
        raise ValueError("the paths never leave the center")

    with pytest.raises(ValueError, match="never leave"):
        surfaces.shared(key, build)
    assert key not in surfaces._building
    race = Race(TrainConfig(**MOONS), 1)
    assert surfaces.shared(key, lambda: race.surface) is race.surface  # built again, kept
