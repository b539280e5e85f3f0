"""Score sheets: letters scored against the key, absent and blank students, and every
problem reported with its row and column."""

from __future__ import annotations

import polars as pl
import pytest

from jiaoyun.assessment.scoresheets import ItemSpec, normalize_item_header, read_score_sheet, score_letters

ITEMS = [
    ItemSpec(item_id=11, number="1", max_score=3, objective=True, key="B", option_count=4),
    ItemSpec(item_id=12, number="2", max_score=6, objective=True, key="AC", option_count=4),
    ItemSpec(item_id=13, number="13(1)", max_score=10, objective=False),
]
ROSTER = pl.DataFrame(
    {
        "student_no": ["G1", "G2", "G3", "G4"],
        "student_id": [101, 102, 103, 104],
        "name": ["张三", "李四", "王五", "赵六"],
        "school_id": [1, 1, 2, 2],
        "class_id": [10, 10, 20, None],
    },
    schema_overrides={"class_id": pl.Int64},
)


def sheet(*rows: str) -> bytes:
    return ("\n".join(("全国学籍号,姓名,第1题,2题,13（1）,状态", *rows)) + "\n").encode("gbk")


def test_headers_are_matched_in_the_forms_scanners_write():
    assert normalize_item_header("第13题") == "13"
    assert normalize_item_header("Q13") == "13"
    assert normalize_item_header(" 13（2） ") == "13(2)"


@pytest.mark.parametrize(
    ("chosen", "expected"), [("AC", 6.0), ("A", 3.0), ("C", 3.0), ("AB", 0.0), ("ABC", 0.0), ("", 0.0)]
)
def test_multiple_choice_scoring(chosen, expected):
    assert score_letters(chosen, "AC", 6.0, 0.5) == expected


def test_scores_letters_blanks_and_absences():
    result = read_score_sheet(
        sheet("G1,张三,b,CA,7.5,", "G2,李四,3,a,,", "G3,王五,,,,", "G4,赵六,D,AC,10,缺考"),
        items=ITEMS,
        roster=ROSTER,
    )
    assert result.issues == []
    assert (result.present, result.absent) == (2, 2)
    # Rows come item by item; their order carries no meaning.
    rows = sorted(result.scores.to_pylist(), key=lambda r: (r["student_id"], r["item_id"]))
    assert rows == [
        {"student_id": 101, "school_id": 1, "class_id": 10, "item_id": 11, "score": 3.0, "option": "B"},
        {"student_id": 101, "school_id": 1, "class_id": 10, "item_id": 12, "score": 6.0, "option": "AC"},
        {"student_id": 101, "school_id": 1, "class_id": 10, "item_id": 13, "score": 7.5, "option": None},
        # A number in an objective column is a score; its option is unknown.
        {"student_id": 102, "school_id": 1, "class_id": 10, "item_id": 11, "score": 3.0, "option": None},
        {"student_id": 102, "school_id": 1, "class_id": 10, "item_id": 12, "score": 3.0, "option": "A"},
        # A blank item of a present student: 0 points, "no answer".
        {"student_id": 102, "school_id": 1, "class_id": 10, "item_id": 13, "score": 0.0, "option": None},
    ]
    sittings = {r["student_id"]: r["absent"] for r in result.sittings.to_pylist()}
    assert sittings == {101: False, 102: False, 103: True, 104: True}


def test_every_problem_has_its_row_and_column():
    result = read_score_sheet(
        sheet(
            "G1,张三,E,AC,11,",  # option E does not exist; 11 > 10
            "G9,无名,A,A,1,",  # unknown student
            "G2,李三,A,A,2.3,",  # wrong name; 2.3 is off the 0.5 step
            "G1,张三,A,A,1,",  # duplicate of row 2
            ",,A,A,1,",  # no student number
            "G3,王五,A,A,x,",  # not a score
        ),
        items=ITEMS,
        roster=ROSTER,
    )
    got = [(i.row, i.column, i.value, i.code) for i in result.issues]
    assert got == [
        (2, "13（1）", "11", "score_out_of_range"),
        (2, "第1题", "E", "bad_option"),
        (3, "全国学籍号", "G9", "unknown_student"),
        (4, "13（1）", "2.3", "score_step"),
        (4, "姓名", "李三", "name_mismatch"),
        (5, "全国学籍号", "G1", "duplicate_student"),
        (6, "全国学籍号", "", "required"),
        (7, "13（1）", "x", "not_a_score"),
    ]
    assert result.scores is None


def test_a_missing_item_column_is_reported_once_for_the_file():
    data = "全国学籍号,姓名,1,2\nG1,张三,A,AC\n".encode()
    result = read_score_sheet(data, items=ITEMS, roster=ROSTER)
    assert [(i.row, i.code, i.params) for i in result.issues] == [
        (1, "missing_item_column", {"item": "13(1)"})
    ]
