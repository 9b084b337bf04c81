"""A session presenting to a room: every message it sends is broadcast to the room's viewers.

The room is joined with its token (`present`), given the run so far when joined mid-run, and
left on `end_presentation`, when the session ends, or when the room ends without us (its
presenters get a `room_lost`). Viewer counts and lost rooms are news the pacer sends.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from app.core.wire import encode
from app.live.messages import ClientError
from app.rooms.hub import RoomError
from app.rooms.room import Room

if TYPE_CHECKING:
    from app.live.session import Session

log = logging.getLogger("descent.session")


class Presenting:
    """The room a session presents to (if any), and the news about it the pacer sends."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.room: Room | None = None
        self.viewers_changed = False
        self.lost: list[dict[str, Any]] = []  # `room_lost` messages for the pacer to send

    def publish(self, message: dict[str, Any], text: str) -> None:
        """Pass a message the session sends on to the room (details of the inspected run only)."""
        if self.room is not None and (
            message["type"] != "detail" or message.get("run") == self.session.inspected
        ):
            self.room.publish(message, text)  # never waits: each viewer has its own queue

    async def present(self, code: str, token: str) -> None:
        """Broadcast this session to a room from now on (the token proves it is ours)."""
        session = self.session
        self.leave()
        try:
            room = await session.ws.app.state.rooms.present(code, token)
        except RoomError as exc:
            raise ClientError(str(exc), exc.code, "room") from None
        self.room = room
        room.on_viewers.append(self.count_viewers)
        room.on_lost.append(self.room_lost)
        await session.send(_presenting(room))
        race = session.race
        if race is not None:  # mid-run: give the room the run so far
            room.publish(*_pair(race.started_message()))
            room.publish(*_pair(race.surface_message()))
            if any(run.points for run in race.runs.values()):
                # a frame's text is never used: the room merges frames and encodes each point
                room.publish(race.history_message(), "")
            if race.finished:
                room.publish(*_pair(race.done_message()))
            room.publish(*_pair(session.state_message()))
        log.info("session presents to room %s", room.code)

    def count_viewers(self, _count: int) -> None:
        self.viewers_changed = True
        self.session.poke()

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

    async def send_news(self) -> None:
        """The pacer's part: lost rooms, and the viewer count when it changed."""
        while self.lost:
            await self.session.send(self.lost.pop(0))
        if self.viewers_changed:
            self.viewers_changed = False
            if self.room is not None:
                await self.session.send(_presenting(self.room))


def _presenting(room: Room) -> dict[str, Any]:
    """What the presenter is told of its room: its code and how many watch."""
    return {"type": "presenting", "room": room.code, "viewers": room.viewer_count}


def _pair(message: dict[str, Any]) -> tuple[dict[str, Any], str]:
    return message, encode(message)
