"""The catalogue's titles and descriptions in the viewer's language (the pure catalogue keeps
English only; these literals are what makemessages extracts)."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

VIEW_TEXT: dict[str, tuple[Promise, Promise]] = {
    "teacher_age_bands": (
        _("Teachers by age band"),
        _("Active teachers per school and age band (age on the snapshot day)."),
    ),
    "teacher_gender": (
        _("Teachers by gender"),
        _("Active teachers per school and gender."),
    ),
    "teacher_titles": (
        _("Teachers by professional title"),
        _("Active teachers per school and professional title."),
    ),
    "teacher_qualifications": (
        _("Teachers by qualification"),
        _("Active teachers per school and highest qualification."),
    ),
    "teacher_subjects": (
        _("Teachers by subject"),
        _("Active teachers per school and subject."),
    ),
    "teacher_tenure": (
        _("Years at the current school"),
        _("Active teachers per school and band of whole years since joining it."),
    ),
    "retirements_due": (
        _("Retirements due"),
        _("Active teachers reaching retirement age in each of the next years, per school and subject."),
    ),
    "teacher_workload": (
        _("Teaching load"),
        _("Assigned weekly periods per teacher against a full week, summed per school."),
    ),
    "staffing_standard": (
        _("Staffing against the standard"),
        _("Teachers required by the teacher-to-student ratios of each stage against active teachers."),
    ),
    "subject_shortage": (
        _("Structural shortage by subject"),
        _(
            "Periods the curriculum requires for each school's classes against the periods its teachers of that subject can give."
        ),
    ),
    "subject_shortage_district": (
        _("District shortage by subject"),
        _("The structural shortage summed over schools, per subject."),
    ),
    "hiring_plan": (
        _("Proposed hiring plan"),
        _("Hires per school and subject for next year: shortage after this year's retirements."),
    ),
    "hiring_plan_by_subject": (
        _("Hiring plan by subject"),
        _("The proposed hires summed per subject."),
    ),
    "class_sizes": (
        _("Class sizes"),
        _("Every class with its enrolled students and size band."),
    ),
    "class_size_summary": (
        _("Class sizes by school"),
        _("Classes, mean and largest size and classes over the limits, per school."),
    ),
    "seats_vs_demand": (
        _("Seats against demand"),
        _("Seats (classes x standard size) against enrolled students, per school and stage."),
    ),
    "school_age_children": (
        _("School-age children"),
        _("Children reaching kindergarten and primary entry age in the next years, per zone."),
    ),
    "enrolment_projection": (
        _("Enrolment projection"),
        _("Projected students per zone, stage and school year from the cohorts and births."),
    ),
    "seat_gap": (
        _("Seat gap by zone"),
        _("Projected students against today's seats, per zone and stage."),
    ),
    "rotation_candidates": (
        _("Rotation candidates"),
        _("Established teachers at one school for the rotation limit or longer, not about to retire."),
    ),
    "rotation_by_school": (
        _("Rotation candidates by school"),
        _("Rotation candidates and their share of each school's teachers."),
    ),
    "quality_seat_share": (
        _("Students in quality schools"),
        _("Share of enrolled students in quality schools per snapshot and stage."),
    ),
    "titles_over_time": (
        _("Teachers by title over time"),
        _("Active teachers per snapshot and title."),
    ),
    "headcount_over_time": (
        _("Schools, classes, teachers and students over time"),
        _("Counts per snapshot."),
    ),
    "school_kpis": (
        _("School overview"),
        _("One row per school: the figures of the overview."),
    ),
    "early_warnings": (
        _("Early warnings"),
        _("Shortage next year, classes over the large-class limit and zones short of seats, with who acts."),
    ),
}
