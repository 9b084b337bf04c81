"""A room in Redis: the names of its keys, the Lua scripts that change them in one step, and
the publisher that records and broadcasts each message a presenter sends.

The caps are checked and acted on in one Lua script each, so workers cannot all pass a check
at once (app/rooms/redis_hub.py says how the hub uses them).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from redis.exceptions import RedisError

log = logging.getLogger("descent.rooms")

PREFIX = "dp:room:"
ROOMS = "dp:rooms"  # sorted set: code -> last activity (unix time)
WORKERS = "dp:workers"  # hash: worker -> the end of its lease (Redis time, ms)
MAX_HISTORY = 50_000  # messages kept for late joiners (frames are merged ~15 per second) ...
# ... and their bytes (the room's max_history_bytes): past either, the older half of the
# frames is thinned to every other one, in Redis, as a room thins its points. The first frame
# kept is marked "thinned" for the mirrors that load it. Bytes are counted as pushed, in a key.
APPEND_HISTORY = """
local history, counter = KEYS[1], KEYS[2]
redis.call('RPUSH', history, ARGV[1])
local total = redis.call('INCRBY', counter, string.len(ARGV[1]))
if total <= tonumber(ARGV[2]) and redis.call('LLEN', history) <= tonumber(ARGV[3]) then
  return total
end
local all = redis.call('LRANGE', history, 0, -1)
local frames = {}
for i = 1, #all do
  if string.find(all[i], '^[^|]*|[^|]*|{"type":"frame"') then frames[#frames + 1] = i end
end
local half = math.floor(#frames / 2)
if half < 2 then return total end
local drop = {}
for k = 2, half, 2 do drop[frames[k]] = true end
local first = all[frames[1]]
local at = select(2, string.find(first, '^[^|]*|[^|]*|{"type":"frame"'))
local mark = ',"thinned":true'
if string.sub(first, at + 1, at + string.len(mark)) ~= mark then
  all[frames[1]] = string.sub(first, 1, at) .. mark .. string.sub(first, at + 1)
end
local kept = {}
total = 0
for i = 1, #all do
  if not drop[i] then
    kept[#kept + 1] = all[i]
    total = total + string.len(all[i])
  end
end
redis.call('DEL', history)
for i = 1, #kept, 1000 do
  redis.call('RPUSH', history, unpack(kept, i, math.min(i + 999, #kept)))
end
redis.call('SET', counter, total)
return total
"""

# Redis time in ms, and the sum of a room's viewer counts over the workers whose lease holds.
_LIVE_TOTAL = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local function live_total(viewers, workers, mine)
  local total, own = 0, 0
  local counts = redis.call('HGETALL', viewers)
  for i = 1, #counts, 2 do
    local lease = tonumber(redis.call('HGET', workers, counts[i]) or '0')
    if counts[i] == mine then own = tonumber(counts[i + 1]) end
    if counts[i] == mine or lease >= now then total = total + tonumber(counts[i + 1]) end
  end
  return total, own
end
"""
# KEYS: rooms, room; ARGV: max rooms, token hash, ttl, code, now (unix time)
CREATE = """
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return -1 end
if redis.call('HSETNX', KEYS[2], 'token', ARGV[2]) == 0 then return 0 end
redis.call('EXPIRE', KEYS[2], ARGV[3])
redis.call('ZADD', KEYS[1], ARGV[5], ARGV[4])
return 1
"""
# KEYS: room, viewers, workers, channel; ARGV: worker, max viewers, ttl, lease ms, notice.
# Returns {admitted (1) or not (0), token hash or false (no such room)}.
JOIN = _LIVE_TOTAL + """
local token = redis.call('HGET', KEYS[1], 'token')
if not token then return {0, false} end
redis.call('HSET', KEYS[3], ARGV[1], now + tonumber(ARGV[4]))
if live_total(KEYS[2], KEYS[3], ARGV[1]) >= tonumber(ARGV[2]) then return {0, token} end
redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
redis.call('EXPIRE', KEYS[2], ARGV[3])
redis.call('PUBLISH', KEYS[4], ARGV[5])
return {1, token}
"""
# KEYS: viewers, channel; ARGV: worker, count, ttl, notice. Nothing once the count is gone
# (the room ended, or this worker closed): never a negative count.
LEAVE = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HINCRBY', KEYS[1], ARGV[1], -tonumber(ARGV[2]))
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('PUBLISH', KEYS[2], ARGV[4])
return 1
"""
# KEYS: room, channel; ARGV: status, its mark, the mark it replaces ('' = any), the message.
# The presenter's news (live, away, left) for late joiners and every worker's viewers; "left"
# only replaces the "away" it follows, never a presenter back since (on any worker).
PRESENCE = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if ARGV[3] ~= '' and redis.call('HGET', KEYS[1], 'presence_mark') ~= ARGV[3] then return 0 end
redis.call('HSET', KEYS[1], 'presence', ARGV[1], 'presence_mark', ARGV[2])
redis.call('PUBLISH', KEYS[2], ARGV[4])
return 1
"""
# KEYS: viewers, workers; ARGV: worker. Returns {every live worker's viewers, this worker's}.
COUNT = _LIVE_TOTAL + """
return {live_total(KEYS[1], KEYS[2], ARGV[1])}
"""
# KEYS: workers; ARGV: worker, lease ms. Renews this worker's lease and forgets leases that
# ran out an hour ago (their workers' counts expire with their rooms).
RENEW = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
redis.call('HSET', KEYS[1], ARGV[1], now + tonumber(ARGV[2]))
local leases = redis.call('HGETALL', KEYS[1])
for i = 1, #leases, 2 do
  if tonumber(leases[i + 1]) < now - 3600000 then redis.call('HDEL', KEYS[1], leases[i]) end
end
return 1
"""


# A class vote: the open question lives in the room's hash (`qid`, `question`: its message,
# `choices`: how many, `revealed`), each voter's choice in the room's `votes` hash (voter ->
# choice), which expires with the room. One question is open at a time: asking another or
# closing it empties the hash in the same step, so a vote can never land on the wrong one.
# KEYS: room, votes, channel; ARGV: qid, question message, number of choices, the message.
ASK = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[1], 'qid', ARGV[1], 'question', ARGV[2], 'choices', ARGV[3],
           'revealed', '0')
redis.call('PUBLISH', KEYS[3], ARGV[4])
return 1
"""
# KEYS: room, votes, channel; ARGV: qid, choice, voter, max voters, ttl, notice.
# Returns {1} (counted), {0} (not the open question), {-1, choices} (no such choice) or
# {-2} (as many voters as the question may have).
VOTE = """
if redis.call('HGET', KEYS[1], 'qid') ~= ARGV[1] then return {0} end
local choices = tonumber(redis.call('HGET', KEYS[1], 'choices'))
if tonumber(ARGV[2]) >= choices then return {-1, choices} end
if redis.call('HEXISTS', KEYS[2], ARGV[3]) == 0
   and redis.call('HLEN', KEYS[2]) >= tonumber(ARGV[4]) then return {-2} end
redis.call('HSET', KEYS[2], ARGV[3], ARGV[2])
redis.call('EXPIRE', KEYS[2], ARGV[5])
redis.call('PUBLISH', KEYS[3], ARGV[6])
return {1}
"""
# KEYS: room, votes, channel; ARGV: qid, 'reveal' or 'close', the message.
END_OR_REVEAL = """
if redis.call('HGET', KEYS[1], 'qid') ~= ARGV[1] then return 0 end
if ARGV[2] == 'reveal' then
  redis.call('HSET', KEYS[1], 'revealed', '1')
else
  redis.call('HDEL', KEYS[1], 'qid', 'question', 'choices', 'revealed')
  redis.call('DEL', KEYS[2])
end
redis.call('PUBLISH', KEYS[3], ARGV[3])
return 1
"""


def room_keys(code: str) -> dict[str, str]:
    """The names of a room's keys in Redis (and of its channel)."""
    base = PREFIX + code
    return {"room": base, "history": base + ":history", "seq": base + ":seq",
            "details": base + ":details", "state": base + ":state",
            "viewers": base + ":viewers", "channel": base + ":live",
            "history_bytes": base + ":history_bytes", "votes": base + ":votes",
            "sweep": base + ":sweep"}


# The messages of which a room keeps only the latest, each in its own key.
KEPT_APART = {"state": "state", "sweep_result": "sweep"}
# The keys of a room that expire after the idle time, pushed back by every publish.
EXPIRING = ("room", "history", "history_bytes", "seq", "details", "state", "votes", "sweep")


async def keep_alive(redis: Any, code: str, ttl: int) -> None:
    """Push back the expiry of a room that is presented (as an in-process room stays)."""
    keys = room_keys(code)
    async with redis.pipeline(transaction=True) as pipe:
        for key in (*EXPIRING, "viewers"):
            pipe.expire(keys[key], ttl)
        pipe.zadd(ROOMS, {code: time.time()}, xx=True)
        await pipe.execute()


async def publish(redis: Any, code: str, queue: asyncio.Queue, worker: str, ttl: int,
                  max_history_bytes: int, after: asyncio.Task | None = None) -> None:
    """Give each message a presenter queues a sequence number, record it in Redis and publish
    it, in order (after the room's previous publisher, `after`, has finished)."""
    keys = room_keys(code)
    append = redis.register_script(APPEND_HISTORY)
    bounds = (max_history_bytes, MAX_HISTORY)
    if after is not None:
        try:
            await asyncio.wait({after})
        except asyncio.CancelledError:
            after.cancel()  # this room's publishing stops: the earlier one's too
            raise
    while True:
        item = await queue.get()
        if item is None:  # the room was dropped here: all it queued has been published
            return
        kind, run, text = item
        try:
            if kind == "_sweep_stale":  # a started of another config: the kept map goes
                await redis.delete(keys["sweep"])
                continue
            seq = await redis.incr(keys["seq"])
            envelope = f"{worker}|{seq}|{text}"
            async with redis.pipeline(transaction=True) as pipe:
                if kind == "started":
                    pipe.delete(keys["history"], keys["history_bytes"], keys["details"],
                                keys["state"])
                kept = KEPT_APART.get(kind)  # the latest of a kind, beside the history
                if kind == "detail":
                    pipe.hset(keys["details"], run or "", text)
                elif kept:
                    pipe.set(keys[kept], text)
                elif kind != "sweep_progress":  # (a map's progress: the channel only)
                    await append(keys=[keys["history"], keys["history_bytes"]],
                                 args=[envelope, *bounds], client=pipe)
                for key in EXPIRING:
                    pipe.expire(keys[key], ttl)
                pipe.zadd(ROOMS, {code: time.time()}, xx=True)  # never brings one back
                pipe.publish(keys["channel"], envelope)
                await pipe.execute()
        except (RedisError, OSError) as exc:
            # The presenter's session goes on; only the other workers' viewers lose the room.
            log.warning("room %s: publishing to Redis failed: %s", code, exc)
