"""The analysis task end to end on the tiny demo district."""

from __future__ import annotations

import pytest

from jiaoyun.assessment.demo import build_demo_exams

pytestmark = pytest.mark.django_db


def test_smoke(demo, settings, tmp_path):
    settings.LAKE_URL = str(tmp_path)
    result = build_demo_exams(seed=3)
    for e in result.exams:
        e.refresh_from_db()
        print(e.name, e.analysis_status, e.analysis_error, e.analysis_version)
    assert 0
