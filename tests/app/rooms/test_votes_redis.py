"""Class votes across two server processes sharing a real redis-server."""

from __future__ import annotations

from conftest import start_live_server
from test_rooms import at_once, create_room, join_viewer, present
from test_rooms_redis import redis_url, two_servers  # noqa: F401 - pytest fixtures
from test_train_socket import Client
from test_votes import QUESTION, ask, check_class_vote, tally_reaching, vote


def test_a_class_of_30_votes_over_two_workers(two_servers):  # noqa: F811
    a, b, _ = two_servers
    check_class_vote([a, b])


def test_a_restarted_worker_loses_no_counted_vote(redis_url):  # noqa: F811
    """The teacher's worker A stops (its viewers leave with it: they keep their votes); on a
    new worker the teacher presents again and gets every vote, B's viewers' too, and the
    votes they change later."""
    url, _ = redis_url
    env = {"REDIS_URL": url}
    with start_live_server(env=env, name="worker-b") as b:
        with start_live_server(env=env, name="worker-a") as a:
            room = create_room(a)
            teacher = Client(a)
            present(teacher, room)
            viewers = at_once(10, lambda i: join_viewer((a, b)[i % 2], room["code"]))
            qid = ask(teacher)
            for i, viewer in enumerate(viewers):
                viewer.until("question")
                assert vote(viewer, qid, i % 2)["type"] == "voted"  # A's: 0, B's: 1
            tally_reaching(teacher, [5, 5, 0, 0], 10)
        # A stopped: the teacher's socket and A's five viewers went with it
        with start_live_server(env=env, name="worker-a2") as a2:
            again = Client(a2)
            present(again, room)
            assert again.until("question")[0] == {"type": "question", "id": qid, **QUESTION}
            tally_reaching(again, [5, 5, 0, 0], 10)
            assert vote(viewers[1], qid, 3)["type"] == "voted"  # on B, changes its mind
            tally_reaching(again, [5, 4, 0, 1], 10)
            again.send({"type": "reveal"})
            assert viewers[3].until("votes")[0]["counts"] == [5, 4, 0, 1]
            again.close()
        for viewer in viewers:
            viewer.close()
