"""A session presenting to a room: every message it sends is broadcast to the room's viewers.

The room is joined with its token (`present`), given the run so far when joined mid-run, and
left on `end_presentation`, when the session ends, or when the room ends without us (its
presenters get a `room_lost`). Viewer counts and lost rooms are news the pacer sends.

A presenting session whose socket goes away (a reload, a dropped connection) parks its race in
the hub; the next session that presents to the room before starting anything resumes it: its
page gets the run so far, the viewers only the points they missed, and the race goes on.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from app.core.wire import encode
from app.live.messages import ClientError
from app.live.race import Race
from app.rooms.hub import RoomError
from app.rooms.room import Room

if TYPE_CHECKING:
    from app.live.session import Session

log = logging.getLogger("descent.session")


@dataclass
class Parked:
    """A presenter's race while its page is away, and what its session knew of it."""

    race: Race
    paused: bool
    speed: float
    pacing: str
    inspected: str | None
    sent: dict[tuple[str, int], int]  # per run and repeat, the last iteration the room was given


class Presenting:
    """The room a session presents to (if any), and the news about it the pacer sends."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.room: Room | None = None
        self.viewers_changed = False
        self.lost: list[dict[str, Any]] = []  # `room_lost` messages for the pacer to send
        # per run and repeat, the last iteration the room was given
        self.sent: dict[tuple[str, int], int] = {}
        self.vote_news: dict[str, Any] | None = None  # the latest `votes` (or question_closed)
        self.question_news: dict[str, Any] | None = None  # an open question, after a present

    def publish(self, message: dict[str, Any], text: str) -> None:
        """Pass a message the session sends on to the room (details of the inspected run only)."""
        if self.room is not None and (
            message["type"] != "detail" or message.get("run") == self.session.inspected
        ):
            self._to_room(message, text)

    def _to_room(self, message: dict[str, Any], text: str) -> None:
        """Publish to the room (never waits: each viewer has its own queue), noting the points."""
        kind = message["type"]
        if kind == "started":
            self.sent = {}
        elif kind == "frame":
            for name, points in message["runs"].items():
                for point in points:  # a run's repeats may be interleaved: each its own last
                    self.sent[name, point.get("repeat", 0)] = point["iteration"]
        self.room.publish(message, text)

    async def present(self, code: str, token: str) -> None:
        """Broadcast this session to a room from now on (the token proves it is ours)."""
        session = self.session
        hub = session.ws.app.state.rooms
        self.leave()
        try:
            room = await hub.present(code, token)
        except RoomError as exc:
            raise ClientError(str(exc), exc.code, "room") from None
        parked = hub.unpark(room.code)
        if parked is not None and session.generation == 0:  # nothing started here yet
            await self._resume(room, parked)
            return
        self._join(room)
        await session.send(_presenting(room))
        race = session.race
        if race is not None:  # mid-run: give the room the run so far
            self._run_so_far(race)
        log.info("session presents to room %s", room.code)

    def _join(self, room: Room) -> None:
        self.room = room
        room.on_viewers.append(self.count_viewers)
        room.on_lost.append(self.room_lost)
        room.on_votes.append(self.count_votes)
        # A page that presents again (a reload) gets the question still open, and its tally.
        self.question_news, self.vote_news = room.question, room.tally
        self.session.poke()

    def _run_so_far(self, race: Race) -> None:
        """Give the room the race so far: started, surface, every point, done, state."""
        self._to_room(*_pair(race.started_message()))
        self._to_room(*_pair(race.surface_message()))
        if any(run.points for run in race.all):
            # a frame's text is never used: the room merges frames and encodes each point
            self._to_room(race.history_message(), "")
        if race.finished:
            self._to_room(*_pair(race.done_message()))
        self._to_room(*_pair(self.session.state_message()))
        lr_map = self.session.sweeper.latest_of(race.config)
        if lr_map is not None:  # computed before presenting: the room keeps it too
            self._to_room(*_pair(lr_map))

    async def _resume(self, room: Room, parked: Parked) -> None:
        """Take over a parked race: the page gets the run so far, the room what it missed."""
        session, race = self.session, parked.race
        session.generation = race.generation
        session.paused, session.speed, session.pacing = parked.paused, parked.speed, parked.pacing
        session.inspected = parked.inspected
        session.pacer.reset(race)
        # To this page only (not presenting yet): the room has all this already.
        await session.send({**_presenting(room), "resumed": True})
        await session.send(race.started_message())
        await session.send(race.surface_message())
        if any(run.points for run in race.all):
            await session.send(race.history_message())
        if race.finished:
            await session.send(race.done_message())
        await session.send(session.state_message())
        self._join(room)
        started = room.started
        if started is None or started.get("generation") != race.generation:
            self._run_so_far(race)  # e.g. another page started something in between
        else:
            self.sent = dict(parked.sent)
            missed: dict[str, list] = {}
            for run in race.all:
                last = self.sent.get(run.key, 0)
                missed.setdefault(run.name, []).extend(
                    p for p in run.history() if p["iteration"] > last)
            missed = {name: points for name, points in missed.items() if points}
            if missed:  # computed by the old session but never sent on
                self._to_room(race.frame_message(missed, time.time()), "")
            if race.finished:
                self._to_room(*_pair(race.done_message()))
            self._to_room(*_pair(session.state_message()))
        session.race = race
        session.poke()
        log.info("session resumes its race in room %s", room.code)

    def park(self) -> None:
        """The socket went away: keep the race for the page's return, and leave the room."""
        room, session = self.room, self.session
        if room is not None and session.race is not None:
            session.ws.app.state.rooms.park(room.code, Parked(
                session.race, session.paused, session.speed, session.pacing, session.inspected,
                dict(self.sent)))
        self.leave()

    def count_viewers(self, _count: int) -> None:
        self.viewers_changed = True
        self.session.poke()

    def count_votes(self, message: dict[str, Any]) -> None:
        """The room's tally changed: the pacer sends the latest (the room coalesces them)."""
        self.vote_news = message
        self.session.poke()

    def _presented(self) -> Any:
        if self.room is None:
            raise ClientError("this session is not presenting: present to a room first",
                              "not_presenting", "type")
        return self.session.ws.app.state.rooms

    async def _vote_step(self, step: Any) -> Any:
        try:
            return await step
        except RoomError as exc:
            raise ClientError(str(exc), exc.code, "type") from None

    async def ask(self, msg: Any) -> None:
        """`ask`: a question for the room's viewers; the answer is `asked` with its id."""
        hub, room = self._presented(), self.room
        question = msg.question
        qid = await self._vote_step(hub.ask(room, question.prompt, list(question.choices)))
        await self.session.send({"type": "asked", "id": qid})

    async def reveal(self, _msg: Any) -> None:
        """`reveal`: the viewers see the tally."""
        await self._vote_step(self._presented().reveal(self.room))

    async def close_question(self, _msg: Any) -> None:
        """`close_question`: the question ends for everyone."""
        await self._vote_step(self._presented().close_question(self.room))

    def room_lost(self, code: str, reason: str) -> None:
        """The room ended without us (e.g. Redis went away): stop presenting, say so."""
        room = self.room
        if room is None:
            return
        self.leave()
        self.lost.append({"type": "room_lost", "room": room.code, "code": code,
                          "reason": reason})
        self.session.poke()

    async def end(self) -> None:
        """`end_presentation`: the room ends for its viewers too."""
        room = self.room
        if room is None:
            raise ClientError("this session is not presenting", "not_presenting", "type")
        self.leave()
        await self.session.ws.app.state.rooms.end(room.code)
        await self.session.send({"type": "presentation_ended", "room": room.code})

    def leave(self) -> None:
        room, self.room = self.room, None
        if room is not None:
            self.session.ws.app.state.rooms.unpresent(room)
            if self.count_viewers in room.on_viewers:
                room.on_viewers.remove(self.count_viewers)
            if self.room_lost in room.on_lost:
                room.on_lost.remove(self.room_lost)
            if self.count_votes in room.on_votes:
                room.on_votes.remove(self.count_votes)
            self.question_news = self.vote_news = None

    async def send_news(self) -> None:
        """The pacer's part: lost rooms, and the viewer count when it changed."""
        while self.lost:
            await self.session.send(self.lost.pop(0))
        if self.viewers_changed:
            self.viewers_changed = False
            if self.room is not None:
                await self.session.send(_presenting(self.room))
        if self.question_news is not None:
            question, self.question_news = self.question_news, None
            await self.session.send(question)
        if self.vote_news is not None:
            votes, self.vote_news = self.vote_news, None
            if self.room is not None and self.room.revealed and votes["type"] == "votes":
                votes = {**votes, "revealed": True}
            await self.session.send(votes)


def _presenting(room: Room) -> dict[str, Any]:
    """What the presenter is told of its room: its code and how many watch."""
    return {"type": "presenting", "room": room.code, "viewers": room.viewer_count}


def _pair(message: dict[str, Any]) -> tuple[dict[str, Any], str]:
    return message, encode(message)
