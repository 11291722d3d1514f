"""What the answer stage knows of one index, computed once when it loads (not per question)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from qa.quotes import speakers
from qa.text import reported_years, salient_names, terms, years
from qa.types import Chunk, Passage, Sentence

if TYPE_CHECKING:
    from qa.index import Index


@dataclass(frozen=True)
class IndexFacts:
    """The sentences' terms and speakers, the articles' years, and the collection's words.

    Usage example:
        facts = IndexFacts.of(load_index(Path("index")))
        facts.sentences_of(passage)   # [(Sentence, row), ...] inside the passage's chunk
    """

    index: "Index"
    vocabulary: frozenset[str]  # every index term (BM25's vocabulary)
    raw_words: frozenset[str]  # every whitespace-separated word of the articles, lower-cased
    article_years: dict[str, str]  # article id -> the year of its date
    article_mentions: dict[str, frozenset[str]]  # the years each article's title and text name
    article_reports: dict[str, frozenset[str]]  # the same, less those it only counts from ("since 2016")
    sentence_terms: list[frozenset[str]]  # row-aligned with index.sentences
    sentence_years: dict[int, frozenset[str]]  # row -> the years the sentence reports on (rows naming none left out)
    speaker_of: dict[str, str]  # sentence id -> the id of the sentence introducing its quotation
    chunks_by_article: dict[str, list[Chunk]]

    @classmethod
    def of(cls, index: "Index") -> "IndexFacts":
        articles = index.articles.values()
        chunks_by_article: dict[str, list[Chunk]] = {}
        for c in index.chunks:
            chunks_by_article.setdefault(c.article_id, []).append(c)
        return cls(
            index=index,
            vocabulary=frozenset(index.bm25.vocab),
            raw_words=frozenset(w.lower() for a in articles for w in (a.text + " " + a.title).split()),
            article_years={a.id: a.date[:4] for a in articles if a.date},
            article_mentions={a.id: frozenset(years(a.title + " " + a.text)) for a in articles},
            article_reports={a.id: frozenset(reported_years(a.title + " " + a.text)) for a in articles},
            # Stemming is the slow part of scoring sentences: once per sentence, not per question.
            sentence_terms=[frozenset(terms(s.text)) for s in index.sentences],
            sentence_years={row: frozenset(found) for row, s in enumerate(index.sentences)
                            if (found := reported_years(s.text))},
            speaker_of=_speaker_ids(index),
            chunks_by_article=chunks_by_article,
        )

    def term_weights(self, terms_: set[str]) -> dict[str, float]:
        """Each term's inverse document frequency among the chunks (the rarest weigh most)."""
        return self.index.bm25.term_weights(terms_)

    def sentences_of(self, passage: Passage) -> list[tuple[Sentence, int]]:
        """The sentences wholly inside the passage's chunk, in reading order, with their rows."""
        chunk = passage.chunk
        return [(s, self.index.sentence_row[s.id]) for s in self.index.sentences_by_article.get(chunk.article_id, [])
                if s.start >= chunk.start and s.end <= chunk.end]

    def sentence(self, sentence_id: str) -> Sentence:
        return self.index.sentences[self.index.sentence_row[sentence_id]]

    def before(self, sentence: Sentence, count: int) -> list[Sentence]:
        """The ``count`` sentences of its article before ``sentence``, and itself, in reading order."""
        siblings = self.index.sentences_by_article[sentence.article_id]
        return siblings[max(0, sentence.ordinal - count): sentence.ordinal + 1]

    def speaker(self, sentence: Sentence) -> Sentence | None:
        """The sentence introducing the quotation ``sentence`` is part of (qa.quotes), if any."""
        sid = self.speaker_of.get(sentence.id)
        return self.sentence(sid) if sid is not None else None

    def chunk_holding(self, sentence: Sentence) -> Chunk:
        return next(ch for ch in self.chunks_by_article[sentence.article_id] if ch.start <= sentence.start < ch.end)

    def attributed(self, sentence: Sentence, surname: re.Pattern) -> bool:
        """Whether ``surname`` is found in the sentence, the two before it ("He said…") or the sentence
        introducing its quotation."""
        near = self.before(sentence, 2)
        introduction = self.speaker(sentence)
        if introduction is not None:
            near = near + [introduction]
        return any(surname.search(t.text) for t in near)

    def quoted_in(self, text: str) -> list[Sentence]:
        """The sentences ``text`` (an earlier answer, as plain text) quotes, in the order it quotes them."""
        text = " ".join(text.split())
        if not text:
            return []
        found = [(text.find(" ".join(s.text.split())), s) for s in self.index.sentences if len(s.text) > 20]
        return [s for pos, s in sorted((f for f in found if f[0] >= 0), key=lambda f: f[0])]

    def unknown_names(self, question: str) -> tuple[str, ...]:
        """Names and numbers in the question that appear nowhere in the collection."""
        dated = set(self.article_years.values())
        out = []
        for name in salient_names(question):
            if name in dated:
                continue
            stemmed = terms(name)
            if stemmed and all(t in self.vocabulary for t in stemmed):
                continue
            if name.lower() in self.raw_words:
                continue
            out.append(name)
        return tuple(out)


def _speaker_ids(index: "Index") -> dict[str, str]:
    """Sentence id -> the id of the sentence introducing the quotation it is in (qa.quotes.speakers)."""
    out: dict[str, str] = {}
    for a in index.articles.values():
        sentences = index.sentences_by_article.get(a.id, [])
        by_ordinal = {s.ordinal: s.id for s in sentences}
        out.update({by_ordinal[o]: by_ordinal[i] for o, i in speakers(a.text, sentences).items()})
    return out
