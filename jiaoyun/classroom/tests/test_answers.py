"""The batched answer write of the live channels (`services.record_answers`)."""

from __future__ import annotations

import pytest

from jiaoyun.classroom import services
from jiaoyun.classroom.models import Answer
from jiaoyun.classroom.tests.conftest import Room

pytestmark = pytest.mark.django_db


def test_a_batch_counts_each_student_once_and_refuses_what_it_must(room: Room, room_b: Room) -> None:
    session = services.start_session(teacher=room.teacher, school_class=room.school_class)
    spec = services.question_spec(kind="single", prompt="?", options=["A", "B", "C"], key=1)
    first, _ = services.ask_question(session=session, spec=spec)
    services.close_question(question=first)
    question, _ = services.ask_question(session=session, spec=spec)
    a, b, c = room.students[:3]
    outsider = room_b.students[0]
    klass = room.school_class.pk

    def answer(
        student_id: int, raw: object, *, question_id: int = question.pk, class_id: int = klass
    ) -> object:
        return services.AnswerIn(question_id, student_id, class_id, raw)

    batch = [
        answer(a.pk, 1),
        answer(a.pk, 1),  # a double tap in the same batch
        answer(b.pk, 0),
        answer(b.pk, 2),  # changed in the same batch
        answer(c.pk, 9),  # not an option
        answer(c.pk, 0, question_id=first.pk),  # closed
        answer(outsider.pk, 0, class_id=room_b.school_class.pk),  # another class
    ]
    rules = services.question_rules([question.pk, first.pk])
    outcomes = services.record_answers(answers=batch, rules=rules)
    again = services.record_answers(answers=[answer(a.pk, 1), answer(c.pk, 2)], rules=rules)

    assert [(o.outcome, o.value, o.is_correct) for o in outcomes] == [
        ("accepted", 1, True),
        ("unchanged", 1, True),
        ("accepted", 0, False),
        ("changed", 2, False),
        ("invalid", None, None),
        ("closed", None, None),
        ("closed", None, None),
    ]
    assert [o.outcome for o in again] == ["unchanged", "accepted"]
    assert sorted(Answer.objects.values_list("student_id", "value", "is_correct")) == sorted(
        [(a.pk, 1, True), (b.pk, 2, False), (c.pk, 2, False)]
    )
