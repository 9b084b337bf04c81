"""The rooms of this process (the default): create, present, join, end and expire them.

`RedisRoomHub` (app/rooms/redis_hub.py) shares rooms between processes with the same methods.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from typing import Any

from app.rooms.codes import new_code, new_token, normalise_code, token_hash
from app.rooms.room import BACKLOG_BYTES, HISTORY_BYTES, VOTERS_PER_SEAT, Room, Viewer

log = logging.getLogger("descent.rooms")

# Seconds a room's presenter may be away (a reload, a dropped connection) before its viewers
# are told it has left: a reload comes back well within it, a closed tab is said within ~10 s.
PRESENTER_GRACE = 5.0


class RoomError(Exception):
    """A refused room operation; `code` for the page, the message says why."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


class RoomHub:
    """Every room of this process (the embedded default): create, present, join, expire.

    The methods are coroutines so that `RedisRoomHub`, which shares rooms between processes,
    is a drop-in replacement.
    """

    def __init__(self, max_rooms: int, max_viewers: int, idle_seconds: float,
                 max_history_bytes: int = HISTORY_BYTES,
                 max_backlog_bytes: int = BACKLOG_BYTES) -> None:
        self.rooms: dict[str, Room] = {}
        self.max_rooms, self.max_viewers, self.idle_seconds = max_rooms, max_viewers, idle_seconds
        self.max_voters = VOTERS_PER_SEAT * max_viewers  # per question
        self.room_limits = {"max_history_bytes": max_history_bytes,
                            "max_backlog_bytes": max_backlog_bytes}
        self.grace = PRESENTER_GRACE
        self.leaving: dict[str, Any] = {}  # per room, the timer (or task) that says "left"
        # Per room, the race of a presenter whose socket went away: its next present resumes it.
        self.parked: dict[str, Any] = {}

    def _too_many(self) -> RoomError:
        return RoomError(
            f"room limit reached: this server hosts at most {self.max_rooms} rooms "
            "(DESCENT_MAX_ROOMS); end a presentation or wait for idle rooms to expire",
            "too_many_rooms",
        )

    def _full(self, code: str) -> RoomError:
        return RoomError(
            f"room {code} is full: at most {self.max_viewers} viewers "
            "(DESCENT_MAX_VIEWERS_PER_ROOM)",
            "room_full",
        )

    def _unknown(self, code: str) -> RoomError:
        return RoomError(f"no room {code!r}: it ended or expired", "unknown_room")

    def _wrong_token(self) -> RoomError:
        return RoomError("wrong token for this room", "bad_token")

    async def create(self) -> tuple[str, str]:
        """A new room's code and its token (shown once, to the presenter)."""
        await self.expire()
        if len(self.rooms) >= self.max_rooms:
            raise self._too_many()
        code = new_code(self.rooms)
        token = new_token()
        self.rooms[code] = Room(code=code, token_hash=token_hash(token), **self.room_limits)
        log.info("room %s created (%d rooms)", code, len(self.rooms))
        return code, token

    def _get(self, code: str) -> Room:
        room = self.rooms.get(normalise_code(code))
        if room is None:
            raise self._unknown(code)
        return room

    async def present(self, code: str, token: str) -> Room:
        """The room, for a presenter who holds its token."""
        await self.expire()
        room = self._get(code)
        if not room.check(token):
            raise self._wrong_token()
        room.presenters += 1
        room.touch()
        self._stop_leaving(room.code)
        room.set_presence("live")
        return room

    def unpresent(self, room: Room) -> None:
        """A presenter left: with none left, the viewers hear it is away, then that it left."""
        room.presenters -= 1
        if room.presenters == 0 and self.rooms.get(room.code) is room:
            room.set_presence("away")
            self._stop_leaving(room.code)
            self.leaving[room.code] = asyncio.get_running_loop().call_later(
                self.grace, self._left, room)

    def _left(self, room: Room) -> None:
        self.leaving.pop(room.code, None)
        if room.presenters == 0:
            room.set_presence("left")

    def _stop_leaving(self, code: str) -> None:
        timer = self.leaving.pop(code, None)
        if timer is not None:
            timer.cancel()

    def park(self, code: str, parked: Any) -> None:
        """Keep a presenter's race until it presents again, or the room ends or expires."""
        self.parked[code] = parked

    def unpark(self, code: str) -> Any:
        """The race parked for this room, if any (taken: it is resumed at most once)."""
        return self.parked.pop(code, None)

    async def exists(self, code: str) -> bool:
        """Is there a room with this code? (a viewer's page says so when not)"""
        await self.expire()
        return normalise_code(code) in self.rooms

    async def join(self, code: str, viewer: Viewer) -> Room:
        """Add a viewer to a room (refused with a reason when it does not exist or is full)."""
        await self.expire()
        room = self._get(code)
        if len(room.viewers) >= self.max_viewers:
            raise self._full(room.code)
        room.join(viewer)
        return room

    async def leave(self, room: Room, viewer: Viewer) -> None:
        room.leave(viewer)

    # -- a class vote ----------------------------------------------------------------------------
    async def ask(self, room: Room, prompt: str, choices: list[str]) -> str:
        """Open a question in the room (replacing an open one); its id."""
        qid = secrets.token_hex(4)
        room.ask(qid, prompt, choices)
        return qid

    async def vote(self, room: Room, viewer: Viewer, qid: str, choice: int) -> None:
        """Count a viewer's vote (VoteError when it cannot count)."""
        room.cast(viewer.voter, qid, choice, self.max_voters)

    def _open_question(self, room: Room) -> str:
        if room.question is None:
            raise RoomError("no question is open: ask one first", "no_question")
        return room.question["id"]

    async def reveal(self, room: Room) -> None:
        room.reveal(self._open_question(room))

    async def close_question(self, room: Room) -> None:
        room.close_question(self._open_question(room))

    async def end(self, code: str, reason: str = "the presenter ended the presentation") -> None:
        room = self.rooms.pop(code, None)
        self.parked.pop(code, None)
        self._stop_leaving(code)
        if room is not None:
            room.close(reason)
            log.info("room %s ended: %s", code, reason)

    async def expire(self) -> None:
        """Close rooms idle for longer than the idle timeout."""
        now = time.monotonic()
        for code, room in list(self.rooms.items()):
            idle = now - room.last_active
            if idle > self.idle_seconds and room.presenters == 0:
                await self.end(code, f"idle for {int(idle)} s")

    async def close(self) -> None:
        """Nothing to release in-process."""
