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
    from qa.index import Index

QUOTED_LOOKUP_CHARS = 4000  # an earlier answer is searched for quotes within its first characters


@dataclass(frozen=True)
class IndexFacts:
    """Usage example:
        facts = IndexFacts.of(load_index(Path("index")))
        facts.sentences_of(passage)   # [(Sentence, row), ...] inside the passage's chunk
    """

    index: "Index"
    dated_years: frozenset[str]  # the years of the live articles' dates

    @classmethod
    def of(cls, index: "Index") -> "IndexFacts":
        dates = index.article_dates[index.live_articles] if len(index.article_dates) else index.article_dates
        return cls(index=index, dated_years=frozenset(str(d)[:4] for d in set(dates.tolist()) if d))

    def term_weights(self, terms_: set[str]) -> dict[str, float]:
        """Each term's inverse document frequency among the chunks (the rarest weigh most)."""
        lexical = self.index.lexical
        return {t: lexical.idf(df) for t, df in lexical.doc_freqs(sorted(terms_)).items()}

    # -------------------------------------------------------- sentences
    def row_of(self, sentence: Sentence) -> int:
        return int(self.index.article_table[self.index.id_row[sentence.article_id], 0]) + sentence.ordinal

    def sentence(self, sentence_id: str) -> Sentence:
        article_id, ordinal = sentence_id.rsplit(":", 1)
        return self.index.sentence(int(self.index.article_table[self.index.id_row[article_id], 0]) + int(ordinal))

    def terms_of(self, rows: list[int | None]) -> list[frozenset[str]]:
        """Each row's terms (None: no sentence, no terms)."""
        terms_ = self.index.sentence_terms
        return [terms_(r) if r is not None else frozenset() for r in rows]

    def sentences_of(self, passage: Passage) -> list[tuple[Sentence, int]]:
        """The sentences wholly inside the passage's chunk, in reading order, with their rows."""
        chunk, index = passage.chunk, self.index
        rows = index.article_sentences(index.id_row[chunk.article_id])
        table = index.sentence_table[rows.start:rows.stop]
        inside = (table[:, 2] >= chunk.start) & (table[:, 3] <= chunk.end)
        return [(index.sentence(rows.start + i), rows.start + i) for i in inside.nonzero()[0].tolist()]

    def before(self, sentence: Sentence, count: int) -> list[Sentence]:
        """The ``count`` sentences of its article before ``sentence``, and itself, in reading order."""
        row = self.row_of(sentence)
        first = row - sentence.ordinal
        return [self.index.sentence(r) for r in range(max(first, row - count), row + 1)]

    def speaker_ids(self, rows: list[int]) -> list[str | None]:
        """For each sentence row, the id of the sentence introducing the quotation it is part of (qa.quotes),
        read from the sentence table at once."""
        index = self.index
        intros = index.sentence_table[rows, 4].tolist() if rows else []
        return [index.sentence(i).id if i >= 0 else None for i in intros]

    def speaker(self, sentence: Sentence) -> Sentence | None:
        intro = self.index.speaker_row(self.row_of(sentence))
        return None if intro is None else self.index.sentence(intro)

    def chunk_holding(self, sentence: Sentence) -> Chunk:
        index = self.index
        for row in index.article_chunks(index.id_row[sentence.article_id]):
            _, _, start, end, _, _, _ = index.chunk_table[row].tolist()
            if start <= sentence.start < end:
                return index.chunk(row)
        raise LookupError(f"no chunk holds sentence {sentence.id}")

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
        return [self.index.sentence(r) for r in self.index.quoted_in(text[:QUOTED_LOOKUP_CHARS])]

    # -------------------------------------------------------- articles
    def article_year(self, article_id: str) -> str | None:
        return self.index.article_year(self.index.id_row[article_id])

    def years_named(self, article_id: str, reported: bool) -> frozenset[str]:
        """The years an article's title and text name (``reported``: less those it only counts from)."""
        return self.index.years_named(self.index.id_row[article_id], reported)

    def unknown_names(self, question: str) -> tuple[str, ...]:
        """Names and numbers in the question that appear nowhere in the collection."""
        out = []
        for name in salient_names(question):
            if name in self.dated_years:
                continue
            stemmed = terms(name)
            if stemmed and all(df > 0 for df in self.index.lexical.doc_freqs(stemmed).values()):
                continue
            if self.index.knows_word(name.lower()):
                continue
            out.append(name)
        return tuple(out)
