"""Commit-reveal seeds and lottery numbers derived by a documented hash.

A lottery number depends only on the seed, the public randomness, the input hash and the
applicant's own id, never on where the applicant's row is in a file. The procedure is
described step by step for a notary in docs/admissions.md; `lottery_digest` is that procedure.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence

LOTTERY_TAG = "jiaoyun-lottery/1"
COMMITMENT_TAG = "jiaoyun-seed-commitment/1"


def make_seed() -> str:
    """A fresh secret seed: 256 random bits as 64 hexadecimal digits."""
    return secrets.token_hex(32)


def check_seed(seed: str, what: str = "seed") -> None:
    if not isinstance(seed, str) or "\n" in seed or "\r" in seed:
        raise ValueError(f"the {what} must be one line of text")
    if seed != seed.strip():
        raise ValueError(f"the {what} must not start or end with spaces")


def seed_commitment(seed: str) -> str:
    """What the bureau publishes before applications close: SHA-256 of the tagged seed.

    The seed itself stays secret until the run. It must carry enough entropy (see `make_seed`)
    that nobody can find it from the commitment by trying candidates.
    """
    check_seed(seed)
    return hashlib.sha256(f"{COMMITMENT_TAG}\n{seed}".encode()).hexdigest()


def lottery_digest(*, seed: str, public_randomness: str, input_hash: str, applicant_id: str) -> bytes:
    """SHA-256 of the five newline-separated fields; the smaller digest draws the smaller number."""
    return hashlib.sha256(
        f"{LOTTERY_TAG}\n{seed}\n{public_randomness}\n{input_hash}\n{applicant_id}".encode()
    ).digest()


def lottery_numbers(
    applicant_ids: Sequence[str], *, seed: str, public_randomness: str, input_hash: str
) -> list[int]:
    """1-based lottery number of each applicant, aligned with `applicant_ids`.

    Numbers are the ranks of the digests in ascending byte order, so they form a permutation
    of 1..n: the draw of a numbered ball for every applicant.
    """
    check_seed(seed)
    check_seed(public_randomness, "public randomness")
    prefix = hashlib.sha256(f"{LOTTERY_TAG}\n{seed}\n{public_randomness}\n{input_hash}\n".encode())
    digests = []
    for applicant_id in applicant_ids:
        hasher = prefix.copy()
        hasher.update(applicant_id.encode())
        digests.append(hasher.digest())
    # Ties would need two ids with the same SHA-256; the id breaks them only for totality.
    order = sorted(range(len(applicant_ids)), key=lambda i: (digests[i], applicant_ids[i]))
    numbers = [0] * len(applicant_ids)
    for position, index in enumerate(order, start=1):
        numbers[index] = position
    return numbers
