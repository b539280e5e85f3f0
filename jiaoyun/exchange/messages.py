"""What is wrong with a cell, a row or a file, in the reader's language.

An import stores its problems as plain data (`Issue.as_dict`: row, column, value, code and
parameters) and they are put into words when shown, so that the same job reads in Chinese
for one viewer and in English for another.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

MESSAGES: dict[str, Promise] = {
    # The file as a whole.
    "unreadable": _("The file cannot be read as an Excel workbook or a CSV file."),
    "empty": _("The file has no data rows under the header row."),
    "no_header": _(
        "No header row found: the first row must name the columns, as in the template (for example %(example)s)."
    ),
    "missing_column": _("The column “%(column)s” is missing."),
    "duplicate_column": _("This column and column “%(other)s” both mean “%(column)s”; keep one of them."),
    "too_many_rows": _("The file has more than %(limit)s rows; split it into smaller files."),
    "internal": _(
        "The import stopped because of an unexpected problem; nothing was changed. Please try again."
    ),
    "register_changed": _(
        "The register was changed by someone else while this file was imported; nothing was changed. "
        "Please run the import again."
    ),
    # One value.
    "required": _("This value is required."),
    "too_long": _("Longer than %(max)s characters."),
    "bad_date": _("Not a date: write it as 2012-09-01, 2012/9/1 or 20120901."),
    "impossible_date": _("There is no such date."),
    "date_out_of_range": _("The date must lie between %(low)s and %(high)s."),
    "bad_year": _("Not a year: write it as 2012."),
    "year_out_of_range": _("The year must lie between %(low)s and %(high)s."),
    "bad_choice": _("Not one of the accepted values: %(accepted)s."),
    "bad_class": _("Not a class number: write it as 3, 3班 or (3)班."),
    "bad_number": _("Not a whole number."),
    "bad_phone": _(
        "Not a phone number: write an 11-digit mobile number or a landline number with its area code."
    ),
    "bad_student_no": _("A national student number is 1 to 20 letters and digits."),
    "bad_staff_no": _("A staff number is 1 to 20 letters, digits or hyphens."),
    "id_format": _("An ID number is 17 digits followed by a digit or X."),
    "id_birth_date": _("The birth date inside the ID number (digits 7 to 14) does not exist."),
    "id_check_digit": _(
        "The last character of the ID number does not match its check digit (GB 11643): "
        "look for a mistyped digit."
    ),
    "id_lost_digits": _(
        "The ID number was stored as a number and Excel has dropped its last digits: "
        "format the column as text and type the number again."
    ),
    "id_birth_mismatch": _("The birth date does not match the ID number, which says %(expected)s."),
    "id_gender_mismatch": _("The gender does not match the ID number, which says %(expected)s."),
    # The register.
    "unknown_school": _("No school with this code or name in the register."),
    "school_mismatch": _("The school code and the school name belong to different schools."),
    "school_out_of_scope": _("You may not import into this school."),
    "school_not_of_job": _("This import is for %(school)s only."),
    "unknown_grade": _("Not a grade: write it as 七年级, 初一 or 7."),
    "grade_not_in_school": _("%(school)s has no grade %(grade)s."),
    "level_not_in_school": _("%(school)s does not teach grade %(grade)s."),
    "unknown_class": _("%(school)s has no class %(class)s in grade %(grade)s."),
    "unknown_subject": _("No such subject; the register knows %(accepted)s."),
    "unknown_teacher": _("No teacher with this staff number at this school."),
    "unknown_campus": _("%(school)s has no campus of this name."),
    "guardian_incomplete": _("A guardian needs both a name and a phone number."),
    # Duplicates and conflicts.
    "duplicate_in_file": _("The same value is also in row %(other_row)s of this file."),
    "guardian_name_conflict": _(
        "This phone number is given for a guardian named %(other)s in row %(other_row)s."
    ),
    "id_taken_student": _(
        "This ID number belongs to another student in the register (national student number %(other)s)."
    ),
    "id_taken_teacher": _(
        "This ID number belongs to another teacher in the register (staff number %(other)s)."
    ),
    "guardian_phone_taken": _(
        "This phone number belongs to a guardian named %(other)s of other students in the register."
    ),
    "student_other_school": _(
        "This student is registered at %(school)s: a transfer between schools is made by the district "
        "or by that school."
    ),
    "teacher_other_school": _(
        "This teacher works at %(school)s: a move between schools is made by the district or by that school."
    ),
}


@dataclass
class Issue:
    """One problem: where (row and column as the user sees them in the spreadsheet),
    the value found, and what is wrong (a key of MESSAGES and its parameters)."""

    row: int | None
    column: str
    value: str
    code: str
    params: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "column": self.column,
            "value": self.value,
            "code": self.code,
            "params": self.params,
        }


def describe(code: str, params: dict[str, Any] | None = None) -> str:
    from jiaoyun.core.models import Gender

    template = MESSAGES.get(code, MESSAGES["internal"])
    if not params:
        return str(template)
    params = dict(params)
    # Stored values, not words: put them into the reader's language here.
    if "expected_gender" in params:
        params["expected"] = str(Gender(params.pop("expected_gender")).label)
    try:
        return str(template) % params
    except (KeyError, ValueError, TypeError):  # a catalogue entry out of step with the code
        return str(template)
