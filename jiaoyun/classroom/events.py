"""What travels between the live consumers of a session, possibly in different worker
processes (Redis layer) or in one (in-memory layer).

Sockets have no channel of their own: each process's hub (`jiaoyun.classroom.hub`) holds
its sockets by session and has one channel, in the group `HOSTS` of the processes that
hold live sockets. An event of a session is handed to the session's sockets in the process
that made it and sent once to the other processes, whose hubs hand it to theirs:

- `cls.question` (a question opened, closed or was revealed): devices show it; screens
  re-read the database, which makes the final count exact even if an answer event was
  lost;
- `cls.ended`: every socket of the session closes.

A screen in the process that counted an answer gets it by a method call; the screens in
other processes get the answers a process counted in a short window, for all sessions, as
one `cls.answers` event, and fold them into their own tally, so a screen never queries the
database while answers arrive.
"""

from __future__ import annotations

import json
from typing import Any

# The processes that hold live sockets, each through one channel.
HOSTS = "classroom.hosts"


async def to_hosts(layer: Any, *, origin: str, items: list[list[Any]]) -> None:
    """What one process sends the others at once: the events of sessions and the answers
    it counted, in order: [[session id, "event", event], [session id, "answers",
    [[question id, student id, value, is_correct], ...]], ...]."""
    await layer.group_send(HOSTS, {"type": "cls.hosts", "origin": origin, "items": items})


async def question_changed(
    *,
    session_id: int,
    question: dict[str, Any],
    verdicts: dict[str, bool | None] | None = None,
    opened: dict[str, Any] | None = None,
) -> None:
    """`question` is the students' view (no key before the reveal); `verdicts` maps each
    answering student's id (as text) to right or wrong once the answer is revealed;
    `opened` is the screen's view of a question just asked (it has no answers yet, so the
    screens need not read the database)."""
    from jiaoyun.classroom.hub import hub

    event = {"type": "cls.question", "question": question, "verdicts": verdicts, "opened": opened}
    if verdicts is None:
        event["message"] = json.dumps({"type": "question", "question": question})
    await hub().publish(session_id, event)


async def session_ended(*, session_id: int) -> None:
    from jiaoyun.classroom.hub import hub

    # Called from a view too, through async_to_sync: its event loop ends on return.
    await hub().publish(session_id, {"type": "cls.ended"}, now=True)
