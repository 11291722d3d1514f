"""Which candidates to quote, and whether to answer at all: the reason is returned, never re-derived."""

from __future__ import annotations

from dataclasses import dataclass

from qa.answer import exclusions
from qa.answer.candidates import Candidate
from qa.answer.params import AnswerParams
from qa.question import QuestionInfo
from qa.types import Article, date_order


@dataclass(frozen=True)
class Selection:
    """The quotes (best first, or newest first when ``dated``), or none and why."""

    quotes: tuple[Candidate, ...]
    dated: bool = False  # the sources differ over time: quotes are shown newest first
    reason: str = ""  # why nothing is quoted ("" when quotes were chosen)

    @property
    def confidence(self) -> float:
        return max((c.evidence for c in self.quotes), default=0.0)


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


def _with_continuation(quotes: list[Candidate], ranked: list[Candidate]) -> tuple[Candidate, ...]:
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
    return tuple(out)


def select(candidates: list[Candidate], cues: QuestionInfo, articles: dict[str, Article],
           params: AnswerParams) -> Selection:
    """The candidates to quote: the best, a runner-up the model cannot tell from it, the typed sentence
    close to it, or, when close sentences come from articles of different dates, one per article newest
    first; for "now / latest" questions the newest article's best within ``latest_margin``.

    Returns:
        A Selection; when it quotes nothing, its reason says why (a rule of exclusions.EXCLUSIONS, or no
        close sentence of the asked-for type).
    """
    ranked, why = exclusions.apply(sorted(candidates, key=lambda c: (-c.score, c.sentence.id)), cues, params)
    if not ranked:
        return Selection((), reason=why or (f"no passage close to the question gives a {cues.kind}" if cues.kind
                                            else "no passage matched"))
    best = ranked[0]
    if cues.kind and not best.kind_match:
        typed = [c for c in ranked if c.kind_match and c.score >= best.score - params.kind_search_margin]
        required = ((params.on("required_kind") and cues.kind in params.required_kinds)
                    or (params.on("person_by_role") and cues.person_by_role))
        if typed and typed[0].score >= best.score - params.kind_margin:
            best = typed[0]
            ranked = [best] + [c for c in ranked if c is not best]
        elif (params.on("typed_neighbour") and cues.kind in params.neighbour_kinds
              and (pair := _with_typed_neighbour(best, ranked))):
            return Selection(tuple(pair))
        elif required and (not typed or params.on("untyped_answer")):
            return Selection((), reason=f"no passage close to the question gives a {cues.kind}")
    # When the best holds the asked-for type, so must the others quoted beside it.
    margin = params.latest_margin if cues.latest else params.dated_margin
    close = [c for c in ranked if c.score >= best.score - margin and (c.kind_match or not best.kind_match)]
    per_article: dict[str, Candidate] = {}
    for c in close:
        per_article.setdefault(c.sentence.article_id, c)
    dates = {articles[a].date for a in per_article if articles[a].date}
    if cues.latest and len(per_article) > 1:
        newest = max(per_article.values(), key=lambda c: (date_order(articles[c.sentence.article_id].date), c.score))
        return Selection(_with_continuation([newest], ranked))
    if cues.years or len(dates) < 2:
        runner_up = [c for c in ranked[1:2] if c.score >= best.score - params.second_margin]
        return Selection(_with_continuation([best] + runner_up, ranked))
    quotes = sorted(per_article.values(), key=lambda c: (date_order(articles[c.sentence.article_id].date), c.score),
                    reverse=True)[: params.max_quotes]
    return Selection(tuple(quotes), dated=True)


def abstention(selection: Selection, unknown_names: tuple[str, ...], params: AnswerParams) -> str:
    """Why not to answer ("" = answer): the question names what the collection never mentions, nothing
    could be quoted, or the quotes' evidence is under the calibrated threshold."""
    if unknown_names:
        return "the articles never mention " + ", ".join(f"“{n}”" for n in unknown_names)
    if selection.reason:
        return selection.reason
    if selection.confidence < params.threshold:
        return "the closest passages match too weakly"
    return ""
