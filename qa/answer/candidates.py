"""Candidate sentences for a question: the sentences of the top passages, each scored and matched
against what the question asks (its type, its year, the speaker it names)."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

import numpy as np

from qa.answer.facts import IndexFacts
from qa.answer.params import AnswerParams
from qa.answer.scoring import Features, scores
from qa.question import QuestionInfo, context_words, date_words
from qa.spans import find_spans, holding
from qa.text import reported_years, terms, year_ranges
from qa.types import Passage, Sentence


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


@dataclass(frozen=True)
class Focus:
    """A follow-up's own words and their vector: they weigh fully in choosing the sentence, the earlier
    question's words and vector half."""

    terms: frozenset[str]
    vector: np.ndarray


@dataclass(frozen=True)
class TermWeights:
    """The question's terms, and what each weighs in choosing a sentence and in judging its evidence."""

    terms: frozenset[str]
    choice: dict[str, float]
    choice_total: float
    evidence: dict[str, float]
    evidence_total: float
    separate: bool  # the evidence weighs terms differently from the choice (date words, an occasion, a speaker)

    def choice_share(self, found) -> float:
        return sum(self.choice[t] for t in found) / self.choice_total

    def evidence_share(self, found) -> float:
        return sum(self.evidence[t] for t in found) / self.evidence_total


@dataclass(frozen=True)
class Match:
    kind_match: bool
    year_match: bool
    in_scope: bool


@dataclass(frozen=True)
class MatchRules:
    """The rules of sentence_match, read from the parameters once per question, not per sentence."""

    precise_kinds: bool
    role_required: bool
    since_is_reference: bool
    period_scope: bool

    @classmethod
    def of(cls, params: AnswerParams) -> "MatchRules":
        return cls(params.on("precise_kinds"), params.on("role_required"), params.on("since_is_reference"),
                   params.on("period_scope"))


@dataclass(frozen=True)
class ArticleYears:
    """The years of a sentence's article: of its date, named in it, and named less those only counted from."""

    year: str | None
    mentions: frozenset[str] = frozenset()
    reports: frozenset[str] = frozenset()


@dataclass(frozen=True)
class SentenceFacts:
    """What sentence_match reads of a sentence."""

    text: str
    terms: frozenset[str]  # its index terms
    reported_years: frozenset[str]  # the years it names, less those it only counts from ("since 2016")
    typed: bool  # it holds a span of the asked-for type (qa.spans.holding, for all candidates at once)


def sentence_match(sentence: SentenceFacts, cues: QuestionInfo, article: ArticleYears, rules: MatchRules) -> Match:
    """Whether a sentence holds the asked-for type, names the question's year, and is of its time (pure)."""
    text = sentence.text
    role_ok = not (rules.role_required and cues.role) or cues.role in sentence.terms
    kind_match = sentence.typed and role_ok
    since = rules.since_is_reference  # "since 2016" measures from 2016: it does not report on it
    year_match = bool(cues.years) and any(
        y == article.year or y in (sentence.reported_years if since else text) for y in cues.years)
    # News of a year's events is often published early the next year (and our dates may be approximate).
    # An undated article that never names the year may still be of it ("the 2015 season"'s final).
    mentions = article.reports if since else article.mentions
    in_scope = not cues.years or article.year is None or year_match or any(
        y in mentions or int(article.year) == int(y) + 1 for y in cues.years)
    # "the 2025-26 settlement" is not the one "in 2024-2025"
    if rules.period_scope and cues.periods and (named_periods := year_ranges(text)):
        in_scope = in_scope and bool(cues.periods & named_periods)
    return Match(kind_match, year_match, in_scope)


class CandidateFinder:
    """Finds and scores the candidate sentences for one question.

    Usage example:
        finder = CandidateFinder(IndexFacts.of(index), AnswerParams())
        candidates = finder.find(query, analyze(question), passages, vector)
    """

    def __init__(self, facts: IndexFacts, params: AnswerParams):
        self.facts = facts
        self.params = params
        self.rules = MatchRules.of(params)

    def term_weights(self, query: str, cues: QuestionInfo, focus: Focus | None, occasion: str) -> TermWeights:
        """Each query term weighs its idf; a follow-up's earlier words half (followup_focus). Two kinds of
        words say which occasion is meant, not what is asked: the question's dates ("in December 2023")
        and a clause naming the occasion ("… when it was rated good"). They weigh ``date_term_weight`` and
        ``context_term_weight`` in the choice, fully in the evidence (the threshold was calibrated on that)."""
        params = self.params
        q_terms = set(terms(query))
        weight = self.facts.term_weights(q_terms)
        if focus is not None:
            weight = {t: w if t in focus.terms else 0.5 * w for t, w in weight.items()}
        dated = set(terms(" ".join(date_words(query))))
        clauses = context_words(query) + ([occasion] if occasion else [])
        rest = query
        for c in clauses:
            rest = rest.replace(c, " ")
        occasion_terms = set(terms(" ".join(clauses))) - set(terms(rest)) - dated
        choice = {t: w * (params.date_term_weight if t in dated else
                          params.context_term_weight if t in occasion_terms else 1.0)
                  for t, w in weight.items()}
        # "What did Jane Smith say about X?": her name is a condition (speaker_required), not support for X.
        unsupported = cues.speaker_terms & q_terms if self.params.on("speaker_name_not_evidence") else frozenset()
        evidence = {t: 0.0 if t in unsupported else w for t, w in weight.items()}
        return TermWeights(frozenset(q_terms), choice, sum(choice.values()) or 1.0, evidence,
                           sum(evidence.values()) or 1.0, bool(dated or occasion_terms or unsupported))

    def article_years(self, article_id: str, cues: QuestionInfo) -> ArticleYears:
        """The article's date year, and (for a question naming a year) the years it names."""
        facts = self.facts
        if cues.years:  # the years an article names matter only to a question naming one
            return ArticleYears(facts.article_year(article_id), facts.years_named(article_id, reported=False),
                                facts.years_named(article_id, reported=True))
        return ArticleYears(facts.article_year(article_id))

    def match(self, sentence: Sentence, sentence_terms: frozenset[str], typed: bool, cues: QuestionInfo,
              article: ArticleYears, named: frozenset[str]) -> Match:
        """``article``: article_years of its article; ``named``: the years the sentence reports on."""
        return sentence_match(SentenceFacts(sentence.text, sentence_terms, named, typed), cues, article, self.rules)

    def find(self, query: str, cues: QuestionInfo, passages: list[Passage], vector: np.ndarray,
             focus: Focus | None = None, occasion: str = "") -> list[Candidate]:
        """Score the sentences of the top passages (each once, with the best passage holding it).

        Args:
            query: what was searched (a follow-up: its words and the earlier question's).
            cues: what the question asks for (qa.question.analyze).
            passages: retrieved passages, best first; the first ``passages_considered`` are read.
            vector: the query's vector.
            focus: a follow-up's own words and vector (followup_focus), or None.
            occasion: a follow-up that only names another occasion ("what about in the 2023 report?"): its
                words say which article, not which sentence.
        """
        params, facts = self.params, self.facts
        weights = self.term_weights(query, cues, focus, occasion)
        top = passages[0].score if passages else 0.0
        seen: set[str] = set()
        rows, pairs = [], []
        for p in passages[: params.passages_considered]:
            for s, row in facts.sentences_of(p):
                if s.id not in seen:
                    seen.add(s.id)  # the first (best) passage holding it wins
                    rows.append(row)
                    pairs.append((s, p))
        if not rows:
            return []
        vectors = facts.index.sentence_vectors_at(rows)
        dense = vectors @ vector
        # A follow-up's evidence is the better of its match with the whole turn (its words and the earlier
        # question's: "what did that money pay for?" means little alone) and the mix that chose it.
        whole = dense.tolist() if focus is not None else [None] * len(rows)
        if focus is not None:
            dense = 0.5 * dense + 0.5 * (vectors @ focus.vector)
        speaker = re.compile(rf"\b{re.escape(cues.speaker)}\b") if cues.speaker else None
        novelty = params.w_novel != 0
        f = Features([], [], [], [], [], [], [])
        matches, evidence = [], []
        typed = holding([s.text for s, _ in pairs], cues, self.rules.precise_kinds)
        # What the index knows of these rows, read in one call each (not one per sentence and fact)
        terms_of = facts.terms_of(rows)
        before_of = facts.terms_of([row - 1 if s.ordinal > 0 else None for (s, _), row in zip(pairs, rows)])
        years_of = {aid: self.article_years(aid, cues) for aid in dict.fromkeys(s.article_id for s, _ in pairs)}
        named_of = ([frozenset(reported_years(s.text)) for s, _ in pairs] if cues.years
                    else [frozenset()] * len(pairs))
        for (s, p), d, kind, sentence_terms, before_terms, named in zip(pairs, dense.tolist(), typed, terms_of,
                                                                        before_of, named_of):
            own = sentence_terms & weights.terms
            before = before_terms & weights.terms
            m = self.match(s, sentence_terms, kind, cues, years_of[s.article_id], named)
            matches.append(m)
            f.dense.append(d)
            f.lexical.append(weights.choice_share(own))
            f.window.append(weights.choice_share(own | before))
            f.passage.append(p.score / top if top > 0 else 0.0)
            f.kind_match.append(m.kind_match)
            f.year_match.append(m.year_match)
            f.novel.append(len(sentence_terms - weights.terms) / len(sentence_terms)
                           if novelty and sentence_terms else 0.0)
            evidence.append(weights.evidence_share(own) if weights.separate else f.lexical[-1])
        out = [Candidate(s, p, d if w is None else max(w, d), e, m.kind_match, m.year_match, score, m.in_scope,
                         speaker_id=sid, attributed=speaker is None or facts.attributed(s, speaker))
               for (s, p), sid, d, w, e, m, score in zip(pairs, facts.speaker_ids(rows), f.dense, whole, evidence,
                                                         matches, scores(f, params))]
        if cues.kind == "person" and params.on("quote_speakers"):
            out += self.speakers(out, cues, seen)
        return out

    def speakers(self, candidates: list[Candidate], cues: QuestionInfo, seen: set[str]) -> list[Candidate]:
        """The sentences introducing the quotations that candidates are part of, when not candidates
        already: "who said…?" is answered by "Cllr Smith said:" several paragraphs up. They score lowest,
        so they are only quoted beside the sentence they introduce."""
        facts, out = self.facts, []
        floor = min((c.score for c in candidates), default=0.0) - 1.0
        for sid in dict.fromkeys(c.speaker_id for c in candidates if c.speaker_id and c.speaker_id not in seen):
            s = facts.sentence(sid)
            passage = Passage(chunk=facts.chunk_holding(s), rank=0, score=0.0, dense=0.0, lexical=0.0)
            out.append(Candidate(s, passage, 0.0, 0.0, bool(find_spans(s.text, cues.kind)), False, floor))
            seen.add(sid)
        return out

    def attribution(self, previous_answer: str, cues: QuestionInfo, passages: list[Passage]) -> list[Candidate]:
        """"Who said that?": the previous answer's sentence, or the nearest sentence before it in its
        article that holds the asked-for span (the speaker of a quote is often named just before it)."""
        quoted = self.facts.quoted_in(previous_answer)
        if not quoted:
            return []
        first = quoted[0]
        introduction = self.facts.speaker(first)
        # inside a quotation over several paragraphs: who introduced it
        nearby = [introduction, first] if introduction is not None else self.facts.before(first, 3)
        for s in reversed(nearby):
            if not cues.kind or find_spans(s.text, cues.kind):
                passage = next((p for p in passages if p.chunk.article_id == s.article_id), passages[0])
                return [Candidate(s, passage, 1.0, 1.0, bool(cues.kind), False, 10.0)]
        return []

    def penalise_quoted(self, candidates: list[Candidate], previous_answer: str) -> list[Candidate]:
        """A follow-up's candidates, less ``quoted_penalty`` for what the previous answer already quoted:
        it is less likely to be news."""
        quoted = {s.id for s in self.facts.quoted_in(previous_answer)}
        return [replace(c, score=c.score - self.params.quoted_penalty) if c.sentence.id in quoted else c
                for c in candidates]
