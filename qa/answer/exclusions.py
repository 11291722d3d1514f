"""The rules that keep a sentence from answering at all: one ordered table of named entries.

Each entry says when it applies (to the question), which candidate sentences it keeps, and the reason
given when it keeps none. When every sentence is ruled out, the reason shown is that of the first entry,
in this order, that keeps none of them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from qa.answer.candidates import Candidate
from qa.answer.params import AnswerParams
from qa.question import QuestionInfo

# Strict kinds: an answer without such a span is no answer at all.
STRICT_KINDS = frozenset({"phone", "email", "url"})
FUTURE_RE = re.compile(
    r"\b(?:will|won't|would|shall|going to|expected|expects?|due|plans?|planned|planning|schedul\w*|next|upcoming|"
    r"future|intends?|intended|aims?|set to|later|coming|forthcoming|from now|proposed|proposals?)\b", re.I)


@dataclass(frozen=True)
class Exclusion:
    name: str  # its entry in qa.answer.params.RULES
    applies: Callable[[QuestionInfo], bool]
    keeps: Callable[[Candidate], bool]
    reason: Callable[[QuestionInfo], str]  # shown when it keeps no candidate


EXCLUSIONS: tuple[Exclusion, ...] = (
    Exclusion("year_scope", lambda q: bool(q.years), lambda c: c.in_scope,
              lambda q: "no article close to the question is from or mentions " + " or ".join(q.years)),
    Exclusion("speaker_required", lambda q: bool(q.speaker), lambda c: c.attributed,
              lambda q: f"no passage close to the question gives words of {q.speaker}"),
    Exclusion("future_needs_future", lambda q: q.future, lambda c: bool(FUTURE_RE.search(c.sentence.text)),
              lambda q: "no passage close to the question speaks of the future"),
    Exclusion("strict_kinds", lambda q: q.kind in STRICT_KINDS, lambda c: c.kind_match,
              lambda q: f"no passage close to the question gives a {q.kind}"),
)


def apply(candidates: list[Candidate], cues: QuestionInfo, params: AnswerParams) -> tuple[list[Candidate], str]:
    """The candidates that every entry switched on and applying to this question keeps, in their order;
    when none is left, the reason of the first entry that keeps none of them ("" when each keeps some)."""
    rules = [e for e in EXCLUSIONS if params.on(e.name) and e.applies(cues)]
    kept = candidates
    for rule in rules:
        kept = [c for c in kept if rule.keeps(c)]
    if kept:
        return kept, ""
    return kept, next((e.reason(cues) for e in rules if not any(e.keeps(c) for c in candidates)), "")
