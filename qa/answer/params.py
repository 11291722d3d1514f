"""The answer stage's parameters: weights, margins and the set of rules switched on, by name.

Every rule the stage applies has an entry in RULES; the stage module named there is the only one that
reads it. A variant for tuning or an ablation is built from the shipped parameters:

    AnswerParams().without("year_scope")            # one rule off
    replace(AnswerParams(), threshold=0.55)          # a weight or margin changed

An unknown rule name is an error that lists the valid ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from qa.errors import UsageError
from qa.spans import SPAN_PATTERNS

ABSTAIN_MESSAGE = "I couldn't find this in the articles."
# Types whose absence means "not found". Places are left out: their finder is a heuristic. So are
# persons: "who" is often answered by an organisation ("Ofsted praised…"), and requiring a person cost
# 0.6 points of answer@1 on the whole SQuAD tuning split (benchmarks/tune_answer.md: "persons required").
REQUIRED_KINDS = frozenset({"date", "number", "amount", "percent", "phone", "email", "url"})


@dataclass(frozen=True)
class Rule:
    """One rule of the answer stage: its name, the module that applies it, and what it does."""

    name: str
    stage: str  # the module of qa/answer/ that reads it
    does: str


RULES: tuple[Rule, ...] = (
    # how a sentence matches the question (qa/answer/candidates.py)
    Rule("precise_kinds", "candidates", "'on what date…' needs a day, 'which month…' a month, 'what year…' a year; "
         "'one year on' does not answer 'how many inspectors…'; 'exactly how many' is not answered in words"),
    Rule("role_required", "candidates", "'who was the director…' is answered by a person named with that role"),
    Rule("since_is_reference", "candidates", "a year only counted from ('since 2016') is not one a text reports on: "
         "it neither matches the question's year nor brings its article into that year's scope"),
    Rule("period_scope", "candidates", "a question naming a period ('the 2025-26 settlement') is not answered by a "
         "sentence naming only other periods ('in 2024-2025')"),
    Rule("speaker_name_not_evidence", "candidates", "'what did Jane Smith say about X': her name is a condition "
         "(speaker_required), not evidence for X"),
    Rule("quote_speakers", "candidates", "'who said…?' also weighs the sentence that introduces a quotation running "
         "over several paragraphs ('Cllr Smith said:')"),
    # how a follow-up is read (qa/answer/reader.py)
    Rule("followup_focus", "reader", "a follow-up's own words weigh fully in choosing the sentence, the earlier "
         "question's half"),
    Rule("attribution", "reader", "'who said that?' is answered from the previous answer's sentence, or the "
         "sentence before it (or introducing its quotation) that names the asked-for type"),
    # which sentences may answer at all (qa/answer/exclusions.py), in the order their reasons are given
    Rule("year_scope", "exclusions", "a question naming a year is answered only from articles dated in that year "
         "or the next, or mentioning it, or undated"),
    Rule("speaker_required", "exclusions", "'what did Jane Smith say…' is answered only by words attributed to her"),
    Rule("future_needs_future", "exclusions", "'when will…?' is answered only by a sentence about the future"),
    Rule("strict_kinds", "exclusions", "a phone number, e-mail or web address is answered only by a sentence "
         "holding one"),
    # choosing the quotes (qa/answer/select.py)
    Rule("typed_neighbour", "select", "the best sentence lacks the asked-for type but the sentence just before or "
         "after it has it ('…,' Cllr X said.): quote both"),
    Rule("required_kind", "select", "a question asking for a date, number, amount, percentage or contact with no "
         "close sentence holding one: not found"),
    Rule("person_by_role", "select", "'which inspector…', 'who was the director…' with no close sentence naming a "
         "person: not found"),
    Rule("untyped_answer", "select", "a typed sentence exists but too far below the best to replace it: not found "
         "(rather than quoting the untyped best)"),
    Rule("unknown_names", "reader", "a question naming something that appears nowhere in the collection: "
         "not found"),
)
RULE_NAMES = frozenset(r.name for r in RULES)


def check_rules(names) -> frozenset[str]:
    """``names`` as a frozenset, each a rule of RULES.

    Raises:
        UsageError: naming the unknown rule(s) and listing the valid names.
    """
    names = frozenset([names] if isinstance(names, str) else names)
    unknown = sorted(names - RULE_NAMES)
    if unknown:
        raise UsageError(f"unknown answer rule{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}; "
                         f"the rules are: {', '.join(r.name for r in RULES)}.")
    return names


@dataclass(frozen=True)
class AnswerParams:
    """Sentence scoring and abstention; chosen by benchmarks/tune.py, tune_answer.py and calibrate.py.

    Usage example:
        params = AnswerParams().without("year_scope")  # an ablation
        params.on("speaker_required")                   # -> True
    """

    w_dense: float = 1.0  # question-sentence cosine
    w_lexical: float = 0.5  # idf-weighted share of the question's terms in the sentence
    w_window: float = 0.25  # the same share over the sentence and the one before it ("It…", "This…")
    w_passage: float = 0.5  # the fused score of the best passage holding the sentence, relative to the top one
    w_kind: float = 0.1  # the sentence holds a span of the asked-for type (date, number, person…)
    w_year: float = 0.3  # the sentence names, or its article is dated in, the year the question names
    date_term_weight: float = 0.0  # the weight of the question's month and year words in choosing the sentence
    #                              (w_lexical, w_window); their evidence counts them fully
    context_term_weight: float = 0.0  # likewise for the words of a clause naming the occasion ("… when it was
    #                                   rated good", "according to the 2023 report"): it picks the article
    w_novel: float = 0.0  # share of the sentence's terms that the question does not already say: a
    #                       sentence that only restates the question (a lead, a headline) answers nothing
    quoted_penalty: float = 0.15  # taken off a sentence the previous answer already quoted, in a follow-up
    # Below this evidence score: "not found". benchmarks/calibrate.py proposes it from the 265 news tuning
    # questions (91 unanswerable) and SQuAD v2.0 tuning questions, never the report set.
    threshold: float = 0.50
    dated_margin: float = 0.15  # sentences from other dates this close to the best are shown too
    latest_margin: float = 0.25  # for "now / latest": the newest article's best sentence this close to the best wins
    kind_margin: float = 0.1  # a sentence with the asked-for type this close to the best replaces it
    kind_search_margin: float = 0.1  # how close "close" is for required_kind / person_by_role
    second_margin: float = 0.05  # a runner-up this close to the best is quoted too (the model can't tell them apart)
    max_quotes: int = 3
    passages_considered: int = 5
    required_kinds: frozenset[str] = REQUIRED_KINDS  # the types required_kind applies to
    neighbour_kinds: frozenset[str] = frozenset(SPAN_PATTERNS)  # the types typed_neighbour applies to
    rules: frozenset[str] = field(default=RULE_NAMES)  # the rules switched on (RULES)

    def __post_init__(self) -> None:
        object.__setattr__(self, "rules", check_rules(self.rules))
        if self.passages_considered < 1:
            raise UsageError(f"passages_considered must be at least 1; it is {self.passages_considered}.")
        if self.max_quotes < 1:
            raise UsageError(f"max_quotes must be at least 1; it is {self.max_quotes}.")

    def on(self, name: str) -> bool:
        """Whether rule ``name`` is switched on (an unknown name is an error, so a typo cannot pass)."""
        if name not in RULE_NAMES:
            check_rules(name)  # raises, listing the valid names
        return name in self.rules

    def without(self, *names: str) -> "AnswerParams":
        """These parameters with the named rules switched off."""
        return replace(self, rules=self.rules - check_rules(names))

    def with_rules(self, *names: str) -> "AnswerParams":
        """These parameters with the named rules switched on."""
        return replace(self, rules=self.rules | check_rules(names))

    def for_baseline(self) -> "AnswerParams":
        """The plain answer of the bm25 and dense baselines: the best-scoring sentence of the top three
        passages, no rule, no runner-up, never abstaining when a sentence was found."""
        return replace(self, threshold=-1.0, dated_margin=-1.0, second_margin=-1.0, passages_considered=3,
                       rules=frozenset())
