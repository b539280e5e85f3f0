"""The placement mechanisms, on plain integer arrays.

Applicants and schools are numbered 0..n-1 and 0..m-1. `prefs[a]` lists applicant a's schools,
most wanted first; `keys[a][j]` is a's priority key at `prefs[a][j]`: the smaller key wins a
seat. The caller builds keys as (category rank, lottery number) folded into one integer, so
every school ranks its applicants strictly and by the same shared lottery inside a category.
Each function returns, for every applicant, the school index placed at, or -1.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence

UNPLACED = -1


def fill_by_priority(candidates: Sequence[tuple[int, int]], seats: int) -> tuple[list[int], list[int]]:
    """Admit the `seats` best (key, applicant) pairs; return (admitted, refused in key order).

    With keys ordered by category first, this fills categories in order and lets the lottery
    decide only inside the category where the seats run out.
    """
    ordered = [applicant for _, applicant in sorted(candidates)]
    seats = max(seats, 0)
    return ordered[:seats], ordered[seats:]


def immediate_acceptance(
    prefs: Sequence[Sequence[int]], keys: Sequence[Sequence[int]], capacities: Sequence[int]
) -> list[int]:
    """The rule Chinese districts run (志愿优先, then priority, then lottery number).

    Round k: every applicant still unplaced applies to their k-th choice; a school with seats
    left takes its best applicants of the round up to those seats, and those seats are final.
    """
    assignment = [UNPLACED] * len(prefs)
    remaining = list(capacities)
    longest = max((len(p) for p in prefs), default=0)
    for round_index in range(longest):
        applications: dict[int, list[tuple[int, int]]] = {}
        for applicant, applicant_prefs in enumerate(prefs):
            if assignment[applicant] != UNPLACED or round_index >= len(applicant_prefs):
                continue
            school = applicant_prefs[round_index]
            if remaining[school] > 0:
                applications.setdefault(school, []).append((keys[applicant][round_index], applicant))
        for school, candidates in applications.items():
            admitted, _ = fill_by_priority(candidates, remaining[school])
            for applicant in admitted:
                assignment[applicant] = school
            remaining[school] -= len(admitted)
    return assignment


def deferred_acceptance(
    prefs: Sequence[Sequence[int]], keys: Sequence[Sequence[int]], capacities: Sequence[int]
) -> list[int]:
    """Student-proposing deferred acceptance (Gale-Shapley): the student-optimal stable matching.

    Each school holds its best proposers so far in a max-heap on the key; a displaced applicant
    proposes to their next choice. The outcome does not depend on the order of proposals.
    """
    n = len(prefs)
    next_choice = [0] * n
    held: list[list[tuple[int, int]]] = [[] for _ in capacities]
    free = list(range(n - 1, -1, -1))
    while free:
        applicant = free.pop()
        applicant_prefs = prefs[applicant]
        applicant_keys = keys[applicant]
        j = next_choice[applicant]
        while j < len(applicant_prefs):
            school = applicant_prefs[j]
            key = applicant_keys[j]
            j += 1
            heap = held[school]
            if len(heap) < capacities[school]:
                heapq.heappush(heap, (-key, applicant))
                break
            if heap and -heap[0][0] > key:
                _, displaced = heapq.heapreplace(heap, (-key, applicant))
                free.append(displaced)
                break
        next_choice[applicant] = j
    assignment = [UNPLACED] * n
    for school, heap in enumerate(held):
        for _, applicant in heap:
            assignment[applicant] = school
    return assignment
