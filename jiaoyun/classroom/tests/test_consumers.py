"""The live channels through Channels' communicator, on the in-memory channel layer."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from jiaoyun.classroom import services
from jiaoyun.classroom.models import Answer, LiveSession
from jiaoyun.classroom.tests.conftest import Room, communicator, receive_until

pytestmark = pytest.mark.django_db(transaction=True)

CHOICE = {"type": "ask", "kind": "single", "prompt": "2 + 3 = ?", "options": ["4", "5", "6"], "key": 1}


def start(room: Room) -> LiveSession:
    return services.start_session(teacher=room.teacher, school_class=room.school_class)


def screen_path(session: LiveSession) -> str:
    return f"/ws/classroom/{session.pk}/screen/"


def student_path(session: LiveSession) -> str:
    return f"/ws/classroom/{session.pk}/student/"


async def open_screen(room: Room, session: LiveSession) -> Any:
    screen = communicator(room.teacher_user, screen_path(session))
    connected, _ = await screen.connect()
    assert connected
    roster = await screen.receive_json_from()
    assert roster["type"] == "roster"
    await receive_until(screen, lambda m: m["type"] == "snapshot")
    return screen


async def join(student: Any, session: LiveSession) -> Any:
    comm = communicator(student.user, student_path(session))
    connected, _ = await comm.connect()
    assert connected
    state = await comm.receive_json_from()
    assert state["type"] == "state"
    return comm


async def ask(screen: Any, students: list[Any], message: dict[str, Any]) -> int:
    await screen.send_json_to(message)
    question_id = None
    for comm in students:
        got = await comm.receive_json_from()
        assert got["type"] == "question"
        question_id = got["question"]["id"]
    assert question_id is not None
    return question_id


def test_screen_shows_who_answered_and_the_distribution(room: Room) -> None:
    session = start(room)
    picks = [1, 1, 2]

    async def scenario() -> dict[str, Any]:
        screen = await open_screen(room, session)
        devices = [await join(s, session) for s in room.students[:3]]
        qid = await ask(screen, devices, CHOICE)
        for device, pick in zip(devices, picks, strict=True):
            await device.send_json_to({"type": "answer", "question": qid, "value": pick})
            ack = await device.receive_json_from()
            assert ack == {"type": "ack", "question": qid, "outcome": "accepted", "value": pick}
        snap = await receive_until(screen, lambda m: m["type"] == "snapshot" and len(m["answered"]) == 3)
        for comm in [screen, *devices]:
            await comm.disconnect()
        return snap

    snap = async_to_sync(scenario)()
    assert snap["total"] == len(room.students)
    assert snap["answered"] == sorted(s.pk for s in room.students[:3])
    assert snap["distribution"] == {"chart": "bars", "labels": ["4", "5", "6"], "counts": [0, 2, 1]}
    assert "correct" not in snap


def test_rooms_are_isolated(room: Room, room_b: Room, demo: Any) -> None:
    session_a, session_b = start(room), start(room_b)

    async def scenario() -> tuple[list[bool], dict[str, Any]]:
        # Another class's student, another teacher and a parent cannot join room A.
        refused = []
        for user, path in [
            (room_b.students[0].user, student_path(session_a)),
            (room_b.teacher_user, screen_path(session_a)),
            (room.teacher_user, screen_path(session_b)),
            (demo.user("parent"), student_path(session_a)),
            (room.teacher_user, student_path(session_a)),
        ]:
            comm = communicator(user, path)
            connected, _ = await comm.connect()
            refused.append(connected)
            await comm.disconnect()
        screen_a = await open_screen(room, session_a)
        screen_b = await open_screen(room_b, session_b)
        device_a = await join(room.students[0], session_a)
        device_b = await join(room_b.students[0], session_b)
        qa = await ask(screen_a, [device_a], CHOICE)
        qb = await ask(screen_b, [device_b], CHOICE)
        # A student answering room A's question through room B's socket is refused.
        await device_b.send_json_to({"type": "answer", "question": qa, "value": 0})
        assert (await device_b.receive_json_from())["outcome"] == "closed"
        await device_a.send_json_to({"type": "answer", "question": qa, "value": 2})
        assert (await device_a.receive_json_from())["outcome"] == "accepted"
        await receive_until(screen_a, lambda m: m["type"] == "snapshot" and m["answered"])
        await screen_b.send_json_to({"type": "close"})
        snap_b = await receive_until(
            screen_b, lambda m: m["type"] == "snapshot" and m["question"]["status"] == "closed"
        )
        assert snap_b["question"]["id"] == qb
        for comm in [screen_a, screen_b, device_a, device_b]:
            await comm.disconnect()
        return refused, snap_b

    refused, snap_b = async_to_sync(scenario)()
    assert refused == [False, False, False, False, False]
    assert snap_b["answered"] == []
    assert snap_b["distribution"]["counts"] == [0, 0, 0]
    assert Answer.objects.filter(session_question__session=session_b).count() == 0


def test_reconnect_mid_question_counts_once(room: Room) -> None:
    session = start(room)
    student = room.students[0]

    async def scenario() -> tuple[list[str], dict[str, Any], dict[str, Any]]:
        screen = await open_screen(room, session)
        device = await join(student, session)
        qid = await ask(screen, [device], {**CHOICE, "kind": "multiple", "key": [0, 1]})
        outcomes = []
        await device.send_json_to({"type": "answer", "question": qid, "value": [1, 0]})
        outcomes.append((await device.receive_json_from())["outcome"])
        await device.disconnect()
        # The tablet reconnects and its page resends the pending answer, twice (double tap).
        device = communicator(student.user, student_path(session))
        await device.connect()
        state = await device.receive_json_from()
        for _ in range(2):
            await device.send_json_to({"type": "answer", "question": qid, "value": [0, 1]})
            outcomes.append((await device.receive_json_from())["outcome"])
        await screen.send_json_to({"type": "close"})
        snap = await receive_until(
            screen, lambda m: m["type"] == "snapshot" and m["question"]["status"] == "closed"
        )
        await screen.disconnect()
        await device.disconnect()
        return outcomes, state, snap

    outcomes, state, snap = async_to_sync(scenario)()
    assert outcomes == ["accepted", "unchanged", "unchanged"]
    assert state["my_answer"] == [0, 1]
    assert snap["answered"] == [student.pk]
    assert snap["distribution"]["counts"] == [1, 1, 0]
    assert Answer.objects.filter(session_question__session=session).count() == 1


def test_stalled_screen_holds_one_snapshot(room: Room) -> None:
    session = start(room)
    students = room.students

    async def scenario() -> tuple[int, int, dict[str, Any]]:
        screen = await open_screen(room, session)
        devices = [await join(s, session) for s in students]
        await screen.send_json_to(CHOICE)
        for device in devices:
            qid = (await device.receive_json_from())["question"]["id"]
        # The screen stops reading and acknowledging; every student answers.
        for device in devices:
            await device.send_json_to({"type": "answer", "question": qid, "value": 0})
            assert (await device.receive_json_from())["outcome"] == "accepted"
        await asyncio.sleep(0.5)  # several snapshot intervals pass
        waiting = screen.output_queue.qsize()
        layer = get_channel_layer()
        backlog = sum(queue.qsize() for queue in layer.channels.values())
        # Reading again: the one snapshot held, then (after its ack) one with everything.
        held = await screen.receive_json_from()
        await screen.send_json_to({"type": "ack", "seq": held["seq"]})
        latest = await screen.receive_json_from()
        for comm in [screen, *devices]:
            await comm.disconnect()
        return waiting, backlog, latest

    waiting, backlog, latest = async_to_sync(scenario)()
    assert waiting == 1
    assert backlog == 0
    assert latest["type"] == "snapshot"
    assert latest["answered"] == sorted(s.pk for s in students)
    assert latest["distribution"]["counts"] == [len(students), 0, 0]


def test_answers_after_close_are_refused_and_reveal_grades(room: Room) -> None:
    session = start(room)
    early, late = room.students[0], room.students[1]

    async def scenario() -> tuple[str, dict[str, Any], dict[str, Any], dict[str, Any]]:
        screen = await open_screen(room, session)
        d_early, d_late = await join(early, session), await join(late, session)
        qid = await ask(screen, [d_early, d_late], {"type": "ask", "kind": "number", "prompt": "π ≈ ?"})
        await d_early.send_json_to({"type": "answer", "question": qid, "value": "3.14"})
        assert (await d_early.receive_json_from())["outcome"] == "accepted"
        await screen.send_json_to({"type": "close"})
        await d_late.receive_json_from()  # the question, now closed
        await d_late.send_json_to({"type": "answer", "question": qid, "value": 3})
        late_outcome = (await d_late.receive_json_from())["outcome"]
        # Asked on the fly, the answer is given at the reveal.
        await screen.send_json_to({"type": "reveal", "key": 3.14})
        mine = await d_early.receive_json_from()
        while mine["question"]["status"] != "revealed":
            mine = await d_early.receive_json_from()
        theirs = await d_late.receive_json_from()
        snap = await receive_until(
            screen, lambda m: m["type"] == "snapshot" and m["question"]["status"] == "revealed"
        )
        for comm in [screen, d_early, d_late]:
            await comm.disconnect()
        return late_outcome, mine, theirs, snap

    late_outcome, mine, theirs, snap = async_to_sync(scenario)()
    assert late_outcome == "closed"
    assert (mine["correct"], mine["answered"], mine["question"]["key"]) == (True, True, 3.14)
    assert (theirs["correct"], theirs["answered"]) == (None, False)
    assert snap["answered"] == [early.pk]
    assert snap["correct"] == [early.pk]
    assert snap["distribution"] == {"chart": "histogram", "bins": [{"label": "3.14", "count": 1}]}
    assert list(Answer.objects.values_list("student_id", "value", "is_correct")) == [(early.pk, 3.14, True)]


def test_ending_the_session_closes_every_socket(room: Room) -> None:
    session = start(room)

    async def scenario() -> tuple[dict[str, Any], Any, bool]:
        screen = await open_screen(room, session)
        device = await join(room.students[0], session)
        await screen.send_json_to({"type": "end"})
        ended = await device.receive_json_from()
        closed = await device.receive_output()
        again = communicator(room.students[0].user, student_path(session))
        connected, _ = await again.connect()
        await screen.disconnect()
        return ended, closed, connected

    ended, closed, connected = async_to_sync(scenario)()
    assert ended == {"type": "ended"}
    assert closed == {"type": "websocket.close", "code": 4000}
    assert connected is False
    assert LiveSession.objects.get(pk=session.pk).status == "ended"


def test_a_session_number_no_session_can_have_is_refused(room: Room) -> None:
    """A route number beyond a bigint reaches no SQL (the databases would raise on it): the
    handshake is refused like a stranger's, on both routes."""

    async def scenario() -> list[bool]:
        connected = []
        for path in (f"/ws/classroom/{2**64}/student/", f"/ws/classroom/{2**64}/screen/"):
            comm = communicator(room.students[0].user if "student" in path else room.teacher_user, path)
            accepted, _ = await comm.connect()
            connected.append(accepted)
            await comm.disconnect()
        return connected

    assert async_to_sync(scenario)() == [False, False]


def test_garbage_from_a_screen_or_a_device_gets_an_answer_not_a_crash(room: Room) -> None:
    """What a page's script (or anyone holding the socket) may send: text that is not JSON,
    JSON nested beyond the parser's depth, a question to copy named by something that is not a
    number. The socket stays open and keeps working; the bad copy is refused as "source"."""
    session = start(room)

    async def scenario() -> tuple[Any, Any]:
        screen = await open_screen(room, session)
        device = await join(room.students[0], session)
        for comm in (screen, device):
            await comm.send_to(text_data="not json")
            await comm.send_to(text_data="[" * 100_000)
        await screen.send_json_to({"type": "ask", "source": "abc"})
        refused = await receive_until(screen, lambda m: m["type"] == "error")
        await screen.send_json_to({"type": "ask", "source": 10**30})
        too_big = await receive_until(screen, lambda m: m["type"] == "error")
        qid = await ask(screen, [device], CHOICE)  # both sockets still serve
        await device.send_json_to({"type": "answer", "question": qid, "value": 1})
        ack = await device.receive_json_from()
        for comm in (screen, device):
            await comm.disconnect()
        return (refused, too_big), ack

    (refused, too_big), ack = async_to_sync(scenario)()
    assert refused == too_big == {"type": "error", "error": "source"}
    assert ack["outcome"] == "accepted"
