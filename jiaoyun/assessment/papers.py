"""Importing the structure of an exam's papers from a spreadsheet: one row per item, with
its subject, number, full marks, kind, answer key, options, knowledge points, ability level
and question type. All or nothing; re-importing the same file changes nothing."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from jiaoyun.assessment.models import Exam, Item, Paper
from jiaoyun.core.models import Subject
from jiaoyun.exchange.formats import Column, match_header
from jiaoyun.exchange.messages import MESSAGES as EXCHANGE_MESSAGES
from jiaoyun.exchange.messages import Issue
from jiaoyun.exchange.reader import UnreadableFile, read_table
from jiaoyun.exchange.values import key_text, text

MESSAGES = {
    **EXCHANGE_MESSAGES,
    "bad_marks": _("Not a full mark: write a number above 0 in steps of 0.5, up to 150."),
    "bad_kind": _("Not an item kind: write 客观题 (or 单选/多选/判断) or 主观题 (or 填空/解答)."),
    "key_required": _("An objective item needs its answer key, such as B or ACD."),
    "bad_key": _("The answer key must be letters among %(options)s."),
    "bad_options": _("The number of options must be between 2 and 8."),
    "bad_ability": _("Not an ability level: write 识记, 理解, 应用 or 综合."),
    "duplicate_item": _("Item %(item)s of %(subject)s is also in row %(other_row)s."),
    "paper_has_scores": _(
        "Scores of %(subject)s are already imported; the structure of its paper can no longer change."
    ),
}

COLUMNS = (
    Column("subject", "科目", ("学科", "subject"), required=True),
    Column("number", "题号", ("题目", "小题", "item", "number"), required=True),
    Column("max_score", "满分", ("分值", "full marks", "marks"), required=True),
    Column("kind", "题型", ("客观/主观", "kind"), required=True),
    Column("key", "答案", ("标准答案", "key")),
    Column("options", "选项数", ("选项个数", "options")),
    Column("knowledge_points", "知识点", ("考点", "knowledge points")),
    Column("ability", "能力层级", ("能力", "认知层次", "ability")),
    Column("question_type", "题目类型", ("题类", "question type")),
)
OBJECTIVE_WORDS = {
    "客观题",
    "客观",
    "选择题",
    "选择",
    "单选",
    "单选题",
    "多选",
    "多选题",
    "判断",
    "判断题",
    "objective",
}
SUBJECTIVE_WORDS = {"主观题", "主观", "填空", "填空题", "解答", "解答题", "作文", "subjective"}
ABILITIES = {a.value for a in Item.Ability}


@dataclass
class ItemRow:
    row: int
    subject: Subject
    number: str
    max_score: Decimal
    objective: bool
    key: str
    options: int
    knowledge_points: str
    ability: str
    question_type: str


@dataclass
class PaperImport:
    issues: list[Issue]
    papers: int = 0
    items: int = 0
    changed: bool = False


def read_structure(data: bytes) -> tuple[list[ItemRow], list[Issue]]:
    try:
        rows = [(n, cells) for n, cells in read_table(data).rows if any(text(c) for c in cells)]
    except UnreadableFile:
        return [], [Issue(None, "", "", "unreadable")]
    if len(rows) < 2:
        return [], [Issue(None, "", "", "empty")]
    header_row, header_cells = rows[0]
    match = match_header(header_row, header_cells, COLUMNS)
    missing = [c for c in COLUMNS if c.required and c.key not in match.positions]
    if missing:
        return [], [Issue(header_row, "", "", "missing_column", {"column": c.header}) for c in missing]
    subjects = {key_text(s.name): s for s in Subject.objects.all()}
    subjects.update({key_text(s.code): s for s in Subject.objects.all()})
    issues: list[Issue] = []
    items: list[ItemRow] = []
    seen: dict[tuple[int, str], int] = {}

    for n, cells in rows[1:]:

        def cell(key: str, cells: list = cells) -> str:
            pos = match.positions.get(key)
            return text(cells[pos]) if pos is not None and pos < len(cells) else ""

        def bad(key: str, code: str, n: int = n, **params: object) -> None:
            issues.append(Issue(n, match.headers.get(key, ""), cell(key), code, dict(params)))

        before = len(issues)
        subject = subjects.get(key_text(cell("subject")))
        if not cell("subject"):
            bad("subject", "required")
        elif subject is None:
            bad("subject", "unknown_subject", accepted="、".join(sorted({s.name for s in subjects.values()})))
        number = cell("number").replace("（", "(").replace("）", ")").replace(" ", "")
        if not number:
            bad("number", "required")
        try:
            marks = Decimal(cell("max_score"))
            if not (0 < marks <= 150) or (marks * 2) % 1:
                raise InvalidOperation
        except InvalidOperation:
            bad("max_score", "bad_marks")
            marks = Decimal(0)
        kind = key_text(cell("kind"))
        objective = kind in OBJECTIVE_WORDS
        if not objective and kind not in SUBJECTIVE_WORDS:
            bad("kind", "bad_kind")
        options = 4
        if cell("options"):
            if not cell("options").isdigit() or not 2 <= int(cell("options")) <= 8:
                bad("options", "bad_options")
            else:
                options = int(cell("options"))
        key = re.sub(r"[\s,，、]", "", cell("key").upper())
        if objective:
            allowed = "ABCDEFGH"[:options]
            if not key:
                bad("key", "key_required")
            elif not re.fullmatch(f"[{allowed}]+", key):
                bad("key", "bad_key", options=allowed)
        ability = cell("ability")
        if ability and ability not in ABILITIES:
            bad("ability", "bad_ability")
        if subject is not None and number:
            other = seen.get((subject.pk, number))
            if other is not None:
                bad("number", "duplicate_item", item=number, subject=subject.name, other_row=other)
            else:
                seen[(subject.pk, number)] = n
        if len(issues) == before and subject is not None:
            items.append(ItemRow(
                row=n, subject=subject, number=number, max_score=marks, objective=objective,
                key="".join(sorted(set(key))) if objective else "", options=options if objective else 0,
                knowledge_points=cell("knowledge_points"), ability=ability, question_type=cell("question_type"),
            ))  # fmt: skip
    return items, issues


def import_structure(*, exam: Exam, data: bytes) -> PaperImport:
    rows, issues = read_structure(data)
    if issues:
        return PaperImport(issues=issues)
    by_subject: dict[int, list[ItemRow]] = {}
    for r in rows:
        by_subject.setdefault(r.subject.pk, []).append(r)
    changed = False
    with transaction.atomic():
        for subject_id, subject_rows in by_subject.items():
            paper, created = Paper.objects.get_or_create(exam=exam, subject_id=subject_id)
            wanted = [
                (i, r.number, r.max_score, Item.Kind.OBJECTIVE if r.objective else Item.Kind.SUBJECTIVE, r.key,
                 r.options, r.knowledge_points, r.ability, r.question_type)
                for i, r in enumerate(subject_rows, start=1)
            ]  # fmt: skip
            existing = list(
                paper.items.order_by("position").values_list(
                    "position",
                    "number",
                    "max_score",
                    "kind",
                    "key",
                    "option_count",
                    "knowledge_points",
                    "ability",
                    "question_type",
                )
            )
            if existing == wanted:
                continue
            if paper.scores_version:
                issues.append(
                    Issue(subject_rows[0].row, "", "", "paper_has_scores", {"subject": paper.subject.name})
                )
                continue
            changed = True
            paper.items.all().delete()
            Item.objects.bulk_create(
                Item(paper=paper, position=w[0], number=w[1], max_score=w[2], kind=w[3], key=w[4],
                     option_count=w[5], knowledge_points=w[6], ability=w[7], question_type=w[8])
                for w in wanted
            )  # fmt: skip
        if issues:
            transaction.set_rollback(True)
            return PaperImport(issues=issues)
    return PaperImport(issues=[], papers=len(by_subject), items=len(rows), changed=changed)
