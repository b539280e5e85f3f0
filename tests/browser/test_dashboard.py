"""The dashboards in a real browser: the big screen and the drill-down draw their charts
with data, under the Content Security Policy."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tests.browser.conftest import log_in, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def warehouse(demo: Any, settings: Any, tmp_path: Any) -> Any:
    from jiaoyun.dashboard import selectors, services

    settings.LAKE_URL = str(tmp_path / "lake")
    selectors.clear_cache()
    return services.take_snapshot(day=dt.date(2026, 9, 15))


def _csp_errors(page: Any) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    return errors


def _charts_with_data(page: Any) -> dict[str, int]:
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-chart]')].every(el => el.dataset.points !== undefined)"
    )
    return page.evaluate(
        "() => Object.fromEntries([...document.querySelectorAll('[data-chart]')].map("
        "el => [el.dataset.chart, el.querySelector('canvas') ? Number(el.dataset.points) : -1]))"
    )


def test_big_screen_draws_every_chart(page: Any, warehouse: Any) -> None:
    errors = _csp_errors(page)
    log_in(page, "district_admin")
    page.goto(page.base_url + "/dashboard/screen/")
    charts = _charts_with_data(page)
    assert set(charts) >= {"age", "titles", "shortage", "class_sizes", "quality", "titles_time"}
    # Every chart has a canvas and the structural ones have values to show.
    assert all(points >= 0 for points in charts.values()), charts
    assert all(charts[c] > 0 for c in ("age", "titles", "shortage", "class_sizes", "quality")), charts
    assert page.locator("[data-kpi='0']").inner_text().strip() == str(warehouse.rows["schools"])
    screenshot(page, "dashboard-screen")
    assert not [e for e in errors if "Content Security Policy" in e], errors


def test_drill_down_from_the_district_to_a_school(page: Any, warehouse: Any, demo: Any) -> None:
    errors = _csp_errors(page)
    log_in(page, "district_staff")
    page.goto(page.base_url + "/dashboard/")
    assert _charts_with_data(page)["age"] > 0
    page.click(f"#schools a:has-text('{demo.school_a.name}')")
    page.wait_for_url(f"**/dashboard/school/{demo.school_a.pk}/")
    charts = _charts_with_data(page)
    assert all(charts[c] > 0 for c in ("age", "titles", "qualifications", "shortage", "class_sizes")), charts
    assert demo.school_a.name in page.locator("h1").inner_text()
    screenshot(page, "dashboard-school")
    assert not [e for e in errors if "Content Security Policy" in e], errors


def test_school_administrator_lands_on_their_school(page: Any, warehouse: Any, demo: Any) -> None:
    log_in(page, "school_admin")
    page.goto(page.base_url + "/dashboard/")
    page.wait_for_url(f"**/dashboard/school/{demo.school_a.pk}/")
    assert _charts_with_data(page)["age"] > 0
