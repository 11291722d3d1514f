"""How much each candidate sentence looks like the answer: a weighted sum of its features (pure)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qa.answer.params import AnswerParams


@dataclass(frozen=True)
class Features:
    """What the candidates' scores are made of, one entry per candidate (each weighed by an
    AnswerParams weight)."""

    dense: list[float]  # cosine of the question and the sentence (a follow-up: half its own words', half the turn's)
    lexical: list[float]  # idf-weighted share of the question's terms in the sentence
    window: list[float]  # the same share over the sentence and the one before it
    passage: list[float]  # the fused score of the passage holding it, relative to the top passage's
    kind_match: list[bool]  # it holds a span of the asked-for type
    year_match: list[bool]  # it names, or its article is dated in, the year the question names
    novel: list[float]  # the share of its terms the question does not say


def scores(f: Features, params: AnswerParams) -> list[float]:
    """The weighted sums that rank the candidates (weights from benchmarks/tune_answer.py), summed in a
    fixed order so that a score is the same whichever candidates it is computed with."""
    a = {name: np.asarray(getattr(f, name), dtype=np.float64) for name in
         ("dense", "lexical", "window", "passage", "kind_match", "year_match", "novel")}
    total = (params.w_dense * a["dense"] + params.w_lexical * a["lexical"] + params.w_window * a["window"]
             + params.w_passage * a["passage"] + params.w_kind * a["kind_match"] + params.w_year * a["year_match"]
             + params.w_novel * a["novel"])
    return total.tolist()
