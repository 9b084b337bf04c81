"""A presenter's learning-rate map across two server processes sharing a real redis-server:
the teacher on A, every viewer on B, each new one on a mirror of the room loaded from Redis."""

from __future__ import annotations

import time

import redis
from test_room_sweep import check_map_in_room
from test_rooms_redis import redis_url, two_servers  # noqa: F401 - pytest fixtures

from app.rooms.redis_store import room_keys


def test_viewers_on_the_other_worker_get_the_map_and_a_late_joiner_the_latest(
        two_servers, redis_url):  # noqa: F811
    a, b, _ = two_servers
    store = redis.Redis.from_url(redis_url[0])

    def settle(teacher, code: str, kept: bool) -> None:
        """B has let its mirror go (no viewer left) and Redis holds the map, or not, now."""
        keys, deadline = room_keys(code), time.monotonic() + 20
        # B counts a leave after dropping its mirror; the map's key changes in the room's order
        while (sum(map(int, store.hvals(keys["viewers"]))) != 0
               or bool(store.exists(keys["sweep"])) != kept):
            assert time.monotonic() < deadline, "B still has a viewer, or Redis's map is not as due"
            time.sleep(0.02)

    check_map_in_room(a, [b] * 4, settle)
