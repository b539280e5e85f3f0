"""Demo exams for the demo district: two rounds of joint exams (a prior and a current one)
of one grade in 语文, 数学 and 英语, with paper structures and item-level scores drawn from an
item-response model on the register's real students, classes and teachers, stored through
the same lake services as uploads, then analysed.

The model follows `jiaoyun.analytics.exams.simulate`: a student's ability is a district-wide
spread plus school and class effects; between the rounds each school and each subject
teacher (from the register's teaching assignments) adds value, so the value-added reports
have something true to find. Objective items are 3PL-like with a key and a distractor that
draws weaker students; subjective items follow the GPCM with whole-mark partial credit.
Deterministic by seed: numpy's generator, students in primary-key order.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
import pyarrow as pa
from django.db import transaction

from jiaoyun.assessment import services
from jiaoyun.assessment.models import Exam, Item, Paper
from jiaoyun.core.models import GRADE_ALIASES, Student, Subject, TeachingAssignment, Term

OPTIONS = ("A", "B", "C", "D")


@dataclass(frozen=True)
class PaperPlan:
    code: str  # Subject.code
    objective: int  # how many objective items
    objective_marks: float
    subjective: tuple[int, ...]  # full marks of each subjective item
    knowledge_points: tuple[str, ...]


PAPERS = (
    PaperPlan("chinese", 10, 3.0, (4, 6, 8, 8, 10, 14, 20),
              ("字音字形", "词语运用", "病句修改", "古诗文默写", "文言文阅读", "现代文阅读", "名著阅读", "写作")),
    PaperPlan("math", 12, 3.0, (4, 6, 8, 8, 10, 10, 12, 12),
              ("数与式", "方程与不等式", "函数", "图形的性质", "图形的变化", "统计与概率", "综合与实践")),
    PaperPlan("english", 15, 2.0, (5, 5, 10, 10, 15, 15, 15),
              ("听力理解", "词汇", "语法", "完形填空", "阅读理解", "任务型阅读", "书面表达")),
)  # fmt: skip
ABILITY_ORDER = [a.value for a in Item.Ability]


@dataclass
class DemoExams:
    exams: list[Exam] = field(default_factory=list)
    students: int = 0
    score_rows: int = 0


def _paper_items(rng: np.random.Generator, plan: PaperPlan) -> list[dict]:
    items = []
    n = plan.objective + len(plan.subjective)
    for j in range(n):
        objective = j < plan.objective
        items.append(
            {
                "number": str(j + 1),
                "objective": objective,
                "max_score": plan.objective_marks
                if objective
                else float(plan.subjective[j - plan.objective]),
                "key": OPTIONS[int(rng.integers(4))] if objective else "",
                "knowledge_point": plan.knowledge_points[int(rng.integers(len(plan.knowledge_points)))],
                "ability": ABILITY_ORDER[min(3, j * 4 // n)],
                "question_type": "选择题" if objective else "解答题",
                "a": float(rng.uniform(0.6, 2.0)),
                "b": float(rng.normal(-0.5 if objective else -0.6, 0.8)),
            }
        )
    return items


def _responses(
    rng: np.random.Generator, theta: np.ndarray, item: dict
) -> tuple[np.ndarray, np.ndarray | None]:
    a, b = item["a"], item["b"]
    if item["objective"]:
        p = 0.2 + 0.8 / (1 + np.exp(-a * (theta - b)))
        right = rng.random(theta.size) < p
        key = OPTIONS.index(item["key"])
        distractors = np.array([i for i in range(4) if i != key])
        # Weaker students fall for the first distractor more often.
        lure = 1 / (1 + np.exp(theta))
        pick = np.where(rng.random(theta.size) < 0.3 + 0.4 * lure, 0, rng.integers(1, 3, theta.size))
        option = np.where(right, key, distractors[pick])
        return right * item["max_score"], option
    k = int(item["max_score"])
    steps = np.sort(rng.normal(b, 0.8, k))
    z = np.concatenate(
        [np.zeros((theta.size, 1)), np.cumsum(a * (theta[:, None] - steps[None, :]), axis=1)], axis=1
    )
    prob = np.exp(z - z.max(axis=1, keepdims=True))
    prob /= prob.sum(axis=1, keepdims=True)
    score = (rng.random((theta.size, 1)) > np.cumsum(prob, axis=1)).sum(axis=1)
    return score.astype(np.float64), None


def build_demo_exams(
    *,
    seed: int = 7,
    grade_level: int = 7,
    absence_rate: float = 0.01,
    analyse: bool = True,
    today: dt.date | None = None,
) -> DemoExams:
    rng = np.random.default_rng(seed)
    rows = list(
        Student.objects.filter(
            status=Student.Status.ENROLLED, school_class__grade__level=grade_level, school_class__isnull=False
        )
        .order_by("pk")
        .values_list("pk", "school_id", "school_class_id")
    )
    out = DemoExams(students=len(rows))
    if not rows:
        return out
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    school_ids = np.array([r[1] for r in rows], dtype=np.int64)
    class_ids = np.array([r[2] for r in rows], dtype=np.int64)
    schools, school_of = np.unique(school_ids, return_inverse=True)
    classes, class_of = np.unique(class_ids, return_inverse=True)
    n = ids.size
    subjects = {s.code: s for s in Subject.objects.filter(code__in=[p.code for p in PAPERS])}
    plans = [p for p in PAPERS if p.code in subjects]

    # Effects: schools and classes differ in intake; between the rounds schools and the
    # subject's teacher of each class add value.
    school_effect = rng.normal(0, 0.35, schools.size)
    class_effect = rng.normal(0, 0.15, classes.size)
    school_va = rng.normal(0, 0.15, schools.size)
    base = school_effect[school_of] + class_effect[class_of] + rng.normal(0, 1, n)
    teacher_va: dict[int, float] = {}
    growth = np.zeros((n, len(plans)))
    for s, plan in enumerate(plans):
        teacher_of_class = dict(
            TeachingAssignment.objects.filter(
                subject=subjects[plan.code], school_class_id__in=classes.tolist()
            ).values_list("school_class_id", "teacher_id")
        )
        per_class = np.zeros(classes.size)
        for c, class_id in enumerate(classes.tolist()):
            teacher = teacher_of_class.get(class_id)
            if teacher is not None:
                if teacher not in teacher_va:
                    teacher_va[teacher] = float(rng.normal(0, 0.2))
                per_class[c] = teacher_va[teacher]
        growth[:, s] = school_va[school_of] + per_class[class_of]

    term = Term.current(today) or Term.objects.order_by("-start").first()
    assert term is not None, "the demo district has terms"
    held = [
        min(term.end, term.start + dt.timedelta(days=60)),
        min(term.end, term.start + dt.timedelta(days=120)),
    ]
    grade = next(name for name, level in GRADE_ALIASES.items() if level == grade_level)
    names = [f"{grade}第一次联考（演示）", f"{grade}第二次联考（演示）"]
    prior: Exam | None = None
    for round_no, (name, held_on) in enumerate(zip(names, held, strict=True)):
        with transaction.atomic():
            exam = Exam.objects.create(
                name=name,
                kind=Exam.Kind.JOINT,
                term=term,
                grade_level=grade_level,
                held_on=held_on,
                prior=prior,
            )
            for s, plan in enumerate(plans):
                specific = rng.normal(0, 0.5, n)
                theta = base * np.sqrt(0.75) + specific + (growth[:, s] if round_no else 0.0)
                theta = (theta - theta.mean()) / theta.std()
                absent = rng.random(n) < absence_rate
                present = np.flatnonzero(~absent)
                paper = Paper.objects.create(exam=exam, subject=subjects[plan.code])
                spec = _paper_items(rng, plan)
                Item.objects.bulk_create(
                    Item(paper=paper, position=j + 1, number=it["number"], max_score=Decimal(str(it["max_score"])),
                         kind=Item.Kind.OBJECTIVE if it["objective"] else Item.Kind.SUBJECTIVE, key=it["key"],
                         option_count=4 if it["objective"] else 0, knowledge_points=it["knowledge_point"],
                         ability=it["ability"], question_type=it["question_type"])
                    for j, it in enumerate(spec)
                )  # fmt: skip
                item_pks = list(paper.items.order_by("position").values_list("pk", flat=True))
                score_cols, option_cols = [], []
                for it in spec:
                    score, option = _responses(rng, theta[present], it)
                    score_cols.append(score)
                    option_cols.append(option if option is not None else np.full(present.size, -1))
                scores_m = np.stack(score_cols, axis=1)
                options_m = np.stack(option_cols, axis=1).ravel()
                m, k = scores_m.shape
                letters = np.array([*OPTIONS, ""], dtype=object)
                option_values = letters[np.where(options_m < 0, 4, options_m)]
                scores = pa.table(
                    {
                        "student_id": pa.array(np.repeat(ids[present], k), pa.int64()),
                        "school_id": pa.array(np.repeat(school_ids[present], k), pa.int64()),
                        "class_id": pa.array(np.repeat(class_ids[present], k), pa.int64()),
                        "item_id": pa.array(np.tile(np.array(item_pks, dtype=np.int64), m), pa.int64()),
                        "score": pa.array(scores_m.ravel(), pa.float64()),
                        "option": pa.array(
                            [None if v == "" else v for v in option_values.tolist()], pa.string()
                        ),
                    }
                )
                sittings = pa.table(
                    {
                        "student_id": pa.array(ids, pa.int64()),
                        "school_id": pa.array(school_ids, pa.int64()),
                        "class_id": pa.array(class_ids, pa.int64()),
                        "absent": pa.array(absent),
                    }
                )
                services.store_scores(paper=paper, scores=scores, sittings=sittings)
                out.score_rows += scores.num_rows
        out.exams.append(exam)
        if analyse:
            services.analyze(exam=exam)
        prior = exam
    return out
