"""Class votes in a room over real WebSockets: the teacher asks, 30 viewers vote on their phones.

`check_class_vote` runs on one process here and with the viewers split over two workers that
share a real redis-server in test_rooms_redis.py.
"""

from __future__ import annotations

import contextlib
import json
import time

from conftest import start_live_server
from test_rooms import Viewer, at_once, create_room, join_viewer, present
from test_train_socket import Client

from app.export.labels import page_labels

QUESTION = {"prompt": "Which run reaches the lowest loss first?",
            "choices": ["SGD", "Mini-batch", "Full batch", "They tie"]}
VIEWERS = 30
CHANGED = 10  # viewers 0..9 change their mind: their later vote replaces the earlier one


def ask(teacher: Client, question: dict = QUESTION) -> str:
    teacher.send({"type": "ask", "question": question})
    asked, _ = teacher.until("asked")
    return asked["id"]


def vote(viewer: Viewer, qid: str, choice) -> dict:
    """Send a vote; its answer: `voted`, or the `error` that refused it."""
    viewer.send({"type": "vote", "id": qid, "choice": choice})
    while True:
        msg = viewer.recv()
        if msg["type"] in ("voted", "error"):
            return msg


def tally_reaching(teacher: Client, counts: list[int], voters: int,
                   timeout: float = 30) -> tuple[dict, list[dict]]:
    """The teacher's `votes` messages until one has these counts (the last one, all of them)."""
    seen = []
    deadline = time.monotonic() + timeout
    while True:
        msg = teacher.recv(timeout=max(0.01, deadline - time.monotonic()))
        if msg["type"] == "votes":
            seen.append(msg)
            if msg["counts"] == counts and msg["voters"] == voters:
                return msg, seen


def expected_counts() -> list[int]:
    counts = [0] * len(QUESTION["choices"])
    for i in range(VIEWERS):
        counts[3 if i < CHANGED else i % 3] += 1
    return counts


def check_bad_questions(teacher: Client) -> None:
    """Each refused `ask` names the field and its bound."""
    for question, field, bound in [
        ({"prompt": "?", "choices": ["only one"]}, "question.choices", "2 to 6"),
        ({"prompt": "?", "choices": list("abcdefg")}, "question.choices", "2 to 6"),
        ({"prompt": "x" * 201, "choices": ["a", "b"]}, "question.prompt", "200"),
        ({"prompt": "?", "choices": ["a", "b" * 81]}, "question.choices.1", "80"),
        ({"prompt": "  ", "choices": ["a", "b"]}, "question.prompt", "1 to 200"),
    ]:
        teacher.send({"type": "ask", "question": question})
        err, _ = teacher.until("error")
        assert err["field"] == field and err["code"] == "out_of_range", err
        assert bound in err["message"], err


def check_read_only(viewer: Viewer) -> None:
    """Everything but a vote is still refused as read-only."""
    for message in ({"type": "start", "config": {}}, {"type": "ask", "question": QUESTION},
                    {"type": "reveal"}, {"type": "close_question"}, {"type": "pause"}):
        viewer.send(message)
        err, _ = viewer.until("error")
        assert err["code"] == "read_only", err
    viewer.ws.send("not json")
    assert viewer.until("error")[0]["code"] == "read_only"


def check_bad_votes(viewer: Viewer, qid: str) -> None:
    for vote_id, choice, field in [("stale0", 0, "id"), (qid, 4, "choice"), (qid, 9, "choice"),
                                   (qid, -1, "choice"), (qid, "a", "choice"), (qid, True, "choice"),
                                   (qid, 1.5, "choice")]:
        answer = vote(viewer, vote_id, choice)
        assert answer["type"] == "error" and answer["code"] == "bad_vote", (choice, answer)
        assert answer["field"] == field, answer
    viewer.send({"type": "vote", "id": qid})
    assert viewer.until("error")[0]["code"] == "bad_vote"


def check_class_vote(bases: list[str]) -> None:
    """Teacher on bases[0], viewers spread over `bases`: ask, vote, change votes, refuse bad
    votes, leave, join late, reveal, close."""
    room = create_room(bases[0])
    teacher = Client(bases[0])
    present(teacher, room)
    viewers = at_once(VIEWERS, lambda i: join_viewer(bases[i % len(bases)], room["code"]))
    assert all(isinstance(v, Viewer) for v in viewers), viewers
    assert vote(viewers[0], "none", 0)["code"] == "bad_vote"  # no question yet
    check_bad_questions(teacher)
    qid = ask(teacher)
    for viewer in viewers:  # each viewer, wherever it is, gets the question
        question, _ = viewer.until("question")
        assert question == {"type": "question", "id": qid, **QUESTION}
    check_read_only(viewers[1])
    check_bad_votes(viewers[2], qid)

    started = time.monotonic()
    for i, viewer in enumerate(viewers):
        assert vote(viewer, qid, i % 3) == {"type": "voted", "id": qid, "choice": i % 3}
    for viewer in viewers[:CHANGED]:
        assert vote(viewer, qid, 3)["type"] == "voted"  # replaces its earlier vote
    final, seen = tally_reaching(teacher, expected_counts(), VIEWERS)
    elapsed = time.monotonic() - started
    assert final == {"type": "votes", "id": qid, "counts": expected_counts(), "voters": VIEWERS}
    # coalesced: at most ~5 per second, not one per vote (+2: the window's two ends)
    assert len(seen) <= elapsed * 5 + 2, (len(seen), elapsed)
    assert not any("revealed" in v for v in seen)

    for viewer in viewers[-5:]:  # viewers who leave keep their votes
        viewer.close()
    late = join_viewer(bases[-1], room["code"])  # a late joiner gets the open question
    assert late.until("question")[0]["id"] == qid
    assert vote(late, qid, 0)["type"] == "voted"
    counts = expected_counts()
    counts[0] += 1
    tally_reaching(teacher, counts, VIEWERS + 1)

    teacher.send({"type": "reveal"})
    revealed = {"type": "votes", "id": qid, "counts": counts, "voters": VIEWERS + 1,
                "revealed": True}
    for viewer in [*viewers[:-5], late]:
        got, before = viewer.until("votes")
        assert got == revealed
        assert not [m for m in before if m["type"] == "votes"]  # nothing before the reveal
    after = join_viewer(bases[0], room["code"])  # joins after the reveal: question and tally
    assert after.until("question")[0]["id"] == qid
    assert after.until("votes")[0] == revealed

    teacher.send({"type": "close_question"})
    for viewer in (viewers[0], late, after):
        assert viewer.until("question_closed")[0] == {"type": "question_closed", "id": qid}
    assert vote(viewers[0], qid, 1)["field"] == "id"  # a closed question takes no vote
    teacher.send({"type": "reveal"})
    err, _ = teacher.until("error")
    assert err["code"] == "no_question", err
    labels = page_labels()  # the page says it by its code in Korean (errorText in dispatch.js)
    assert labels["en"]["err.no_question"] and labels["ko"]["err.no_question"]
    for viewer in [*viewers[:-5], late, after]:
        viewer.close()
    teacher.close()


def test_a_class_of_30_votes_on_one_process(live_server):
    check_class_vote([live_server])


def test_a_new_question_replaces_the_open_one_and_its_votes(live_server):
    room = create_room(live_server)
    teacher = Client(live_server)
    present(teacher, room)
    viewer = join_viewer(live_server, room["code"])
    first = ask(teacher)
    viewer.until("question")
    assert vote(viewer, first, 2)["type"] == "voted"
    tally_reaching(teacher, [0, 0, 1, 0], 1)
    second = ask(teacher, {"prompt": "Diverges?", "choices": ["yes", "no"]})
    assert second != first
    assert viewer.until("question")[0]["id"] == second
    assert vote(viewer, first, 0)["field"] == "id"  # stale
    assert vote(viewer, second, 1)["type"] == "voted"
    tally_reaching(teacher, [0, 1], 1)
    viewer.close()
    teacher.close()


def test_a_reloaded_presenter_gets_the_open_question_and_its_tally(live_server):
    room = create_room(live_server)
    teacher = Client(live_server)
    present(teacher, room)
    viewer = join_viewer(live_server, room["code"])
    qid = ask(teacher)
    viewer.until("question")
    vote(viewer, qid, 1)
    tally_reaching(teacher, [0, 1, 0, 0], 1)
    teacher.close()
    again = Client(live_server)
    present(again, room)
    assert again.until("question")[0] == {"type": "question", "id": qid, **QUESTION}
    tally_reaching(again, [0, 1, 0, 0], 1)
    viewer.close()
    again.close()


def test_only_a_presenting_session_may_ask(live_server):
    teacher = Client(live_server)
    for message in ({"type": "ask", "question": QUESTION}, {"type": "reveal"},
                    {"type": "close_question"}):
        teacher.send(message)
        err, _ = teacher.until("error")
        assert err["code"] == "not_presenting", err
    teacher.ws.send(json.dumps({"type": "vote", "id": "x", "choice": 0}))
    assert teacher.until("error")[0]["code"] == "unknown_type"  # viewers vote, not presenters
    teacher.close()


def test_votes_are_rate_limited_like_every_message():
    """A phone that floods its socket with votes gets a handful counted, not all."""
    caps = {"DESCENT_MAX_MESSAGES_PER_SECOND": "1", "DESCENT_MAX_MESSAGE_BURST": "4"}
    with start_live_server(env=caps, name="vote-capped") as base:
        room = create_room(base)
        teacher = Client(base)
        present(teacher, room)
        viewer = join_viewer(base, room["code"])
        qid = ask(teacher)
        viewer.until("question")
        for i in range(30):
            viewer.send({"type": "vote", "id": qid, "choice": i % 2})
        answers = []
        with contextlib.suppress(TimeoutError):
            while True:
                answers.append(viewer.recv(timeout=1.5))
        voted = [a for a in answers if a["type"] == "voted"]
        assert 1 <= len(voted) <= 10, len(voted)  # a burst of 4 and 1 a second
        counts = [0] * len(QUESTION["choices"])
        counts[voted[-1]["choice"]] = 1
        tally_reaching(teacher, counts, 1)  # one voter, its latest vote
        viewer.close()
        teacher.close()
