"""Answers and keys: what a valid answer of each kind looks like, whether it is right, and
the distribution the main screen draws. Plain Python, no database: the screen consumer
runs `distribution` on every snapshot."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from typing import Any

SINGLE, MULTIPLE, TRUE_FALSE, NUMBER, TEXT = "single", "multiple", "true_false", "number", "text"
MAX_TEXT = 200
MAX_OPTIONS = 10


class InvalidAnswer(ValueError):
    pass


# Beyond any answer a lesson asks for (Avogadro's number is 6e23): two answers near the
# largest floats, of opposite signs, once made the histogram's span infinite.
MAX_NUMBER = 1e100


def clean_value(kind: str, options: list[str], raw: Any) -> Any:
    """The canonical form of an answer, or InvalidAnswer. Canonical forms compare equal
    when answers are the same, so a resend is recognised as unchanged."""
    if kind == SINGLE:
        if isinstance(raw, bool) or not isinstance(raw, int) or not 0 <= raw < len(options):
            raise InvalidAnswer("choice")
        return raw
    if kind == MULTIPLE:
        if not isinstance(raw, list) or not raw:
            raise InvalidAnswer("choices")
        picked = set()
        for item in raw:
            if isinstance(item, bool) or not isinstance(item, int) or not 0 <= item < len(options):
                raise InvalidAnswer("choices")
            picked.add(item)
        return sorted(picked)
    if kind == TRUE_FALSE:
        if not isinstance(raw, bool):
            raise InvalidAnswer("true_false")
        return raw
    if kind == NUMBER:
        if isinstance(raw, str):
            try:
                raw = float(raw.strip().replace(",", "."))
            except ValueError:
                raise InvalidAnswer("number") from None
        # `abs(raw) <= MAX_NUMBER` is False for NaN and the infinities too, and compares a
        # JSON integer of any length exactly (math.isfinite would overflow converting it).
        if isinstance(raw, bool) or not isinstance(raw, int | float) or not abs(raw) <= MAX_NUMBER:
            raise InvalidAnswer("number")
        return int(raw) if float(raw).is_integer() and abs(raw) < 2**53 else float(raw)
    if kind == TEXT:
        if not isinstance(raw, str):
            raise InvalidAnswer("text")
        text = " ".join(raw.split())
        if not text or len(text) > MAX_TEXT:
            raise InvalidAnswer("text")
        return text
    raise InvalidAnswer("kind")


def clean_key(kind: str, options: list[str], raw: Any) -> Any:
    """A key in the shape `grade` expects (text keys are lists of accepted answers)."""
    if raw is None or raw == "" or raw == []:
        return None
    if kind == TEXT:
        accepted = raw if isinstance(raw, list) else [raw]
        return [clean_value(TEXT, options, item) for item in accepted]
    return clean_value(kind, options, raw)


def _normal_text(text: str) -> str:
    return "".join(text.lower().split()).strip("。.!！")


def grade(kind: str, key: Any, tolerance: float, value: Any) -> bool | None:
    if key is None:
        return None
    if kind == NUMBER:
        return abs(float(value) - float(key)) <= tolerance + 1e-9
    if kind == TEXT:
        return _normal_text(value) in {_normal_text(k) for k in key}
    return bool(value == key)


# Characters that make poor words on their own: particles and pronouns of everyday writing.
_STOP_CHARS = set("的了是在和也都就而及与或着吧呢吗啊呀么很太我你他她它们这那有个不")
_HAN_RUN = re.compile(r"[\u3400-\u9fff]+")
_LATIN_WORD = re.compile(r"[a-z0-9]+(?:['-][a-z0-9]+)*")


def terms(text: str) -> set[str]:
    """Chinese character bigrams (no word segmenter needed) and Latin words of one answer.
    A bigram touching a particle such as 的 or 了 is dropped; a run of one character counts
    as itself."""
    found: set[str] = set()
    for run in _HAN_RUN.findall(text):
        if len(run) == 1:
            if run not in _STOP_CHARS:
                found.add(run)
            continue
        for i in range(len(run) - 1):
            pair = run[i : i + 2]
            if pair[0] not in _STOP_CHARS and pair[1] not in _STOP_CHARS:
                found.add(pair)
    found.update(w for w in _LATIN_WORD.findall(text.lower()) if len(w) > 1)
    return found


def top_terms(texts: Iterable[str], limit: int = 20) -> list[tuple[str, int]]:
    """Terms by how many answers use them (an answer repeating a word counts once)."""
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(terms(text))
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]


def _nice_step(span: float, bins: int) -> float:
    raw = span / bins
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if factor * magnitude >= raw:
            return factor * magnitude
    return 10 * magnitude


def histogram(values: list[float], max_bins: int = 10) -> list[dict[str, Any]]:
    """One bar per value when there are few distinct values, else equal bins of a round
    width: [{"label", "count"}]."""
    if not values:
        return []
    distinct = sorted(set(values))
    if len(distinct) <= max_bins:
        counts = Counter(values)
        return [{"label": _fmt(v), "count": counts[v]} for v in distinct]
    low, high = distinct[0], distinct[-1]
    span = high - low
    # Answers stored before MAX_NUMBER may span more than the largest float: bins are
    # counted in steps (v / step), never as differences of two answers.
    step = _nice_step(span, max_bins) if math.isfinite(span) else 2 * _nice_step(high / 2 - low / 2, max_bins)
    first = math.floor(low / step)
    n = math.floor(high / step) - first + 1
    bins = [0] * n
    for v in values:
        bins[min(n - 1, math.floor(v / step) - first)] += 1
    return [
        {"label": f"{_fmt((first + i) * step)}–{_fmt((first + i + 1) * step)}", "count": c}
        for i, c in enumerate(bins)
    ]


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:.4g}"


def distribution(kind: str, options: list[str], values: Iterable[Any]) -> dict[str, Any]:
    """What the screen draws: bars for choices and true/false, a histogram for numbers,
    the most frequent terms for text."""
    values = list(values)
    if kind in (SINGLE, MULTIPLE):
        counts = [0] * len(options)
        for v in values:
            for index in v if kind == MULTIPLE else [v]:
                counts[index] += 1
        return {"chart": "bars", "labels": list(options), "counts": counts}
    if kind == TRUE_FALSE:
        labels = list(options) if len(options) == 2 else ["✓", "✗"]
        trues = sum(1 for v in values if v is True)
        return {"chart": "bars", "labels": labels, "counts": [trues, len(values) - trues]}
    if kind == NUMBER:
        return {"chart": "histogram", "bins": histogram([float(v) for v in values])}
    return {"chart": "words", "words": top_terms(values)}
