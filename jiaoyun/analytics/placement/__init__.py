"""Fair, reproducible school placement: kindergarten tiers, 小升初 lotteries, and their audit.

Pure Python (no Django): the management commands `placement_run` and `placement_verify` and
the admissions app call into this package; docs/admissions.md describes it for a notary.
"""

from jiaoyun.analytics.placement.instance import Applicant, Instance, InvalidInput, School, make_instance
from jiaoyun.analytics.placement.lottery import lottery_numbers, make_seed, seed_commitment
from jiaoyun.analytics.placement.run import (
    ALGORITHM_VERSION,
    BOSTON,
    DEFERRED_ACCEPTANCE,
    KINDERGARTEN,
    MECHANISMS,
    PlacementResult,
    Verification,
    run_placement,
    verify_placement,
)

__all__ = [
    "ALGORITHM_VERSION",
    "BOSTON",
    "DEFERRED_ACCEPTANCE",
    "KINDERGARTEN",
    "MECHANISMS",
    "Applicant",
    "Instance",
    "InvalidInput",
    "PlacementResult",
    "School",
    "Verification",
    "lottery_numbers",
    "make_instance",
    "make_seed",
    "run_placement",
    "seed_commitment",
    "verify_placement",
]
