"""The arithmetic of repeated runs, against values worked out by hand."""

from app.core.repeats import band, median_repeat, spread


def test_spread_of_final_losses_by_hand():
    assert spread([0.3, 0.1, 0.2]) == {"loss_median": 0.2, "loss_min": 0.1, "loss_max": 0.3}
    assert spread([0.4, 0.1, 0.2, 0.3]) == {"loss_median": 0.25, "loss_min": 0.1,
                                           "loss_max": 0.4}
    assert spread([0.5]) == {"loss_median": 0.5, "loss_min": 0.5, "loss_max": 0.5}
    # a diverged repeat (None) is +inf: the largest is not finite, the median still is
    assert spread([None, 0.1, 0.2]) == {"loss_median": 0.2, "loss_min": 0.1, "loss_max": None}
    assert spread([None, None, 0.2]) == {"loss_median": None, "loss_min": 0.2, "loss_max": None}
    assert spread([None, 0.2]) == {"loss_median": None, "loss_min": 0.2, "loss_max": None}


def test_the_median_repeat_is_the_middle_one_and_the_lower_middle_of_an_even_count():
    assert median_repeat([0.3, 0.1, 0.2]) == 2
    assert median_repeat([0.4, 0.1, 0.2, 0.3]) == 2  # 0.1, 0.2 | 0.3, 0.4: the 0.2
    assert median_repeat([None, 0.1, 0.5]) == 2
    assert median_repeat([0.7, 0.7, 0.7]) == 1  # ties in repeat order
    assert median_repeat([0.9]) == 0


def test_band_over_repeats_that_end_at_different_iterations():
    med, low, high = band([[4.0, 2.0, 1.0], [6.0, 3.0], [5.0, None, 0.5]])
    assert med == [5.0, 3.0, 0.75]
    assert low == [4.0, 2.0, 0.5]
    assert high == [6.0, None, 1.0]
    assert band([]) == ([], [], [])
