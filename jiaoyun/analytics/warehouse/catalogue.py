"""The catalogue of statistical views: each name, what it counts, from which tables, and the
function that computes it. docs/warehouse.md describes each one; pages, exports, the bench
and the DuckDB/Spark equality test all go through `compute`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

import ibis
from ibis import Table

from jiaoyun.analytics.warehouse import classes, overview, projection, rotation, staffing, teachers, trends
from jiaoyun.analytics.warehouse.common import at, school_year_of
from jiaoyun.analytics.warehouse.policy import Policy
from jiaoyun.analytics.warehouse.schema import BIRTHS, SNAPSHOT_TABLES


@dataclass
class Inputs:
    """The lake's tables (every snapshot), the day to report on and the norms. `current`
    gives a table as it stood on `as_of`; derived tables are built once per Inputs."""

    tables: dict[str, Table]
    as_of: dt.date
    policy: Policy = field(default_factory=Policy)
    # Given, each view's expression is handed to it once and its return value stands for the
    # view in the views built on it: the materialisation runs a view, keeps the result and
    # returns it as a small in-memory table, so no view is computed twice.
    keep: Callable[[str, Table], Table] | None = None
    _memo: dict[str, Table] = field(default_factory=dict, repr=False)

    def current(self, name: str) -> Table:
        if name == "births":
            return self.births
        return self._once(f"current:{name}", lambda: at(self.tables[name], self.as_of))

    def history(self, name: str) -> Table:
        return self.tables[name]

    @property
    def births(self) -> Table:
        if "births" in self.tables:
            return self.tables["births"]
        return self._once("births", lambda: ibis.memtable(BIRTHS.empty_table()))

    def view(self, name: str) -> Table:
        def make() -> Table:
            expr = VIEWS[name].compute(self)
            return self.keep(name, expr) if self.keep else expr

        return self._once(f"view:{name}", make)

    def _once(self, key: str, make: Callable[[], Table]) -> Table:
        if key not in self._memo:
            self._memo[key] = make()
        return self._memo[key]


@dataclass(frozen=True)
class View:
    name: str
    title: str
    counts: str
    sources: tuple[str, ...]
    compute: Callable[[Inputs], Table]
    # The column that ties a row to a school (for scoping and drill-down); None for views of
    # the district as a whole.
    school_column: str | None = "school_id"
    over_time: bool = False


def _views() -> list[View]:
    P = "policy"
    return [
        View("teacher_age_bands", "Teachers by age band",
             "Active teachers per school and age band (age on the snapshot day).", ("teachers", P),
             lambda i: teachers.teacher_age_bands(i.current("teachers"), as_of=i.as_of, policy=i.policy)),
        View("teacher_gender", "Teachers by gender", "Active teachers per school and gender.", ("teachers",),
             lambda i: teachers.teacher_gender(i.current("teachers"))),
        View("teacher_titles", "Teachers by professional title",
             "Active teachers per school and professional title.", ("teachers",),
             lambda i: teachers.teacher_titles(i.current("teachers"))),
        View("teacher_qualifications", "Teachers by qualification",
             "Active teachers per school and highest qualification.", ("teachers",),
             lambda i: teachers.teacher_qualifications(i.current("teachers"))),
        View("teacher_subjects", "Teachers by subject", "Active teachers per school and subject.",
             ("teachers",), lambda i: teachers.teacher_subjects(i.current("teachers"))),
        View("teacher_tenure", "Years at the current school",
             "Active teachers per school and band of whole years since joining it.", ("teachers", P),
             lambda i: teachers.teacher_tenure(i.current("teachers"), as_of=i.as_of, policy=i.policy)),
        View("retirements_due", "Retirements due",
             "Active teachers reaching retirement age in each of the next years, per school and subject.",
             ("teachers", P),
             lambda i: teachers.retirements_due(i.current("teachers"), as_of=i.as_of, policy=i.policy)),
        View("teacher_workload", "Teaching load",
             "Assigned weekly periods per teacher against a full week, summed per school.",
             ("teachers", "assignments", "classes", P),
             lambda i: teachers.teacher_workload(i.current("teachers"), i.current("assignments"),
                                                 i.current("classes"), policy=i.policy)),
        View("staffing_standard", "Staffing against the standard",
             "Teachers required by the teacher-to-student ratios of each stage against active teachers.",
             ("students", "classes", "teachers", P),
             lambda i: staffing.staffing_standard(i.current("students"), i.current("classes"),
                                                  i.current("teachers"), policy=i.policy)),
        View("subject_shortage", "Structural shortage by subject",
             "Periods the curriculum requires for each school's classes against the periods its "
             "teachers of that subject can give.", ("classes", "teachers", P),
             lambda i: staffing.subject_shortage(i.current("classes"), i.current("teachers"), policy=i.policy)),
        View("subject_shortage_district", "District shortage by subject",
             "The structural shortage summed over schools, per subject.", ("classes", "teachers", P),
             lambda i: staffing.subject_shortage_district(i.view("subject_shortage")), school_column=None),
        View("hiring_plan", "Proposed hiring plan",
             "Hires per school and subject for next year: shortage after this year's retirements.",
             ("classes", "teachers", P),
             lambda i: staffing.hiring_plan(i.current("classes"), i.current("teachers"), as_of=i.as_of,
                                            policy=i.policy)),
        View("hiring_plan_by_subject", "Hiring plan by subject", "The proposed hires summed per subject.",
             ("classes", "teachers", P),
             lambda i: staffing.hiring_plan_by_subject(i.view("hiring_plan")), school_column=None),
        View("class_sizes", "Class sizes", "Every class with its enrolled students and size band.",
             ("classes", "students", P),
             lambda i: classes.class_sizes(i.current("classes"), i.current("students"), policy=i.policy)),
        View("class_size_summary", "Class sizes by school",
             "Classes, mean and largest size and classes over the limits, per school.",
             ("classes", "students", P), lambda i: classes.class_size_summary(i.view("class_sizes"))),
        View("seats_vs_demand", "Seats against demand",
             "Seats (classes x standard size) against enrolled students, per school and stage.",
             ("classes", "students", P), lambda i: classes.seats_vs_demand(i.view("class_sizes"))),
        View("school_age_children", "School-age children",
             "Children reaching kindergarten and primary entry age in the next years, per zone.",
             ("births", P),
             lambda i: projection.school_age_children(i.births, as_of=i.as_of, policy=i.policy),
             school_column=None),
        View("enrolment_projection", "Enrolment projection",
             "Projected students per zone, stage and school year from the cohorts and births.",
             ("students", "classes", "schools", "births", P),
             lambda i: projection.enrolment_projection(i.current("students"), i.current("classes"),
                                                       i.current("schools"), i.births, as_of=i.as_of,
                                                       policy=i.policy), school_column=None),
        View("seat_gap", "Seat gap by zone", "Projected students against today's seats, per zone and stage.",
             ("students", "classes", "schools", "births", P),
             lambda i: projection.seat_gap(i.view("enrolment_projection"), i.view("class_sizes"),
                                           i.current("schools")), school_column=None),
        View("rotation_candidates", "Rotation candidates",
             "Established teachers at one school for the rotation limit or longer, not about to retire.",
             ("teachers", "classes", P),
             lambda i: rotation.rotation_candidates(i.current("teachers"), i.view("subject_shortage"),
                                                    as_of=i.as_of, policy=i.policy)),
        View("rotation_by_school", "Rotation candidates by school",
             "Rotation candidates and their share of each school's teachers.", ("teachers", "classes", P),
             lambda i: rotation.rotation_by_school(i.current("teachers"), i.view("rotation_candidates"))),
        View("quality_seat_share", "Students in quality schools",
             "Share of enrolled students in quality schools per snapshot and stage.",
             ("students", "classes", "schools"),
             lambda i: trends.quality_seat_share(i.history("students"), i.history("classes"),
                                                 i.history("schools")), school_column=None, over_time=True),
        View("titles_over_time", "Teachers by title over time", "Active teachers per snapshot and title.",
             ("teachers",), lambda i: trends.titles_over_time(i.history("teachers")), school_column=None,
             over_time=True),
        View("headcount_over_time", "Schools, classes, teachers and students over time",
             "Counts per snapshot.", ("schools", "classes", "teachers", "students"),
             lambda i: trends.headcount_over_time(i.history("schools"), i.history("classes"),
                                                  i.history("teachers"), i.history("students")),
             school_column=None, over_time=True),
        View("school_kpis", "School overview", "One row per school: the figures of the overview.",
             ("schools", "students", "classes", "teachers", P),
             lambda i: overview.school_kpis(i.current("schools"), i.view("staffing_standard"),
                                            i.view("class_size_summary"), i.view("retirements_due"),
                                            i.view("subject_shortage"), i.view("hiring_plan"))),
        View("early_warnings", "Early warnings",
             "Shortage next year, classes over the large-class limit and zones short of seats, with who acts.",
             ("schools", "students", "classes", "teachers", "births", P),
             lambda i: overview.early_warnings(i.view("hiring_plan"), i.view("class_sizes"), i.view("seat_gap"),
                                               i.current("schools"), next_year=school_year_of(i.as_of) + 1)),
    ]  # fmt: skip


VIEWS: dict[str, View] = {v.name: v for v in _views()}
TABLES = (*SNAPSHOT_TABLES, "births")


def compute(inputs: Inputs, name: str) -> Table:
    """The Ibis expression of one view; nothing runs until it is executed on a backend."""
    return inputs.view(name)
