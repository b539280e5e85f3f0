"""The register in a real browser: sign in, browse district → school → grade → class,
filter and sort through htmx, switch language, and a teacher's narrower view."""

from __future__ import annotations

import re
from typing import Any

import pytest

from jiaoyun.core.models import School, SchoolClass, Student
from tests.browser.conftest import log_in, screenshot

pytestmark = pytest.mark.browser


def watch_console(page: Any) -> list[str]:
    """Browser console errors (a blocked inline script or style shows up here)."""
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors


def test_district_administrator_browses_the_register(page, demo):
    errors = watch_console(page)
    log_in(page, "district_admin")
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    assert page.locator("h1").inner_text() == "您好，区教育局管理员"
    nav = page.locator("nav.sidenav a")
    assert "审计日志" in nav.all_inner_texts()
    screenshot(page, "home-district-admin")

    page.click("nav.sidenav >> text=学校")
    rows = page.locator("#list tbody tr")
    assert rows.count() == School.objects.count()
    # A filter menu applies at once through htmx: the list swaps, the address follows.
    page.select_option("select[name=kind]", "junior")
    page.wait_for_url(re.compile(r"kind=junior"))
    assert sorted(rows.locator("td:nth-child(2)").all_inner_texts()) == sorted(
        [demo.school_a.name, demo.school_b.name]
    )
    screenshot(page, "schools")

    page.click(f"text={demo.school_a.name}")
    assert page.locator("h1").inner_text().startswith(demo.school_a.name)
    assert page.locator("table.grades tbody th").all_inner_texts() == ["七年级", "八年级", "九年级"]
    classes = SchoolClass.objects.filter(school=demo.school_a).count()
    assert page.locator("table.grades .class-cards li").count() == classes
    screenshot(page, "school")

    first_class = SchoolClass.objects.filter(school=demo.school_a).order_by("grade__level", "number").first()
    page.click(f"a[href='/register/classes/{first_class.pk}/']")
    students = Student.objects.filter(school_class=first_class).count()
    assert page.locator("table.grid").last.locator("tbody tr").count() == students
    assert page.locator("h1").inner_text().startswith("七年级(1)")

    page.click("form.langform button[value=en]")
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("h1").inner_text().startswith("Grade 7(1)")
    assert "Audit log" in page.locator("nav.sidenav a").all_inner_texts()
    screenshot(page, "class-en")
    assert errors == []


def test_sorting_and_filtering_keep_each_other(page, demo):
    log_in(page, "district_admin")
    page.goto(page.base_url + "/register/students/")
    page.click("th a:has-text('出生日期')")
    page.wait_for_url(re.compile(r"sort=birth_date"))
    page.click("th a:has-text('出生日期')")
    page.wait_for_url(re.compile(r"sort=-birth_date"))
    page.select_option("select[name=school]", str(demo.school_a.pk))
    page.wait_for_url(re.compile(rf"school={demo.school_a.pk}"))
    assert "sort=-birth_date" in page.url
    expected = list(
        Student.objects.filter(school=demo.school_a)
        .order_by("-birth_date", "pk")
        .values_list("name", flat=True)
    )
    assert page.locator("#list tbody tr td:nth-child(2)").all_inner_texts() == expected
    assert page.locator(".list-toolbar .count").inner_text() == f"共 {len(expected)} 条"
    # The export link carries the same query.
    href = page.locator(".list-toolbar a:has-text('导出 Excel')").get_attribute("href")
    assert f"school={demo.school_a.pk}" in href and "sort=-birth_date" in href and "format=xlsx" in href
    screenshot(page, "students-sorted")


def test_teacher_sees_only_their_classes(page, demo):
    teacher = demo.user("teacher").teacher
    log_in(page, "teacher")
    assert page.locator("nav.sidenav a").all_inner_texts()[:3] == ["首页", "本校", "我的班级"]
    taught = SchoolClass.objects.filter(head_teacher=teacher) | SchoolClass.objects.filter(
        assignments__teacher=teacher
    )
    taught_ids = set(taught.values_list("pk", flat=True))
    home_links = page.locator("section.panel table a[href^='/register/classes/']")
    assert home_links.count() == len(taught_ids)
    screenshot(page, "home-teacher")

    page.click("nav.sidenav >> text=我的班级")
    assert page.locator("#list tbody tr").count() == len(taught_ids)
    page.click("nav.sidenav >> text=本校")
    shown = {
        int(href.rstrip("/").rsplit("/", 1)[1])
        for href in page.locator("table.grades .class-cards a").evaluate_all(
            "els => els.map(e => e.getAttribute('href'))"
        )
    }
    assert shown == taught_ids
    page.goto(page.base_url + f"/register/schools/{demo.school_b.pk}/")
    assert page.locator("h1").inner_text() == "页面不存在"
