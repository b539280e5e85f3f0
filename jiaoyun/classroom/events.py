"""What travels on the channel layer between the consumers of one session, possibly in
different worker processes (Redis layer) or in one (in-memory layer).

Two groups per session: its screens and its students. A screen in the process that counted
an answer gets it by a method call (`jiaoyun.classroom.hub`); the screens in other processes
get the answers a process counted in a short window, for all sessions, as one event to each
process that holds screens, and fold them
into their own tally, so a screen never queries the database while answers arrive. A screen
re-reads the database whenever a question opens, closes or is revealed, which makes the
final count exact even if an event was lost.
"""

from __future__ import annotations

from typing import Any

from channels.layers import get_channel_layer


def screen_group(session_id: int) -> str:
    return f"classroom.{session_id}.screen"


def student_group(session_id: int) -> str:
    return f"classroom.{session_id}.students"


async def answers_counted(*, origin: str, sessions: list[tuple[int, list[list[Any]]]]) -> None:
    """The answers one process counted within a short window, for the screens held by the
    other processes: [(session id, [[question id, student id, value, is_correct], ...])]."""
    from jiaoyun.classroom.hub import SCREEN_HOSTS

    await get_channel_layer().group_send(
        SCREEN_HOSTS, {"type": "cls.answers", "origin": origin, "sessions": sessions}
    )


async def question_changed(
    *, session_id: int, question: dict[str, Any], verdicts: dict[str, bool | None] | None = None
) -> None:
    """`question` is the students' view (no key before the reveal); `verdicts` maps each
    answering student's id (as text) to right or wrong once the answer is revealed."""
    layer = get_channel_layer()
    await layer.group_send(screen_group(session_id), {"type": "cls.question", "question": question["id"]})
    await layer.group_send(
        student_group(session_id), {"type": "cls.question", "question": question, "verdicts": verdicts}
    )


async def session_ended(*, session_id: int) -> None:
    layer = get_channel_layer()
    for group in (screen_group(session_id), student_group(session_id)):
        await layer.group_send(group, {"type": "cls.ended"})
