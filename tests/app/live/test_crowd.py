"""A process that serves a crowd sends each session's details half as often (issue 17)."""

from app.live.pacer import CROWD, DETAIL_EVERY, detail_every


def test_details_slow_down_only_past_the_crowd():
    assert detail_every(1) == detail_every(CROWD) == DETAIL_EVERY
    assert detail_every(CROWD + 1) == 2 * DETAIL_EVERY
