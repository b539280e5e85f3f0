"""The import pages end to end through Django's test client, and who may do what."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from python_calamine import CalamineWorkbook

from jiaoyun.accounts.models import AuditEvent
from jiaoyun.core.models import Student
from jiaoyun.exchange.models import ImportJob
from jiaoyun.exchange.tests.helpers import STUDENT_HEADERS, new_id, rows_of, run_import, student, xlsx

pytestmark = pytest.mark.django_db

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def upload(client, data: bytes, *, name: str = "学生名单.xlsx", **fields):
    form = {"kind": "students", "file": SimpleUploadedFile(name, data, content_type=XLSX), **fields}
    return client.post(reverse("exchange:import_new"), form)


def test_upload_page_end_to_end(demo, django_capture_on_commit_callbacks):
    client = demo.client("school_admin")
    page = client.get(reverse("exchange:import_new"))
    assert page.status_code == 200
    assert page.context["form"].fields["school"].initial == demo.school_a.pk
    data = xlsx(STUDENT_HEADERS, rows_of([student(demo.school_a, seq=1), student(demo.school_a, seq=2)]))
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, data, school=demo.school_a.pk)
    job = ImportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "exchange:import_detail", args=[job.pk]
    )
    assert (job.status, job.school, job.created_by, job.file_name) == (
        ImportJob.Status.DONE, demo.school_a, demo.user("school_admin"), "学生名单.xlsx",
    )  # fmt: skip
    assert Student.objects.filter(student_no__in=[f"G{new_id(1)}", f"G{new_id(2)}"]).count() == 2
    detail = client.get(response["Location"], HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert detail.status_code == 200
    body = detail.content.decode()
    assert "已导入" in body and 'hx-trigger="every 1s"' not in body
    listing = client.get(reverse("exchange:import_list"))
    assert list(listing.context["page"]) == [job]


def test_a_rejected_upload_shows_and_downloads_its_problems(demo, django_capture_on_commit_callbacks):
    client = demo.client("school_admin")
    bad = student(demo.school_a, seq=1, 身份证号=new_id(1)[:17] + ("0" if new_id(1)[-1] != "0" else "1"))
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, xlsx(STUDENT_HEADERS, rows_of([bad])), school=demo.school_a.pk)
    job = ImportJob.objects.get()
    assert job.status == ImportJob.Status.REJECTED
    url = reverse("exchange:import_detail", args=[job.pk])
    english = client.get(url, HTTP_ACCEPT_LANGUAGE="en")
    assert english.context["issues"] == [{
        "row": 2, "column": "身份证号", "value": bad["身份证号"],
        "message": "The last character of the ID number does not match its check digit (GB 11643): "
                   "look for a mistyped digit.",
    }]  # fmt: skip
    download = client.get(reverse("exchange:import_issues", args=[job.pk]), HTTP_ACCEPT_LANGUAGE="en")
    assert download["Content-Type"] == XLSX
    sheet = CalamineWorkbook.from_filelike(io.BytesIO(download.content)).get_sheet_by_index(0).to_python()
    assert sheet == [["Row", "Column", "Value", "What is wrong"],
                     [2.0, "身份证号", bad["身份证号"], english.context["issues"][0]["message"]]]  # fmt: skip
    event = AuditEvent.objects.get(action=AuditEvent.Action.EXPORT)
    assert (event.target, event.detail) == (f"import:{job.pk} problems", {"rows": 1, "unmasked": True})


def test_district_staff_see_problems_masked(demo):
    bad = student(demo.school_a, seq=1, 性别="男的")
    job = run_import(demo.user("district_admin"), xlsx(STUDENT_HEADERS, rows_of([bad])))
    job.issues = job.issues + [{"row": 2, "column": "身份证号", "value": "440104201209010012", "code": "id_check_digit",
                                "params": {}}]  # fmt: skip
    job.save()
    issues = (
        demo.client("district_staff").get(reverse("exchange:import_detail", args=[job.pk])).context["issues"]
    )
    assert [i["value"] for i in issues] == ["男的", "440104********0012"]


def test_progress_is_polled_while_the_job_runs(demo):
    job = ImportJob.objects.create(kind="students", created_by=demo.user("school_admin"), school=demo.school_a,
                                   file="x.xlsx", file_name="x.xlsx", status=ImportJob.Status.VALIDATING,
                                   rows_total=1000, rows_done=250)  # fmt: skip
    response = demo.client("school_admin").get(
        reverse("exchange:import_detail", args=[job.pk]), HTTP_HX_REQUEST="true"
    )
    body = response.content.decode()
    assert [t.name for t in response.templates] == ["exchange/_job_status.html"]
    assert 'hx-trigger="every 1s"' in body and '<progress max="100" value="20">' in body


def test_school_admin_cannot_import_into_another_school(demo, django_capture_on_commit_callbacks):
    client = demo.client("school_admin")
    data = xlsx(STUDENT_HEADERS, rows_of([student(demo.school_b, seq=1)]))
    response = upload(client, data, school=demo.school_b.pk)
    assert response.status_code == 200 and "school" in response.context["form"].errors
    assert not ImportJob.objects.exists()
    # Rows naming school B in a file for school A are refused row by row.
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, data, school=demo.school_a.pk)
    job = ImportJob.objects.get()
    assert [(i["row"], i["column"], i["code"]) for i in job.issues] == [
        (2, "学校代码", "school_out_of_scope")
    ]
    assert not Student.objects.filter(student_no=f"G{new_id(1)}").exists()


def test_school_admin_cannot_take_a_student_of_another_school(demo):
    of_b = Student.objects.filter(school=demo.school_b).order_by("pk").first()
    record = student(demo.school_a, seq=1, 全国学籍号=of_b.student_no, 身份证号="", 出生日期="2012-09-01")
    job = run_import(
        demo.user("school_admin"), xlsx(STUDENT_HEADERS, rows_of([record])), school=demo.school_a
    )
    assert [(i["row"], i["column"], i["code"], i["params"]) for i in job.issues] == [
        (2, "全国学籍号", "student_other_school", {"school": demo.school_b.name})
    ]


def test_jobs_are_seen_only_within_scope(demo):
    job_b = run_import(demo.user("school_admin_b"), xlsx(STUDENT_HEADERS, rows_of([student(demo.school_b, seq=1)])),
                       school=demo.school_b)  # fmt: skip
    assert job_b.status == ImportJob.Status.DONE
    a = demo.client("school_admin")
    assert list(a.get(reverse("exchange:import_list")).context["page"]) == []
    assert a.get(reverse("exchange:import_detail", args=[job_b.pk])).status_code == 404
    assert a.get(reverse("exchange:import_issues", args=[job_b.pk])).status_code == 404
    assert list(demo.client("district_staff").get(reverse("exchange:import_list")).context["page"]) == [job_b]
    assert list(demo.client("school_admin_b").get(reverse("exchange:import_list")).context["page"]) == [job_b]


@pytest.mark.parametrize("username", ["teacher", "student", "parent"])
def test_teachers_students_and_parents_cannot_import(demo, username):
    client = demo.client(username)
    for name in ("exchange:import_list", "exchange:import_new"):
        assert client.get(reverse(name)).status_code == 403
    assert client.get(reverse("exchange:import_template", args=["students"])).status_code == 403
    assert upload(client, xlsx(STUDENT_HEADERS, [])).status_code == 403
    assert not ImportJob.objects.exists()


def test_district_staff_may_look_but_not_import(demo):
    client = demo.client("district_staff")
    assert client.get(reverse("exchange:import_list")).context["may_import"] is False
    assert client.get(reverse("exchange:import_new")).status_code == 403


def test_templates_have_the_chinese_headers_and_an_instructions_sheet(demo):
    client = demo.client("school_admin")
    response = client.get(reverse("exchange:import_template", args=["teachers"]), HTTP_ACCEPT_LANGUAGE="en")
    book = CalamineWorkbook.from_filelike(io.BytesIO(response.content))
    assert book.sheet_names == ["教师", "Instructions"]
    assert book.get_sheet_by_index(0).to_python()[0] == [
        "工号", "姓名", "性别", "出生日期", "身份证号", "手机号", "任教学科", "职称", "学历", "在编情况", "学校代码",
        "所在学校", "到校时间", "参加工作年份",
    ]  # fmt: skip
    notes = book.get_sheet_by_index(1).to_python()
    assert notes[0] == ["Column", "Required", "What to write", "Example", "Also accepted as the header"]
    assert notes[1][:2] == ["工号", "yes"]
    assert client.get(reverse("exchange:import_template", args=["nothing"])).status_code == 404


def test_the_template_imports_as_it_comes(demo):
    """A filled-in template is a valid upload: its headers are the importer's."""
    response = demo.client("school_admin").get(reverse("exchange:import_template", args=["students"]))
    header = CalamineWorkbook.from_filelike(io.BytesIO(response.content)).get_sheet_by_index(0).to_python()[0]
    record = student(demo.school_a, seq=1)
    job = run_import(demo.user("school_admin"), xlsx(header, rows_of([record], header)), school=demo.school_a)
    assert (job.status, job.ignored_columns, job.counts["created"]) == (ImportJob.Status.DONE, [], 1)
