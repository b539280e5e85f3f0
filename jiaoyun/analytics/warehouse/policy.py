"""The planning policy: every norm a view compares the register against.

Defaults follow the national standards a district bureau works with; a district changes them
in configuration (see docs/warehouse.md), never in code.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, replace
from typing import Any

STAGES = ("kindergarten", "primary", "junior", "senior")


def curriculum() -> dict[str, dict[str, int]]:
    # Weekly periods per class after the 2022 compulsory-education curriculum plan (rounded).
    return {
        "kindergarten": {"preschool": 25},
        "primary": {"chinese": 8, "math": 5, "english": 2, "science": 2, "politics": 2, "pe": 4,
                    "music": 2, "art": 2, "it": 1, "labour": 1, "psychology": 1},
        "junior": {"chinese": 5, "math": 5, "english": 4, "physics": 2, "chemistry": 1, "biology": 2,
                   "history": 2, "geography": 2, "politics": 2, "pe": 3, "music": 1, "art": 1, "it": 1,
                   "psychology": 1},
        "senior": {"chinese": 4, "math": 4, "english": 4, "physics": 3, "chemistry": 3, "biology": 2,
                   "history": 2, "geography": 2, "politics": 2, "pe": 2, "music": 1, "art": 1, "it": 1},
    }  # fmt: skip


@dataclass(frozen=True)
class Policy:
    # Age bands: each edge starts a new band ("<30", "30-39", ... "55+").
    age_band_edges: tuple[int, ...] = (30, 40, 50, 55)
    # Bands of whole years at the current school.
    tenure_band_edges: tuple[int, ...] = (3, 6, 10, 15)
    # Statutory retirement age by gender (configurable: the 2025 reform raises them by steps).
    retirement_age: dict[str, int] = field(default_factory=lambda: {"male": 60, "female": 55})
    retirement_horizon_years: int = 5
    # Students per teacher (national staffing standard of 2014; kindergarten: two teachers
    # for a class of 30).
    student_teacher_ratio: dict[str, float] = field(
        default_factory=lambda: {"kindergarten": 15.0, "primary": 19.0, "junior": 13.5, "senior": 12.5}
    )
    curriculum: dict[str, dict[str, int]] = field(default_factory=curriculum)
    # Periods a full-time teacher gives a week, by stage.
    teacher_periods_per_week: dict[str, float] = field(
        default_factory=lambda: {"kindergarten": 10.0, "primary": 10.0, "junior": 9.0, "senior": 8.5}
    )
    # A teacher is overloaded above this multiple of a full week.
    overload_factor: float = 1.2
    # Standard class size by stage, and the 大班额 / 超大班额 thresholds (primary and up).
    class_size_standard: dict[str, int] = field(
        default_factory=lambda: {"kindergarten": 30, "primary": 45, "junior": 50, "senior": 50}
    )
    large_class: int = 56
    super_large_class: int = 66
    # 区管校聘: teachers this many whole years at one school are rotation candidates, unless
    # they retire within the exemption.
    rotation_years: int = 6
    rotation_exempt_years_before_retirement: int = 3
    # A shortage below this many FTE is absorbed by overtime rather than a hire.
    hiring_tolerance_fte: float = 0.3
    # Projection: entry ages, take-up of each entry, and progression between stages.
    primary_entry_age: int = 6
    kindergarten_entry_age: int = 3
    kindergarten_take_up: float = 0.9
    primary_take_up: float = 1.0
    junior_progression: float = 1.0
    senior_progression: float = 0.6
    projection_years: int = 5

    def with_overrides(self, overrides: dict[str, Any]) -> Policy:
        unknown = set(overrides) - set(asdict(self))
        if unknown:
            raise ValueError(f"unknown policy setting(s): {', '.join(sorted(unknown))}")
        fixed: dict[str, Any] = {
            k: tuple(v) if isinstance(getattr(self, k), tuple) else v for k, v in overrides.items()
        }
        return replace(self, **fixed)

    def fingerprint(self) -> str:
        """Changes whenever a norm changes, so materialised results are recomputed."""
        cached = self.__dict__.get("_fingerprint")
        if cached is None:
            text = json.dumps(asdict(self), sort_keys=True, default=list)
            cached = hashlib.sha256(text.encode()).hexdigest()[:16]
            # A frozen dataclass may still memoise in its own __dict__: the norms never change.
            object.__setattr__(self, "_fingerprint", cached)
        return cached
