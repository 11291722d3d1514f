"""How much a sentence looks like the answer: a weighted sum of its features (pure)."""

from __future__ import annotations

from dataclasses import dataclass

from qa.answer.params import AnswerParams


@dataclass(frozen=True)
class Features:
    """What a candidate sentence's score is made of (each weighed by an AnswerParams weight)."""

    dense: float  # cosine of the question and the sentence (a follow-up: half its own words', half the turn's)
    lexical: float  # idf-weighted share of the question's terms in the sentence
    window: float  # the same share over the sentence and the one before it
    passage: float  # the fused score of the passage holding it, relative to the top passage's
    kind_match: bool  # it holds a span of the asked-for type
    year_match: bool  # it names, or its article is dated in, the year the question names
    novel: float = 0.0  # the share of its terms the question does not say


def score(f: Features, params: AnswerParams) -> float:
    """The weighted sum that ranks candidate sentences (weights from benchmarks/tune_answer.py)."""
    return (params.w_dense * f.dense + params.w_lexical * f.lexical + params.w_window * f.window
            + params.w_passage * f.passage + params.w_kind * f.kind_match + params.w_year * f.year_match
            + params.w_novel * f.novel)


def relative(score_: float, top: float) -> float:
    """A passage's score relative to the best passage's (0 when the best is not positive)."""
    return score_ / top if top > 0 else 0.0
