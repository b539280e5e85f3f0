"""smoke"""

from __future__ import annotations

import pytest

from jiaoyun.assessment.demo import build_demo_exams

pytestmark = pytest.mark.django_db


def test_smoke(demo, settings, tmp_path):
    settings.LAKE_URL = str(tmp_path)
    result = build_demo_exams(seed=3)
    exam = result.exams[1]
    exam.refresh_from_db()
    print(exam.analysis_status, exam.analysis_error)
    from jiaoyun.core.models import Student, Teacher
    st = demo.user("student").student
    t = demo.user("teacher").teacher
    urls = [f"/assessment/exams/{exam.pk}/", f"/assessment/exams/{exam.pk}/reports/district/",
            f"/assessment/exams/{exam.pk}/reports/school/{demo.school_a.pk}/",
            f"/assessment/exams/{exam.pk}/reports/class/{st.school_class_id}/",
            f"/assessment/exams/{exam.pk}/reports/teacher/{t.pk}/",
            f"/assessment/exams/{exam.pk}/reports/student/{st.pk}/",
            f"/assessment/exams/{exam.pk}/reports/school/{demo.school_a.pk}/report.xlsx",
            f"/assessment/exams/{exam.pk}/reports/school/{demo.school_a.pk}/report.pdf",
            ]
    c = demo.client("district_admin")
    for u in urls:
        r = c.get(u)
        print(u, r.status_code, len(r.content))
        if u.endswith("/") and r.status_code == 200:
            open("/tmp/jy/" + u.strip("/").replace("/", "_") + ".html", "wb").write(r.content)
    assert 0
