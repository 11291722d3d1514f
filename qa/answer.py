"""Scored candidate sentences -> an extractive Answer with citations (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from qa.question import FUTURE_RE, SPAN_PATTERNS, STRICT_KINDS, QuestionInfo, answer_spans
from qa.text import reported_years, terms, year_ranges
from qa.types import Answer, Article, Citation, Passage, Sentence, Span

ABSTAIN_MESSAGE = "I couldn't find this in the articles."
# Types whose absence means "not found". Places are left out: their finder is a heuristic. So are
# persons: "who" is often answered by an organisation ("Ofsted praised…"), and requiring a person cost
# 0.6 points of answer@1 on the whole SQuAD tuning split (benchmarks/tune_answer.md: "persons required").
REQUIRED_KINDS = frozenset({"date", "number", "amount", "percent", "phone", "email", "url"})


@dataclass(frozen=True)
class AnswerParams:
    """Sentence scoring and abstention; chosen by benchmarks/tune.py, tune_answer.py and calibrate.py."""

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
    # Below this evidence score: "not found". benchmarks/calibrate.py proposes it from the 265 news tuning
    # questions (91 unanswerable) and SQuAD v2.0 tuning questions, never the report set.
    threshold: float = 0.50
    dated_margin: float = 0.15  # sentences from other dates this close to the best are shown too
    latest_margin: float = 0.25  # for "now / latest": the newest article's best sentence this close to the best wins
    kind_margin: float = 0.1  # a sentence with the asked-for type this close to the best replaces it
    require_kind: bool = True  # no close sentence has the asked-for type (a date for "when"…): "not found"
    kind_search_margin: float = 0.1  # how close "close" is for require_kind
    abstain_untyped: bool = True  # the answer chosen still lacks a required type: "not found"
    kind_from_neighbour: bool = True  # the best sentence lacks the asked-for type but the sentence just
    #                                   before or after it has it ("…," Cllr X said.): quote both
    required_kinds: frozenset[str] = REQUIRED_KINDS
    neighbour_kinds: frozenset[str] = frozenset(SPAN_PATTERNS)  # the types kind_from_neighbour applies to
    speaker_required: bool = True  # "what did Jane Smith say…" is answered only by words attributed to her
    speaker_name_evidence: bool = False  # "what did Jane Smith say about X": her name counts in the evidence
    #                                      (it is a condition, speaker_required, not support for X)
    future_needs_future: bool = True  # "when will…?" is answered only by a sentence about the future
    precise_kinds: bool = True  # "on what date…" needs a day, "which month…" a month, "what year…" a year;
    #                             "one year on" does not answer "how many inspectors…"
    person_by_role_required: bool = True  # "which inspector…", "who was the director…" need a person's name
    role_required: bool = True  # "who was the director…" is answered by a person named with that role
    since_is_reference: bool = True  # a year only counted from ("since 2016") is not one the text reports on:
    #                                  it neither matches nor brings its article into that year's scope
    period_scope: bool = True  # a question naming a period ("2025-26") is not answered by a sentence naming
    #                            only other periods ("in 2024-2025")
    year_scope: bool = True  # a question naming a year is answered only from articles dated in that year
    #                          or the next, or mentioning it (or undated): the others are about another time
    second_margin: float = 0.05  # a runner-up this close to the best is quoted too (the model can't tell them apart)
    max_quotes: int = 3
    passages_considered: int = 5


@dataclass(frozen=True)
class Candidate:
    sentence: Sentence
    passage: Passage
    dense: float  # the question-sentence cosine, as evidence
    lexical: float  # the idf-weighted share of the question's terms in the sentence, as evidence
    kind_match: bool
    year_match: bool
    score: float
    in_scope: bool = True  # the question names no year, or the sentence's article is of that time (see year_scope)
    speaker_id: str | None = None  # the sentence introducing the quotation this one is in (qa.quotes)
    attributed: bool = True  # the person whose words are asked for is named in it, in the two sentences
    #                          before it, or where its quotation is introduced

    @property
    def evidence(self) -> float:
        """What the abstention threshold is compared with: the sentence's own support."""
        return self.dense + 0.5 * self.lexical


def score_candidate(sentence: Sentence, passage: Passage, top_score: float, dense: float, lexical: float,
                    info: QuestionInfo, params: AnswerParams, article_year: str | None = None,
                    window: float = 0.0, novel: float = 0.0, evidence_lexical: float | None = None,
                    article_mentions: frozenset[str] = frozenset(),
                    evidence_dense: float | None = None, sentence_terms: frozenset[str] | None = None) -> Candidate:
    """``dense`` and ``lexical`` weigh the sentence's choice; ``evidence_dense`` and ``evidence_lexical``
    (default: the same) its evidence; ``article_mentions`` are the years its article names anywhere;
    ``sentence_terms`` its index terms when already known (else the sentence is stemmed again)."""
    kind_match = bool(answer_spans(sentence.text, info, params.precise_kinds)) and (
        not (params.role_required and info.role)
        or info.role in (sentence_terms if sentence_terms is not None else terms(sentence.text)))
    # "since 2016" measures from 2016: it does not report on it
    year_match = bool(info.years) and any(
        y == article_year or y in (reported_years(sentence.text) if params.since_is_reference else sentence.text)
        for y in info.years)
    # News of a year's events is often published early the next year (and our dates may be approximate).
    # An undated article that never names the year may still be of it ("the 2015 season"'s final).
    in_scope = not info.years or article_year is None or year_match or any(
        y in article_mentions or int(article_year) == int(y) + 1 for y in info.years)
    # "the 2025-26 settlement" is not the one "in 2024-2025"
    if params.period_scope and info.periods and (named_periods := year_ranges(sentence.text)):
        in_scope = in_scope and bool(info.periods & named_periods)
    rel = passage.score / top_score if top_score > 0 else 0.0
    score = (params.w_dense * dense + params.w_lexical * lexical + params.w_window * window + params.w_passage * rel
             + params.w_kind * kind_match + params.w_year * year_match + params.w_novel * novel)
    evidence = lexical if evidence_lexical is None else evidence_lexical
    return Candidate(sentence, passage, dense if evidence_dense is None else evidence_dense, evidence, kind_match,
                     year_match, score, in_scope)


def short_answer(sentence: Sentence, info: QuestionInfo) -> Span | None:
    """The one span of the asked-for type in the sentence that the question doesn't already say."""
    spans = answer_spans(sentence.text, info)
    if len(spans) != 1:
        return None
    a, b = spans[0]
    return Span(kind=info.kind, start=sentence.start + a, end=sentence.start + b, text=sentence.text[a:b])


def date_key(article: Article) -> str:
    return article.date or ""


def _with_typed_neighbour(best: Candidate, ranked: list[Candidate]) -> list[Candidate]:
    """``best`` and the adjacent sentence of its article holding the asked-for type, or the sentence
    introducing the quotation it is part of ("Cllr Smith said:"), in reading order."""
    s = best.sentence
    for offset in (-1, 1):  # a speaker is more often named just before a quote than after it
        for c in ranked:
            if (c.kind_match and c.sentence.article_id == s.article_id
                    and c.sentence.ordinal == s.ordinal + offset):
                return sorted([best, c], key=lambda x: x.sentence.ordinal)
    if best.speaker_id is not None:
        for c in ranked:
            if c.kind_match and c.sentence.id == best.speaker_id:
                return [c, best]
    return []


def _with_continuation(quotes: list[Candidate], ranked: list[Candidate]) -> list[Candidate]:
    """A quote that ends in a colon ("Inspectors found:", "…, said:") is followed by the sentence it
    introduces, when that sentence is among the candidates."""
    out: list[Candidate] = []
    for q in quotes:
        out.append(q)
        if q.sentence.text.rstrip().endswith(":"):
            nxt = next((c for c in ranked if c.sentence.article_id == q.sentence.article_id
                        and c.sentence.ordinal == q.sentence.ordinal + 1), None)
            if nxt is not None and nxt not in out and nxt not in quotes:
                out.append(nxt)
    return out


def _exclusions(info: QuestionInfo, params: AnswerParams) -> list[tuple[Callable[[Candidate], bool], str]]:
    """The rules that keep a sentence out for this question: (which sentences they keep, the reason
    shown when they keep none)."""
    rules: list[tuple[Callable[[Candidate], bool], str]] = []
    if params.year_scope and info.years:
        rules.append((lambda c: c.in_scope,
                      "no article close to the question is from or mentions " + " or ".join(info.years)))
    if params.speaker_required and info.speaker:
        rules.append((lambda c: c.attributed, f"no passage close to the question gives words of {info.speaker}"))
    if params.future_needs_future and info.future:
        rules.append((lambda c: bool(FUTURE_RE.search(c.sentence.text)),
                      "no passage close to the question speaks of the future"))
    return rules


def choose(candidates: list[Candidate], info: QuestionInfo, articles: dict[str, Article],
           params: AnswerParams) -> tuple[list[Candidate], bool]:
    """The candidates to quote (best first, or newest first when dated) and whether they are dated."""
    ranked = sorted(candidates, key=lambda c: (-c.score, c.sentence.id))
    for keep, _ in _exclusions(info, params):
        ranked = [c for c in ranked if keep(c)]
    if info.kind in STRICT_KINDS:
        ranked = [c for c in ranked if c.kind_match]
    if not ranked:
        return [], False
    best = ranked[0]
    if info.kind and not best.kind_match:
        typed = [c for c in ranked if c.kind_match and c.score >= best.score - params.kind_search_margin]
        if typed and typed[0].score >= best.score - params.kind_margin:
            best = typed[0]
            ranked = [best] + [c for c in ranked if c is not best]
        elif (params.kind_from_neighbour and info.kind in params.neighbour_kinds
              and (pair := _with_typed_neighbour(best, ranked))):
            return pair, False
        elif params.require_kind and (info.kind in params.required_kinds or (
                info.person_by_role and params.person_by_role_required)) and (
                not typed or params.abstain_untyped):
            return [], False
    # When the best holds the asked-for type, so must the others quoted beside it.
    margin = params.latest_margin if info.latest else params.dated_margin
    close = [c for c in ranked if c.score >= best.score - margin and (c.kind_match or not best.kind_match)]
    per_article: dict[str, Candidate] = {}
    for c in close:
        per_article.setdefault(c.sentence.article_id, c)
    dates = {articles[a].date for a in per_article if articles[a].date}
    if info.latest and len(per_article) > 1:
        newest = max(per_article.values(), key=lambda c: (date_key(articles[c.sentence.article_id]), c.score))
        return _with_continuation([newest], ranked), False
    if info.years or len(dates) < 2:
        runner_up = [c for c in ranked[1:2] if c.score >= best.score - params.second_margin]
        return _with_continuation([best] + runner_up, ranked), False
    quotes = sorted(per_article.values(), key=lambda c: (date_key(articles[c.sentence.article_id]), c.score),
                    reverse=True)[: params.max_quotes]
    return quotes, True


def build_answer(
    question: str,
    query: str,
    candidates: list[Candidate],
    passages: list[Passage],
    info: QuestionInfo,
    articles: dict[str, Article],
    params: AnswerParams,
    *,
    notices: tuple[str, ...] = (),
    unknown_names: tuple[str, ...] = (),
) -> Answer:
    """Quote the chosen sentences verbatim, or abstain when the evidence is weak.

    Abstains when the best sentence's evidence is under the calibrated threshold, when the question
    names something that appears nowhere in the collection, or when it asks for a phone number,
    e-mail or web address and no candidate holds one.
    """
    quotes, dated = choose(candidates, info, articles, params)
    confidence = max((c.evidence for c in quotes), default=0.0)
    reason = ""
    if unknown_names:
        reason = "the articles never mention " + ", ".join(f"“{n}”" for n in unknown_names)
    elif not quotes and (excluded := next((why for keep, why in _exclusions(info, params)
                                           if not any(keep(c) for c in candidates)), "")):
        reason = excluded
    elif not quotes:
        reason = f"no passage close to the question gives a {info.kind}" if info.kind else "no passage matched"
    elif confidence < params.threshold:
        reason = "the closest passages match too weakly"
    if reason:
        return Answer(question=question, answer="", abstained=True, citations=(), passages=tuple(passages),
                      message=ABSTAIN_MESSAGE, notices=notices + (f"Not answered: {reason}.",), query=query,
                      confidence=confidence, articles=articles)
    citations = []
    for n, c in enumerate(quotes, 1):
        a = articles[c.sentence.article_id]
        citations.append(Citation(
            number=n, article_id=a.id, title=a.title, date=a.date, date_approximate=a.date_approximate,
            source=a.source, url=a.url, start=c.sentence.start, end=c.sentence.end, quote=c.sentence.text,
            chunk_id=c.passage.chunk.id, score=c.score, short_answer=short_answer(c.sentence, info),
        ))
    return Answer(
        question=question, answer=" ".join(c.quote for c in citations), abstained=False,
        citations=tuple(citations), passages=tuple(passages), message="", notices=notices, query=query,
        dated=dated, confidence=confidence, articles=articles,
    )
