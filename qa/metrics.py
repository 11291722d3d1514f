"""Evaluation metrics: pure functions of values, no I/O and no engine."""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence

_ARTICLES = re.compile(r"\b(a|an|the)\b")


def normalize_answer(text: str) -> str:
    """SQuAD answer normalisation: lower-case, drop punctuation and articles, collapse spaces.

    As in the official SQuAD script, punctuation is deleted, not replaced by a space
    ("Smith's" -> "smiths"). Unlike it, every Unicode punctuation character counts,
    so curly quotes and dashes go too ("‘Good’" -> "good"). Currency signs stay ("£11m").

    Args:
        text: any text.

    Returns:
        The normalised text, words separated by single spaces.
    """
    return _normalize(text, "")


def _normalize(text: str, punctuation_to: str) -> str:
    text = text.lower()
    text = "".join(
        punctuation_to if unicodedata.category(ch).startswith("P") else ch for ch in text
    )
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def contains_any(text: str, phrases: Iterable[str]) -> bool:
    """Whether any phrase occurs in ``text``, both normalised, on whole-word boundaries.

    Whole words, so "good" is not found in "goods". Two normalisations are tried, and
    either may match: ``normalize_answer`` (punctuation deleted, so "multi-agency" matches
    "multiagency") and the same with punctuation turned into spaces, so a phrase is still
    found before a possessive or inside a range ("William Tyndale" in "William Tyndale's",
    "1185" in "(1185–1226)"). A phrase that normalises to nothing (e.g. "the") never matches.

    Args:
        text: the text searched, e.g. an answer or a passage.
        phrases: the phrases looked for.

    Returns:
        True if at least one phrase occurs.
    """
    phrases = list(phrases)
    for punctuation_to in ("", " "):
        haystack = f" {_normalize(text, punctuation_to)} "
        for phrase in phrases:
            needle = _normalize(phrase, punctuation_to)
            if needle and f" {needle} " in haystack:
                return True
    return False


def token_f1(prediction: str, gold: str) -> float:
    """SQuAD token-overlap F1 of two texts, after ``normalize_answer``.

    Returns 1.0 when both normalise to nothing and 0.0 when only one does.
    """
    pred_tokens = normalize_answer(prediction).split()
    gold_tokens = normalize_answer(gold).split()
    if not pred_tokens or not gold_tokens:
        return float(pred_tokens == gold_tokens)
    common = sum((Counter(pred_tokens) & Counter(gold_tokens)).values())
    if common == 0:
        return 0.0
    precision = common / len(pred_tokens)
    recall = common / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def _check_k(k: int) -> None:
    if k < 1:
        raise ValueError(f"k must be at least 1; it is {k}.")


def recall_at_k(relevance: Sequence[bool], k: int) -> float:
    """1.0 if any of the first ``k`` ranked items is relevant, else 0.0 (success@k).

    Args:
        relevance: one flag per ranked item, best first.
        k: cut-off, at least 1.

    Raises:
        ValueError: if k < 1.
    """
    _check_k(k)
    return 1.0 if any(relevance[:k]) else 0.0


def reciprocal_rank(relevance: Sequence[bool], k: int = 10) -> float:
    """1 / rank of the first relevant item within the first ``k``; 0.0 if there is none.

    Example: [False, True, False] -> 0.5.

    Raises:
        ValueError: if k < 1.
    """
    _check_k(k)
    for rank, relevant in enumerate(relevance[:k], start=1):
        if relevant:
            return 1.0 / rank
    return 0.0


def _dcg(gains: Iterable[bool]) -> float:
    return sum(1.0 / math.log2(rank + 1) for rank, g in enumerate(gains, start=1) if g)


def ndcg_at_k(relevance: Sequence[bool], k: int, n_relevant: int | None = None) -> float:
    """Normalised discounted cumulative gain at ``k`` with binary gains.

    DCG@k = sum over relevant ranks r <= k of 1 / log2(r + 1). The ideal DCG puts
    min(n, k) relevant items first, where n is ``n_relevant`` if given, else the number
    of relevant items in the whole list. When n is 0 the result is 0.0.

    Example: [False, True, False], k=3 -> (1 / log2 3) / 1 = 0.6309...

    Raises:
        ValueError: if k < 1 or n_relevant < 0.
    """
    _check_k(k)
    if n_relevant is None:
        n_relevant = sum(1 for r in relevance if r)
    if n_relevant < 0:
        raise ValueError(f"n_relevant must not be negative; it is {n_relevant}.")
    ideal = _dcg([True] * min(n_relevant, k))
    if ideal == 0.0:
        return 0.0
    return _dcg(relevance[:k]) / ideal


def abstention_scores(
    predicted_abstain: Sequence[bool], should_abstain: Sequence[bool]
) -> dict[str, float | None]:
    """Precision and recall of abstaining, and how often answerable questions were refused.

    - precision: of the questions the system abstained on, the share it should have;
      None if it never abstained.
    - recall: of the questions it should have abstained on, the share it did;
      None if no question should be abstained on.
    - false_abstention_rate: of the answerable questions, the share it abstained on;
      None if every question should be abstained on (or there are none).

    Raises:
        ValueError: if the two sequences differ in length.
    """
    if len(predicted_abstain) != len(should_abstain):
        raise ValueError(
            f"predicted_abstain has {len(predicted_abstain)} items and should_abstain "
            f"{len(should_abstain)}; they must be the same length."
        )
    pairs = list(zip(predicted_abstain, should_abstain))
    true_pos = sum(1 for p, s in pairs if p and s)
    predicted = sum(1 for p, _ in pairs if p)
    should = sum(1 for _, s in pairs if s)
    answerable = len(pairs) - should
    false_abstentions = sum(1 for p, s in pairs if p and not s)
    return {
        "precision": true_pos / predicted if predicted else None,
        "recall": true_pos / should if should else None,
        "false_abstention_rate": false_abstentions / answerable if answerable else None,
    }


def mean(xs: Iterable[float | None]) -> float | None:
    """Arithmetic mean of the values that are not None; None if there are none."""
    values = [x for x in xs if x is not None]
    return sum(values) / len(values) if values else None


def percentile(xs: Iterable[float], q: float) -> float | None:
    """The q-th percentile (0-100) with linear interpolation, as numpy's default; None if empty."""
    values = sorted(xs)
    if not values:
        return None
    pos = (len(values) - 1) * q / 100.0
    lo = math.floor(pos)
    hi = math.ceil(pos)
    return values[lo] + (values[hi] - values[lo]) * (pos - lo)
