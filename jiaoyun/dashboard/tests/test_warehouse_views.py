"""Each statistical view on the hand-made register of `handmade.py`, against figures worked
out by hand from its rows (the working is in the comments)."""

from __future__ import annotations

import datetime as dt

import ibis
import pytest

from jiaoyun.analytics.warehouse.catalogue import VIEWS, Inputs
from jiaoyun.analytics.warehouse.policy import Policy

from . import handmade


@pytest.fixture(scope="module")
def inputs() -> Inputs:
    tables = {name: ibis.memtable(t) for name, t in handmade.tables().items()}
    return Inputs(tables=tables, as_of=handmade.AS_OF, policy=handmade.POLICY)


@pytest.fixture(scope="module")
def con() -> ibis.BaseBackend:
    return ibis.duckdb.connect()


def rows(con: ibis.BaseBackend, inputs: Inputs, name: str, columns: list[str] | None = None) -> list[tuple]:
    table = con.to_pyarrow(inputs.view(name))
    columns = columns or table.column_names
    data = table.select(columns).to_pylist()
    return [tuple(r[c] for c in columns) for r in data]


def test_the_catalogue_has_twenty_views_or_more() -> None:
    assert len(VIEWS) >= 20


# Active teachers (established or contract, with a school): school 1 has teachers 1-3, school 2
# has 5, 6, 7 and 14, school 3 has 9-12. Teacher 4 is retired, 8 seconded, 13 has no school.


def test_age_bands(con, inputs) -> None:
    # Ages on 2026-09-15: t1 54, t2 35 (birthday 1 Oct not reached), t3 28; t5 59, t6 41
    # (birthday that day), t7 45, t14 57; t9 54, t10 25, t11 58, t12 50.
    assert rows(con, inputs, "teacher_age_bands") == [
        (1, "30-39", 1), (1, "50-54", 1), (1, "<30", 1),
        (2, "40-49", 2), (2, "55+", 2),
        (3, "50-54", 2), (3, "55+", 1), (3, "<30", 1),
    ]  # fmt: skip


def test_gender_titles_qualifications_subjects(con, inputs) -> None:
    assert rows(con, inputs, "teacher_gender") == [
        (1, "female", 2), (1, "male", 1), (2, "female", 1), (2, "male", 3), (3, "female", 3), (3, "male", 1),
    ]  # fmt: skip
    assert rows(con, inputs, "teacher_titles") == [
        (1, "first", 1), (1, "second", 1), (1, "senior", 1), (2, "first", 2), (2, "senior", 2),
        (3, "first", 2), (3, "none", 1), (3, "senior", 1),
    ]  # fmt: skip
    assert rows(con, inputs, "teacher_qualifications") == [
        (1, "bachelor", 1), (1, "master", 2), (2, "bachelor", 3), (2, "doctorate", 1),
        (3, "associate", 1), (3, "bachelor", 2), (3, "master", 1),
    ]  # fmt: skip
    assert rows(con, inputs, "teacher_subjects") == [
        (1, "chinese", 2), (1, "math", 1), (2, "chemistry", 1), (2, "math", 2), (2, "physics", 1),
        (3, "music", 1), (3, "preschool", 3),
    ]  # fmt: skip


def test_tenure(con, inputs) -> None:
    # Whole years since joining: t1 16, t2 8, t3 5; t5 26, t6 5 (joined 16 Sep 2020), t7 7,
    # t14 2; t9 14, t10 2, t11 no date, t12 10.
    assert rows(con, inputs, "teacher_tenure") == [
        (1, "15+", 1), (1, "3-5", 1), (1, "6-9", 1),
        (2, "15+", 1), (2, "3-5", 1), (2, "6-9", 1), (2, "<3", 1),
        (3, "10-14", 2), (3, "<3", 1), (3, "unknown", 1),
    ]  # fmt: skip


def test_retirements_due(con, inputs) -> None:
    # Women retire at 55, men at 60. t1 on 2027-03-01 and t5 on 2027-06-30: within a year;
    # t9 on 2026-11-20: within a year; t11 reached 55 in 2023: overdue, counted in year 1;
    # t14 on 2029-01-10: two whole years and some months away, so in year 3.
    assert rows(con, inputs, "retirements_due") == [
        (1, "chinese", 1, 1), (2, "chemistry", 3, 1), (2, "math", 1, 1), (3, "preschool", 1, 2),
    ]  # fmt: skip


def test_retirement_ages_are_configurable(con) -> None:
    tables = {name: ibis.memtable(t) for name, t in handmade.tables().items()}
    later = Inputs(tables=tables, as_of=handmade.AS_OF, policy=handmade.POLICY.with_overrides(
        {"retirement_age": {"male": 63, "female": 58}}))  # fmt: skip
    # At 58 and 63: t11 reached 58 on 2026-04-04 (overdue, year 1); t9 turns 58 on 2029-11-20,
    # t1 on 2030-03-01 and t5 63 on 2030-06-30 (three whole years away: year 4); t14 turns 63
    # in 2032, beyond the five years.
    assert rows(con, later, "retirements_due") == [
        (1, "chinese", 4, 1), (2, "math", 4, 1), (3, "preschool", 1, 1), (3, "preschool", 4, 1),
    ]  # fmt: skip


def test_workload(con, inputs) -> None:
    # School 1: 8 + 8 + 10 periods over three teachers. School 2: t5 10 (not above 9 x 1.2),
    # t7 4, t6 and t14 none. School 3: t9 25 periods, above 10 x 1.2. Retired t4's stale
    # assignment does not count.
    assert rows(con, inputs, "teacher_workload") == [
        (1, 3, 8.67, 0, 0),
        (2, 4, 3.5, 0, 2),
        (3, 4, 6.25, 1, 3),
    ]


def test_staffing_standard(con, inputs) -> None:
    # Enrolled students in classes: 46 + 57 primary, 50 + 66 junior, 31 kindergarten (the
    # transferred student and the one without a class do not count).
    # Required: 103 / 19 = 5.421, 116 / 13.5 = 8.593, 31 / 15 = 2.067.
    assert rows(con, inputs, "staffing_standard") == [
        (1, 103, 3, 5.42, -2.42, 34.33),
        (2, 116, 4, 8.59, -4.59, 29.0),
        (3, 31, 4, 2.07, 1.93, 7.75),
    ]


def test_subject_shortage(con, inputs) -> None:
    # School 1 (two primary classes): chinese 2 x 8 = 16 periods = 1.6 FTE at 10 a week, math
    # 10 periods = 1.0 FTE; its teaching week is 26 / 2.6 = 10. School 2 (two junior classes):
    # math 10 periods = 10/9 FTE, physics 4 = 4/9, biology 2 = 2/9; week 9. School 3: 25
    # preschool periods = 2.5 FTE; week 10. Chemistry and music teachers have no classes.
    assert rows(con, inputs, "subject_shortage") == [
        (1, "chinese", 16.0, 1.6, 2, 20.0, 4.0, -0.4),
        (1, "math", 10.0, 1.0, 1, 10.0, 0.0, 0.0),
        (2, "biology", 2.0, 0.22, 0, 0.0, -2.0, 0.22),
        (2, "chemistry", 0.0, 0.0, 1, 9.0, 9.0, -1.0),
        (2, "math", 10.0, 1.11, 2, 18.0, 8.0, -0.89),
        (2, "physics", 4.0, 0.44, 1, 9.0, 5.0, -0.56),
        (3, "music", 0.0, 0.0, 1, 10.0, 10.0, -1.0),
        (3, "preschool", 25.0, 2.5, 3, 30.0, 5.0, -0.5),
    ]
    assert rows(con, inputs, "subject_shortage_district") == [
        ("biology", 0.22, 0, 0.22, 1, 0.22),
        ("chemistry", 0.0, 1, -1.0, 0, 0.0),
        ("chinese", 1.6, 2, -0.4, 0, 0.0),
        ("math", 2.11, 3, -0.89, 0, 0.0),
        ("music", 0.0, 1, -1.0, 0, 0.0),
        ("physics", 0.44, 1, -0.56, 0, 0.0),
        ("preschool", 2.5, 3, -0.5, 0, 0.0),
    ]


def test_hiring_plan(con, inputs) -> None:
    # School 1 chinese: 1.6 FTE needed, 2 teachers of whom t1 retires: 0.6 short, less the
    # 0.3 tolerance, rounded up: 1 hire. School 3 preschool: 2.5 - (3 - 2) = 1.5: 2 hires.
    # School 2 biology is 0.22 short, inside the tolerance; math 1.11 - (2 - 1) = 0.11.
    assert rows(con, inputs, "hiring_plan") == [
        (1, "chinese", 1.6, 2, 1, 0.6, 1),
        (3, "preschool", 2.5, 3, 2, 1.5, 2),
    ]
    assert rows(con, inputs, "hiring_plan_by_subject") == [("preschool", 1, 1.5, 2), ("chinese", 1, 0.6, 1)]


def test_class_sizes_and_seats(con, inputs) -> None:
    # Standards: kindergarten 30, primary 45, junior 50; 大班额 from 56, 超大班额 from 66.
    assert rows(con, inputs, "class_sizes", ["class_id", "students", "standard", "band"]) == [
        (101, 46, 45, "over_standard"), (102, 57, 45, "large"), (201, 50, 50, "normal"),
        (202, 66, 50, "super_large"), (301, 31, 30, "over_standard"),
    ]  # fmt: skip
    assert rows(con, inputs, "class_size_summary") == [
        (1, 2, 103, 51.5, 57, 2, 1, 0), (2, 2, 116, 58.0, 66, 1, 0, 1), (3, 1, 31, 31.0, 31, 1, 0, 0),
    ]  # fmt: skip
    assert rows(con, inputs, "seats_vs_demand") == [
        (1, "primary", 2, 90, 103, -13, 1.1444),
        (2, "junior", 2, 100, 116, -16, 1.16),
        (3, "kindergarten", 1, 30, 31, -1, 1.0333),
    ]


def test_school_age_children(con, inputs) -> None:
    # Next school years 2027 and 2028: primary entrants born 2021 and 2022 (age 6),
    # kindergarten entrants born 2024 and 2025 (age 3).
    assert rows(con, inputs, "school_age_children") == [
        ("Z1", 2027, "primary", 100), ("Z1", 2028, "primary", 80),
        ("Z2", 2027, "kindergarten", 40), ("Z2", 2028, "kindergarten", 50),
    ]  # fmt: skip


def test_enrolment_projection_and_seat_gap(con, inputs) -> None:
    # Zone 1 in 2027: grade 1 (46) moves to grade 2, 100 children born 2021 enter grade 1:
    # 146 primary; grade 6 (57) enters junior at 0.9 = 51.3, plus grade 7 (50) moving up:
    # 101.3 junior; grade 9 (66) enters senior at 0.5 = 33. In 2028 the 80 born 2022 enter
    # too: 226 primary. Zone 2: nursery (31) plus 40 born 2024 at 0.9 take-up = 67; in 2028
    # plus 50 born 2025 at 0.9 = 112.
    expected = [
        ("Z1", 2027, "junior", 101.3), ("Z1", 2027, "primary", 146.0), ("Z1", 2027, "senior", 33.0),
        ("Z1", 2028, "junior", 101.3), ("Z1", 2028, "primary", 226.0), ("Z1", 2028, "senior", 33.0),
        ("Z2", 2027, "kindergarten", 67.0), ("Z2", 2028, "kindergarten", 112.0),
    ]  # fmt: skip
    assert rows(con, inputs, "enrolment_projection") == expected
    # Seats: zone 1 has 2 x 45 primary and 2 x 50 junior seats and no senior school;
    # zone 2 one kindergarten class of 30.
    seats = {"primary": 90, "junior": 100, "senior": 0, "kindergarten": 30}
    assert rows(con, inputs, "seat_gap") == [
        (z, y, s, p, seats[s], round(p - seats[s], 2)) for z, y, s, p in expected
    ]


def test_rotation(con, inputs) -> None:
    # Six years or more at one school and not retiring within three: t2 (8 years), t7 (7),
    # t12 (10). t1, t5 and t9 are long-serving but retire within a year; t3 is on contract;
    # t11's join date is unknown. Surplus first: music at school 3 (1 teacher, no classes),
    # physics at school 2 (1 - 0.44), chinese at school 1 (2 - 1.6).
    assert rows(con, inputs, "rotation_candidates", ["teacher_id", "age", "years_at_school",
                                                      "subject_surplus_fte"]) == [
        (12, 50, 10, 1.0), (7, 45, 7, 0.56), (2, 35, 8, 0.4),
    ]  # fmt: skip
    assert rows(con, inputs, "rotation_by_school") == [(1, 3, 1, 0.3333), (2, 4, 1, 0.25), (3, 4, 1, 0.25)]


def test_rotation_limit_is_configurable(con) -> None:
    tables = {name: ibis.memtable(t) for name, t in handmade.tables().items()}
    stricter = Inputs(
        tables=tables, as_of=handmade.AS_OF, policy=handmade.POLICY.with_overrides({"rotation_years": 9})
    )
    assert rows(con, stricter, "rotation_candidates", ["teacher_id"]) == [(12,)]


def test_trends(con, inputs) -> None:
    # A year before: classes 101 (40 students) and 201 (45), no quality school, teachers 1, 2
    # and 5 with the titles they had then. Now school 1 is a quality school: 103 of the 219
    # compulsory-education students are in it.
    assert rows(con, inputs, "quality_seat_share") == [
        (dt.date(2025, 9, 15), "compulsory", 85, 0, 0.0),
        (dt.date(2025, 9, 15), "junior", 45, 0, 0.0),
        (dt.date(2025, 9, 15), "primary", 40, 0, 0.0),
        (dt.date(2026, 9, 15), "compulsory", 219, 103, 0.4703),
        (dt.date(2026, 9, 15), "junior", 116, 0, 0.0),
        (dt.date(2026, 9, 15), "kindergarten", 31, 0, 0.0),
        (dt.date(2026, 9, 15), "primary", 103, 103, 1.0),
    ]
    assert rows(con, inputs, "titles_over_time") == [
        (dt.date(2025, 9, 15), "first", 1), (dt.date(2025, 9, 15), "second", 1),
        (dt.date(2025, 9, 15), "senior", 1), (dt.date(2026, 9, 15), "first", 5),
        (dt.date(2026, 9, 15), "none", 1), (dt.date(2026, 9, 15), "second", 1),
        (dt.date(2026, 9, 15), "senior", 4),
    ]  # fmt: skip
    # Now: 251 enrolled students (the classless one counts as enrolled), 11 active teachers.
    assert rows(con, inputs, "headcount_over_time") == [
        (dt.date(2025, 9, 15), 3, 2, 3, 85, 28.33),
        (dt.date(2026, 9, 15), 3, 5, 11, 251, 22.82),
    ]


def test_school_kpis(con, inputs) -> None:
    assert rows(con, inputs, "school_kpis", ["school_id", "students", "classes", "teachers", "required_teachers",
                                              "large_classes", "retiring_5y", "shortage_fte", "hires"]) == [
        (1, 103, 2, 3, 5.42, 1, 1, 0.0, 1),
        (2, 116, 2, 4, 8.59, 1, 2, 0.22, 0),
        (3, 31, 1, 4, 2.07, 0, 2, 0.0, 2),
    ]  # fmt: skip


def test_early_warnings(con, inputs) -> None:
    got = sorted(
        rows(con, inputs, "early_warnings", ["kind", "severity", "actor", "school_id", "class_id", "zone",
                                              "subject", "stage", "year", "value"]),
        key=repr,
    )  # fmt: skip
    expected = [
        ("shortage", "medium", "personnel", 1, None, "Z1", "chinese", None, 2027, 0.6),
        ("shortage", "high", "personnel", 3, None, "Z2", "preschool", None, 2027, 1.5),
        ("large_class", "medium", "basic_education", 1, 102, "Z1", None, "primary", 2026, 57.0),
        ("large_class", "high", "basic_education", 2, 202, "Z1", None, "junior", 2026, 66.0),
    ]
    # Every projected seat gap is positive: 2027 is next year (high), 2028 the year after.
    for zone, stage, gaps in (("Z1", "junior", (1.3, 1.3)), ("Z1", "primary", (56.0, 136.0)),
                              ("Z1", "senior", (33.0, 33.0)), ("Z2", "kindergarten", (37.0, 82.0))):  # fmt: skip
        for year, severity, gap in zip((2027, 2028), ("high", "medium"), gaps, strict=True):
            expected.append(("seat_gap", severity, "planning", None, None, zone, None, stage, year, gap))
    assert got == sorted(expected, key=repr)


def test_policy_rejects_unknown_settings() -> None:
    with pytest.raises(ValueError, match="retirement_agee"):
        Policy().with_overrides({"retirement_agee": {}})


def test_policy_fingerprint_follows_the_norms() -> None:
    assert Policy().fingerprint() == Policy().fingerprint()
    assert Policy().fingerprint() != Policy(rotation_years=5).fingerprint()
