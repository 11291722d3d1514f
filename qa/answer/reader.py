"""The answer stage's one entry point: a question and its passages in, an Answer with citations out."""

from __future__ import annotations

from typing import Callable

from qa.answer.candidates import Candidate, CandidateFinder, Focus
from qa.answer.facts import IndexFacts
from qa.answer.params import ABSTAIN_MESSAGE, AnswerParams
from qa.answer.select import Selection, abstention, select
from qa.conversation import FollowUp, Question
from qa.question import QuestionInfo
from qa.spans import answer_spans
from qa.text import terms
from qa.types import Answer, Citation, Passage, QueryVectors, Sentence, Span

NO_CUES = QuestionInfo(kind=None, latest=False, years=())


class Reader:
    """Quotes the sentences that answer a question, or abstains and says why.

    It owns every answering rule (AnswerParams.rules): how sentences are scored, which may answer, which
    are quoted, and when "not found" is the answer.

    Usage example:
        reader = Reader(IndexFacts.of(index), AnswerParams())
        answer = reader.answer(question, vectors, passages, top_k=5)
    """

    def __init__(self, facts: IndexFacts, params: AnswerParams = AnswerParams(),
                 rerank: Callable[[Question, list[Candidate]], list[Candidate]] | None = None):
        """``rerank`` (none in the shipped system) may re-score the candidates before the quotes are chosen:
        benchmarks/cross_encoder_trial.py plugs a cross-encoder in there."""
        self.facts = facts
        self.params = params
        self.rerank = rerank

    @property
    def passages_needed(self) -> int:
        """How many retrieved passages the stage reads."""
        return self.params.passages_considered

    def variant(self, params: AnswerParams | None = None,
                rerank: Callable[[Question, list[Candidate]], list[Candidate]] | None = None) -> "Reader":
        """The same index's reader with other parameters or a re-ranker (a tuning variant)."""
        return Reader(self.facts, params or self.params, rerank or self.rerank)

    def answer(self, question: Question, vectors: QueryVectors, passages: list[Passage], *, top_k: int,
               method: str = "hybrid", notices: tuple[str, ...] = ()) -> Answer:
        """Answer ``question`` from ``passages`` (best first); the first ``top_k`` are listed with it.

        The bm25 and dense baselines get the plain answer (AnswerParams.for_baseline), the shipped
        hybrid method every rule.
        """
        shown = passages[:top_k]
        if method != "hybrid":
            params = self.params.for_baseline()
            finder = CandidateFinder(self.facts, params)
            candidates = finder.find(question.query, NO_CUES, passages[: params.passages_considered], vectors.search)
            selection = select(candidates, NO_CUES, self.facts.index.articles, params)
            return self._answer(question, selection, shown, cues=NO_CUES, unknown=(), params=params, notices=notices)
        finder = CandidateFinder(self.facts, self.params)
        candidates = self._candidates(finder, question, vectors, passages)
        if self.rerank is not None:
            candidates = self.rerank(question, candidates)
        unknown = (self.facts.unknown_names(question.text)
                   if question.followup is FollowUp.NONE and self.params.on("unknown_names") else ())
        selection = select(candidates, question.cues, self.facts.index.articles, self.params)
        return self._answer(question, selection, shown, cues=question.cues, unknown=unknown, params=self.params,
                            notices=notices)

    def _candidates(self, finder: CandidateFinder, question: Question, vectors: QueryVectors,
                    passages: list[Passage]) -> list[Candidate]:
        cues, kind = question.cues, question.followup
        if kind is FollowUp.ATTRIBUTION and self.params.on("attribution"):
            found = finder.attribution(question.previous_answer, cues, passages)
            if found:
                return found
        if kind in (FollowUp.NONE, FollowUp.ATTRIBUTION):
            return finder.find(question.query, cues, passages, vectors.search)
        # The follow-up's own words weigh more in choosing the sentence; the earlier turn mainly helped
        # find the passages. What the previous answer already quoted is less likely to be news.
        focus = (Focus(frozenset(terms(question.text)), vectors.own)
                 if kind is FollowUp.FOCUSED and self.params.on("followup_focus") else None)
        occasion = question.text if kind is FollowUp.OCCASION else ""  # its words say which article
        candidates = finder.find(question.query, cues, passages, vectors.search, focus, occasion)
        return finder.penalise_quoted(candidates, question.previous_answer)

    def _answer(self, question: Question, selection: Selection, shown: list[Passage], *, cues: QuestionInfo,
                unknown: tuple[str, ...], params: AnswerParams, notices: tuple[str, ...]) -> Answer:
        """Quote the chosen sentences verbatim, or abstain with the reason as a notice."""
        articles = self.facts.index.articles
        reason = abstention(selection, unknown, params)
        if reason:
            return Answer(question=question.text, answer="", abstained=True, citations=(), passages=tuple(shown),
                          message=ABSTAIN_MESSAGE, notices=notices + (f"Not answered: {reason}.",),
                          query=question.query, confidence=selection.confidence, articles=articles)
        citations = []
        for n, c in enumerate(selection.quotes, 1):
            a = articles[c.sentence.article_id]
            citations.append(Citation(
                number=n, article_id=a.id, title=a.title, date=a.date, date_approximate=a.date_approximate,
                source=a.source, url=a.url, start=c.sentence.start, end=c.sentence.end, quote=c.sentence.text,
                chunk_id=c.passage.chunk.id, score=c.score,
                short_answer=short_answer(c.sentence, cues),
            ))
        return Answer(
            question=question.text, answer=" ".join(c.quote for c in citations), abstained=False,
            citations=tuple(citations), passages=tuple(shown), message="", notices=notices,
            query=question.query, dated=selection.dated, confidence=selection.confidence, articles=articles,
        )


def nothing_to_search(question: Question, described: str, notices: tuple[str, ...] = ()) -> Answer:
    """The answer when a filter keeps no article: said as such, not as a "not found"."""
    message = f"No article matches this filter ({described})." if described else "No article matches this filter."
    return Answer(question=question.text, answer="", abstained=True, citations=(), passages=(), message=message,
                  notices=notices + ("Change or clear the filter to search more articles.",), query=question.query)


def short_answer(sentence: Sentence, cues: QuestionInfo) -> Span | None:
    """The one span of the asked-for type in the sentence that the question doesn't already say."""
    spans = answer_spans(sentence.text, cues)
    if len(spans) != 1:
        return None
    a, b = spans[0]
    return Span(kind=cues.kind, start=sentence.start + a, end=sentence.start + b, text=sentence.text[a:b])
