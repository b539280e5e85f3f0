"""A seeded generator of district exam data from an item-response model.

Ability = district-wide student spread + school, class and teacher effects (a teacher takes two
classes of a school); the prior exam sees the same student without this term's school and
teacher value-added, so value-added models have something true to find. Objective items are
3PL-like with a key and three distractors, one of them attractive to weaker students;
subjective items follow the GPCM with integer partial credit. Absent students have no rows.
Pure: numpy and Arrow only, so tests, the bench and the demo district share it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

KNOWLEDGE_POINTS = ("数与式", "方程与不等式", "函数", "图形的性质", "图形的变化", "统计与概率", "综合与实践")
ABILITIES = ("识记", "理解", "应用", "综合")
OPTIONS = ("A", "B", "C", "D")


@dataclass(frozen=True)
class SimulatedExam:
    scores: pa.Table  # long: student_id, school_id, class_id, item_id, score, option
    items: pa.Table  # item_id, subject, max_score, kind, key, knowledge_point, ability, question_type, a, b
    students: pa.Table  # roster: student_id, school_id, class_id, teacher_id, absent, prior_score, theta
    school_value_added: dict  # the true effects, for tests
    teacher_value_added: dict


def _dictionary(codes: np.ndarray, labels: list[str]) -> pa.Array:
    return pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int32)), pa.array(labels)).cast(
        pa.string()
    )


def simulate_exam(
    *,
    seed: int = 7,
    n_schools: int = 10,
    classes_per_school: int = 4,
    students_per_class: int = 40,
    n_objective: int = 25,
    n_subjective: int = 15,
    objective_marks: float = 3.0,
    subjective_max: tuple[int, int] = (4, 10),
    subjects: tuple[str, ...] = ("数学",),
    absence_rate: float = 0.01,
    school_sd: float = 0.35,
    class_sd: float = 0.15,
    school_value_added_sd: float = 0.15,
    teacher_value_added_sd: float = 0.15,
) -> SimulatedExam:
    rng = np.random.default_rng(seed)
    n_classes = n_schools * classes_per_school
    n = n_classes * students_per_class
    class_of = np.repeat(np.arange(n_classes), students_per_class)
    school_of_class = np.repeat(np.arange(n_schools), classes_per_school)
    # Two classes per teacher, never across schools.
    per_school = (classes_per_school + 1) // 2
    teacher_of_class = school_of_class * per_school + (np.arange(n_classes) % classes_per_school) // 2
    school_of = school_of_class[class_of]
    school_effect = rng.normal(0, school_sd, n_schools)
    class_effect = rng.normal(0, class_sd, n_classes)
    school_va = rng.normal(0, school_value_added_sd, n_schools)
    teacher_va = rng.normal(0, teacher_value_added_sd, teacher_of_class.max() + 1)
    base = school_effect[school_of] + class_effect[class_of] + rng.normal(0, 1, n)
    growth = school_va[school_of] + teacher_va[teacher_of_class[class_of]]
    prior_score = 100 + 15 * (base + rng.normal(0, 0.4, n))
    # Subjects share most of a student's ability.
    specific = rng.normal(0, 0.5, (n, len(subjects)))
    theta = (base + growth)[:, None] * np.sqrt(0.75) + specific
    theta = theta / theta.std(axis=0)
    absent = rng.random(n) < absence_rate

    item_rows: dict[str, list] = {
        k: []
        for k in (
            "item_id",
            "subject",
            "max_score",
            "kind",
            "key",
            "knowledge_point",
            "ability",
            "question_type",
            "a",
            "b",
        )
    }
    columns_score, columns_option = [], []
    present = np.flatnonzero(~absent)
    for s, subject in enumerate(subjects):
        th = theta[present, s]
        for j in range(n_objective + n_subjective):
            item_id = f"{subject}-{j + 1:02d}"
            objective = j < n_objective
            a = rng.uniform(0.6, 2.0)
            b = rng.normal(-0.3 if objective else 0.3, 0.9)
            item_rows["item_id"].append(item_id)
            item_rows["subject"].append(subject)
            item_rows["kind"].append("objective" if objective else "subjective")
            item_rows["knowledge_point"].append(KNOWLEDGE_POINTS[rng.integers(len(KNOWLEDGE_POINTS))])
            item_rows["ability"].append(ABILITIES[min(3, int(j * 4 / (n_objective + n_subjective)))])
            item_rows["question_type"].append("选择题" if objective else "解答题")
            item_rows["a"].append(a)
            item_rows["b"].append(b)
            if objective:
                key = OPTIONS[rng.integers(4)]
                p = 0.2 + 0.8 / (1 + np.exp(-a * (th - b)))
                right = rng.random(th.size) < p
                distractors = [o for o in OPTIONS if o != key]
                # weaker students fall for the first distractor more often
                lure = 1 / (1 + np.exp(th))
                pick = np.where(rng.random(th.size) < 0.3 + 0.4 * lure, 0, rng.integers(1, 3, th.size))
                option = np.where(
                    right, OPTIONS.index(key), np.array([OPTIONS.index(d) for d in distractors])[pick]
                )
                columns_score.append(right * objective_marks)
                columns_option.append(option)
                item_rows["max_score"].append(objective_marks)
                item_rows["key"].append(key)
            else:
                k = int(rng.integers(subjective_max[0], subjective_max[1] + 1))
                steps = np.sort(rng.normal(b, 0.8, k))
                z = np.concatenate(
                    [np.zeros((th.size, 1)), np.cumsum(a * (th[:, None] - steps[None, :]), axis=1)], axis=1
                )
                prob = np.exp(z - z.max(axis=1, keepdims=True))
                prob /= prob.sum(axis=1, keepdims=True)
                score = (rng.random((th.size, 1)) > np.cumsum(prob, axis=1)).sum(axis=1)
                columns_score.append(score.astype(np.float64))
                columns_option.append(np.full(th.size, -1))
                item_rows["max_score"].append(float(k))
                item_rows["key"].append(None)
    n_items = len(columns_score)
    score_matrix = np.stack(columns_score, axis=1)
    option_matrix = np.stack(columns_option, axis=1)
    m = present.size
    student_ids = 100000 + np.arange(n)
    school_labels = [f"S{i + 1:03d}" for i in range(n_schools)]
    class_labels = [
        f"S{school_of_class[c] + 1:03d}-{c % classes_per_school + 1:02d}" for c in range(n_classes)
    ]
    option_codes = option_matrix.ravel()
    option_array = pa.DictionaryArray.from_arrays(
        pa.array(np.where(option_codes < 0, 0, option_codes).astype(np.int32), mask=option_codes < 0),
        pa.array(list(OPTIONS)),
    ).cast(pa.string())
    scores = pa.table(
        {
            "student_id": pa.array(np.repeat(student_ids[present], n_items)),
            "school_id": _dictionary(np.repeat(school_of[present], n_items), school_labels),
            "class_id": _dictionary(np.repeat(class_of[present], n_items), class_labels),
            "item_id": _dictionary(np.tile(np.arange(n_items), m), item_rows["item_id"]),
            "score": pa.array(score_matrix.ravel()),
            "option": option_array,
        }
    )
    students = pa.table(
        {
            "student_id": student_ids,
            "school_id": _dictionary(school_of, school_labels),
            "class_id": _dictionary(class_of, class_labels),
            "teacher_id": _dictionary(
                teacher_of_class[class_of], [f"T{t + 1:04d}" for t in range(teacher_of_class.max() + 1)]
            ),
            "absent": absent,
            "prior_score": prior_score,
            "theta": theta[:, 0],
        }
    )
    return SimulatedExam(
        scores=scores,
        items=pa.table(item_rows),
        students=students,
        school_value_added=dict(zip(school_labels, school_va, strict=True)),
        teacher_value_added={f"T{t + 1:04d}": v for t, v in enumerate(teacher_va)},
    )
