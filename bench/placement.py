"""Placement benchmark: our mechanisms at district size, and the `matching` package side by side.

    .venv/bin/python bench/placement.py [--students 20000 --schools 30 --choices 6]
                                        [--small 5000x15x5] [--matching-full]

Prints one table. The instance has a realistic shape: schools differ in popularity (families
rank by a Plackett-Luce draw on popularity weights), seats roughly equal applicants, two
priority categories per school held by about one applicant in ten.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import tracemalloc
import warnings
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from jiaoyun.analytics.placement import (
    Applicant,
    Instance,
    School,
    make_instance,
    run_placement,
)
from jiaoyun.analytics.placement.lottery import lottery_numbers
from jiaoyun.analytics.placement.mechanisms import deferred_acceptance, immediate_acceptance
from jiaoyun.analytics.placement.run import priority_keys

SEED = "bench-placement-seed"


def build_instance(students: int, schools: int, choices: int, rng_seed: int = 7) -> Instance:
    rng = random.Random(rng_seed)
    popularity = [rng.lognormvariate(0, 0.6) for _ in range(schools)]
    total = sum(popularity)
    # Seats follow popularity only loosely, so popular schools are oversubscribed.
    capacities = [max(1, round(students * (0.5 / schools + 0.5 * p / total))) for p in popularity]
    school_rows = [
        School(id=f"M{i:03d}", zone="city", capacity=capacities[i], categories=("policy", "sibling"))
        for i in range(schools)
    ]
    applicants = []
    for i in range(students):
        # Plackett-Luce: exponential race on popularity weights, the fastest `choices` win.
        race = sorted(range(schools), key=lambda s: rng.expovariate(popularity[s]))
        preferences = tuple(school_rows[s].id for s in race[:choices])
        categories = {}
        if rng.random() < 0.1:
            categories[rng.choice(preferences)] = rng.choice(("policy", "sibling"))
        applicants.append(
            Applicant(id=f"P{i:06d}", zone="city", preferences=preferences, categories=categories)
        )
    return make_instance(school_rows, applicants)


def placement_bytes(instance: Instance, mechanism: str) -> bytes:
    return run_placement(instance, mechanism=mechanism, seed=SEED).to_bytes()


def measure(function: Callable[[], Any], repeat: int = 3) -> tuple[Any, float, float]:
    """(value, seconds, peak MiB): the best of `repeat` untraced runs (the machine may be
    shared; the minimum is the least disturbed), then one traced run for memory."""
    best = float("inf")
    value = None
    for _ in range(repeat):
        start = time.perf_counter()
        value = function()
        best = min(best, time.perf_counter() - start)
    tracemalloc.start()
    function()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return value, best, peak / 2**20


def matching_package_solution(instance: Instance) -> dict[str, str | None]:
    from matching.games import HospitalResident

    numbers = lottery_numbers(
        [a.id for a in instance.applicants], seed=SEED, public_randomness="", input_hash=instance.input_hash()
    )
    prefs, keys = priority_keys(instance, numbers)
    school_ids = [s.id for s in instance.schools]
    resident_prefs = {
        a.id: [school_ids[s] for s in p] for a, p in zip(instance.applicants, prefs, strict=True) if p
    }
    ranked: dict[str, list[tuple[int, str]]] = {s: [] for s in school_ids}
    for a, p, k in zip(instance.applicants, prefs, keys, strict=True):
        for school, key in zip(p, k, strict=True):
            ranked[school_ids[school]].append((key, a.id))
    hospital_prefs = {s: [a for _, a in sorted(r)] for s, r in ranked.items() if r}
    capacities = {s.id: s.capacity for s in instance.schools if s.id in hospital_prefs}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        game = HospitalResident.create_from_dictionaries(resident_prefs, hospital_prefs, capacities)
        matching = game.solve(optimal="resident")
    outcome: dict[str, str | None] = {a.id: None for a in instance.applicants}
    for hospital, residents in matching.items():
        for resident in residents:
            outcome[resident.name] = hospital.name
    return outcome


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--students", type=int, default=20_000)
    parser.add_argument("--schools", type=int, default=30)
    parser.add_argument("--choices", type=int, default=6)
    parser.add_argument("--small", default="5000x15x5", help="the instance also solved by `matching`")
    parser.add_argument(
        "--matching-full", action="store_true", help="also run `matching` at full size (minutes)"
    )
    args = parser.parse_args()
    small = tuple(int(x) for x in args.small.split("x"))

    rows: list[tuple[str, str, str, float, float, int, str]] = []
    sizes = [((args.students, args.schools, args.choices), args.matching_full), (small, True)]
    for (students, schools, choices), with_reference in sizes:
        label = f"{students} x {schools} x {choices}"
        instance, build_seconds, build_mib = measure(partial(build_instance, students, schools, choices))
        rows.append((label, "(build + validate input)", "jiaoyun", build_seconds, build_mib, -1, ""))
        numbers = lottery_numbers(
            [a.id for a in instance.applicants],
            seed=SEED,
            public_randomness="",
            input_hash=instance.input_hash(),
        )
        prefs, keys = priority_keys(instance, numbers)
        capacities = [s.capacity for s in instance.schools]
        for mechanism, solve in (
            ("boston", immediate_acceptance),
            ("deferred-acceptance", deferred_acceptance),
        ):
            assignment, seconds, mib = measure(partial(solve, prefs, keys, capacities))
            placed = sum(school != -1 for school in assignment)
            rows.append((label, mechanism, "jiaoyun (mechanism only)", seconds, mib, placed, ""))
        ours: dict[str, dict[str, str | None]] = {}
        for mechanism in ("boston", "deferred-acceptance"):
            _, seconds, mib = measure(partial(placement_bytes, instance, mechanism))
            outcome = run_placement(instance, mechanism=mechanism, seed=SEED).assignment()
            ours[mechanism] = outcome
            placed = sum(school is not None for school in outcome.values())
            rows.append((label, mechanism, "jiaoyun (lottery + run + result file)", seconds, mib, placed, ""))
        if with_reference:
            start = time.perf_counter()
            reference = matching_package_solution(instance)
            seconds = time.perf_counter() - start
            placed = sum(school is not None for school in reference.values())
            same = "identical" if reference == ours["deferred-acceptance"] else "DIFFERENT"
            rows.append(
                (label, "deferred-acceptance", "matching 1.4 (PyPI)", seconds, float("nan"), placed, same)
            )

    header = (
        "students x schools x choices",
        "mechanism",
        "implementation",
        "seconds",
        "peak MiB",
        "placed",
        "vs ours",
    )
    widths = [max(len(str(h)), *(len(_cell(r[i])) for r in rows)) for i, h in enumerate(header)]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(_cell(v).ljust(w) for v, w in zip(row, widths, strict=True)))
    print(
        "\nseconds: best of three untraced runs (`matching`: one run); peak MiB: tracemalloc peak of a second, traced run"
        " (the `matching` run is not traced). 'lottery + run + result file' is what placement_run does"
        " after reading the files: input hash, lottery, mechanism, result document and its bytes."
    )


def _cell(value: object) -> str:
    if value == -1:
        return "-"
    if isinstance(value, float):
        return "-" if value != value else f"{value:.3f}"
    return str(value)


if __name__ == "__main__":
    main()
