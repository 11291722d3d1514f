"""What the answer stage reads of an index: sentences, their terms and speakers, articles' years, the
collection's words. All of it is precomputed when the index is built; loading builds no per-sentence
object, and a question reads only the rows it touches."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from qa.text import salient_names, terms
from qa.types import Chunk, Passage, Sentence

if TYPE_CHECKING:
    from qa.index.backend import Store

QUOTED_LOOKUP_CHARS = 4000  # an earlier answer is searched for quotes within its first characters


@dataclass(frozen=True)
class IndexFacts:
    """Usage example:
        facts = IndexFacts.of(load_index(Path("index")))
        facts.sentences_of(passage)   # [(Sentence, row), ...] inside the passage's chunk
    """

    index: "Store"
    dated_years: frozenset[str]  # the years of the live articles' dates

    @classmethod
    def of(cls, index: "Store") -> "IndexFacts":
        return cls(index=index, dated_years=frozenset(d[:4] for d in index.dated()))

    def term_weights(self, terms_: set[str]) -> dict[str, float]:
        """Each term's inverse document frequency among the chunks (the rarest weigh most)."""
        index = self.index
        return {t: index.idf(df) for t, df in index.doc_freqs(sorted(terms_)).items()}

    # -------------------------------------------------------- sentences
    def row_of(self, sentence: Sentence) -> int:
        return self.index.sentence_row(sentence.article_id, sentence.ordinal)

    def sentence(self, sentence_id: str) -> Sentence:
        article_id, ordinal = sentence_id.rsplit(":", 1)
        return self.index.sentence(self.index.sentence_row(article_id, int(ordinal)))

    def terms_of(self, rows: list[int | None]) -> list[frozenset[str]]:
        """Each row's terms (None: no sentence, no terms)."""
        terms_ = self.index.sentence_terms
        return [terms_(r) if r is not None else frozenset() for r in rows]

    def sentences_of(self, passage: Passage) -> list[tuple[Sentence, int]]:
        """The sentences wholly inside the passage's chunk, in reading order, with their rows."""
        rows = self.index.sentence_rows_in(passage.chunk)
        return list(zip(self.index.sentences(rows), rows))

    def before(self, sentence: Sentence, count: int) -> list[Sentence]:
        """The ``count`` sentences of its article before ``sentence``, and itself, in reading order."""
        row = self.row_of(sentence)
        first = row - sentence.ordinal
        return self.index.sentences(range(max(first, row - count), row + 1))

    def speaker_ids(self, rows: list[int]) -> list[str | None]:
        """For each sentence row, the id of the sentence introducing the quotation it is part of (qa.quotes),
        read from the sentence table at once."""
        intros = self.index.speaker_rows(rows)
        known = [i for i in intros if i is not None]
        found = dict(zip(known, self.index.sentences(known)))
        return [found[i].id if i is not None else None for i in intros]

    def speaker(self, sentence: Sentence) -> Sentence | None:
        intro = self.index.speaker_rows([self.row_of(sentence)])[0]
        return None if intro is None else self.index.sentence(intro)

    def chunk_holding(self, sentence: Sentence) -> Chunk:
        return self.index.chunk_holding(sentence.article_id, sentence.start)

    def attributed(self, sentence: Sentence, surname: re.Pattern) -> bool:
        """Whether ``surname`` is found in the sentence, the two before it ("He said…") or the sentence
        introducing its quotation."""
        near = self.before(sentence, 2)
        introduction = self.speaker(sentence)
        if introduction is not None:
            near = near + [introduction]
        return any(surname.search(t.text) for t in near)

    def quoted_in(self, text: str) -> list[Sentence]:
        """The sentences ``text`` (an earlier answer, as plain text) quotes, in the order it quotes them:
        found by the hash of their first words, never by reading the collection."""
        return self.index.sentences(self.index.quoted_in(text[:QUOTED_LOOKUP_CHARS]))

    # -------------------------------------------------------- articles
    def article_year(self, article_id: str) -> str | None:
        return self.index.year_of(article_id)

    def years_named(self, article_id: str, reported: bool) -> frozenset[str]:
        """The years an article's title and text name (``reported``: less those it only counts from)."""
        return self.index.years_named_of(article_id, reported)

    def unknown_names(self, question: str) -> tuple[str, ...]:
        """Names and numbers in the question that appear nowhere in the collection."""
        out = []
        for name in salient_names(question):
            if name in self.dated_years:
                continue
            stemmed = terms(name)
            if stemmed and all(df > 0 for df in self.index.doc_freqs(stemmed).values()):
                continue
            if self.index.knows_word(name.lower()):
                continue
            out.append(name)
        return tuple(out)
