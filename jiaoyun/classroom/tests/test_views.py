"""Pages, questionnaires and the answer records, through Django's test client."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from jiaoyun.classroom import selectors, services
from jiaoyun.classroom.models import Answer, LiveSession, QuestionSet
from jiaoyun.classroom.tests.conftest import Room

pytestmark = pytest.mark.django_db


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def writing_survey(room: Room) -> QuestionSet:
    """The Yuexiu example: what students think before a writing lesson."""
    qs = services.create_question_set(teacher=room.teacher, title="写作课前调查")
    for spec in [
        services.question_spec(
            kind="single", prompt="你喜欢写作吗？", options=["喜欢", "一般", "不喜欢"],
            knowledge_points=["写作兴趣"],
        ),
        services.question_spec(
            kind="multiple", prompt="写作时你最难的是？", options=["选材", "结构", "语言", "开头"],
            knowledge_points=["写作过程"],
        ),
        services.question_spec(kind="text", prompt="用一句话说说你的困难", knowledge_points=["写作过程"]),
        services.question_spec(kind="number", prompt="每周课外写作几次？", key=2, tolerance=1),
    ]:  # fmt: skip
        services.add_question(question_set=qs, spec=spec)
    return qs


def test_teacher_starts_a_live_session_and_sees_the_screen(room: Room) -> None:
    client = client_for(room.teacher_user)
    assert client.get("/classroom/").status_code == 200
    response = client.post("/classroom/start/", {"school_class": room.school_class.pk, "mode": "live"})
    session = LiveSession.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/classroom/{session.pk}/screen/"
    page = client.get(response["Location"]).content.decode()
    assert session.join_code in page
    assert "<svg" in page
    assert f'data-ws="/ws/classroom/{session.pk}/screen/"' in page


def test_teacher_of_another_school_cannot_use_the_class(room: Room, room_b: Room) -> None:
    client = client_for(room_b.teacher_user)
    response = client.post("/classroom/start/", {"school_class": room.school_class.pk, "mode": "live"})
    assert response.status_code == 404
    session = services.start_session(teacher=room.teacher, school_class=room.school_class)
    for url in (f"/classroom/{session.pk}/screen/", f"/classroom/{session.pk}/report/"):
        assert client.get(url).status_code == 404
    assert client.post(f"/classroom/{session.pk}/end/").status_code == 404
    student_b = client_for(room_b.students[0].user)
    assert student_b.get(f"/classroom/{session.pk}/student/").status_code == 404
    assert student_b.get(f"/classroom/join/?code={session.join_code}").status_code == 404


def test_student_joins_with_the_code(room: Room) -> None:
    session = services.start_session(teacher=room.teacher, school_class=room.school_class)
    client = client_for(room.students[0].user)
    response = client.get(f"/classroom/join/?code={session.join_code}")
    assert response.status_code == 302
    assert response["Location"] == f"/classroom/{session.pk}/student/"
    assert client.get(response["Location"]).status_code == 200
    anonymous = Client().get(f"/classroom/join/?code={session.join_code}")
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith("/accounts/login/?next=/classroom/join/")


def test_questionnaire_before_class(room: Room) -> None:
    qs = writing_survey(room)
    teacher = client_for(room.teacher_user)
    response = teacher.post(
        "/classroom/start/", {"school_class": room.school_class.pk, "question_set": qs.pk, "mode": "survey"}
    )
    session = LiveSession.objects.get(mode="survey")
    assert response["Location"] == f"/classroom/{session.pk}/report/"
    q1, q2, q3, q4 = session.questions.order_by("position")
    answers = [
        {f"q{q1.pk}": "0", f"q{q2.pk}": ["0", "2"], f"q{q3.pk}": "我不知道写什么材料", f"q{q4.pk}": "3"},
        {f"q{q1.pk}": "1", f"q{q2.pk}": ["0"], f"q{q3.pk}": "选材很难，材料太少", f"q{q4.pk}": "0"},
    ]
    for student, data in zip(room.students, answers, strict=False):
        client = client_for(student.user)
        assert client.get(f"/classroom/{session.pk}/survey/").status_code == 200
        assert client.post(f"/classroom/{session.pk}/survey/", data).status_code == 302
    # A bad answer saves nothing and the form comes back.
    third = client_for(room.students[2].user)
    bad = third.post(f"/classroom/{session.pk}/survey/", {f"q{q1.pk}": "7", f"q{q4.pk}": "2"})
    assert bad.status_code == 400
    assert Answer.objects.filter(student=room.students[2]).count() == 0

    rows = selectors.session_report(session)
    assert [r["answered"] for r in rows] == [2, 2, 2, 2]
    assert rows[0]["distribution"]["counts"] == [1, 1, 0]
    assert rows[1]["distribution"]["counts"] == [2, 0, 1, 0]
    words = dict(rows[2]["distribution"]["words"])
    assert rows[2]["distribution"]["words"][0] == ("材料", 2)
    assert (words["选材"], words["知道"], "么材" in words) == (1, 1, False)
    assert rows[3]["correct"] == 1
    page = teacher.get(f"/classroom/{session.pk}/report/").content.decode()
    assert "写作课前调查" in page
    assert "材料" in page

    teacher.post(f"/classroom/{session.pk}/end/")
    late = client_for(room.students[2].user).post(f"/classroom/{session.pk}/survey/", {f"q{q1.pk}": "0"})
    assert late.status_code == 200
    assert Answer.objects.filter(student=room.students[2]).count() == 0


def test_answer_records_carry_knowledge_points_and_are_scoped(room: Room, room_b: Room, demo: Any) -> None:
    from jiaoyun.accounts.scopes import scope_for_user

    qs = writing_survey(room)
    session = services.start_session(
        teacher=room.teacher, school_class=room.school_class, mode="survey", question_set=qs
    )
    q1, q2, _q3, q4 = session.questions.order_by("position")
    student = room.students[0]
    services.submit_survey(session=session, student=student, raw={q1.pk: 0, q2.pk: [1], q4.pk: "2"})
    rows = list(selectors.answer_records(scope_for_user(room.teacher_user)))
    assert [(r["position"], r["knowledge_point"], r["student_id"], r["is_correct"]) for r in rows] == [
        (1, "写作兴趣", student.pk, None),
        (2, "写作过程", student.pk, None),
        (4, "", student.pk, True),
    ]
    assert list(selectors.answer_records(scope_for_user(room_b.teacher_user))) == []
    assert len(list(selectors.answer_records(scope_for_user(demo.user("school_admin"))))) == 3
    assert list(selectors.answer_records(scope_for_user(demo.user("school_admin_b")))) == []


def test_question_set_form(room: Room) -> None:
    client = client_for(room.teacher_user)
    response = client.post("/classroom/sets/", {"title": "第三单元"})
    qs = QuestionSet.objects.get()
    assert response["Location"] == f"/classroom/sets/{qs.pk}/"
    ok = client.post(
        f"/classroom/sets/{qs.pk}/",
        {"kind": "multiple", "prompt": "哪些是质数？", "options": "2\n4\n5\n9", "key": "AC",
         "knowledge_points": "质数，因数"},
    )  # fmt: skip
    assert ok.status_code == 302
    bad = client.post(
        f"/classroom/sets/{qs.pk}/", {"kind": "single", "prompt": "?", "options": "a\nb", "key": "E"}
    )
    assert bad.status_code == 400
    question = qs.questions.get()
    assert (question.options, question.key, question.knowledge_points) == (
        ["2", "4", "5", "9"],
        [0, 2],
        ["质数", "因数"],
    )
    assert client_for(room.students[0].user).get("/classroom/sets/").status_code == 403
