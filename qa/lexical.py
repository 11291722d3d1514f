"""BM25 for the chunks: term postings written per segment at index time, scored with numpy at query time.

Scores are Lucene's BM25 (k1 1.5, b 0.75) over our stemmed, stopword-free terms, computed the way bm25s
computes them (a float32 idf, a float64 term-frequency part, the product stored as float32; tests check
against bm25s). They are computed when a question is asked, from each segment's term frequencies and
the collection's statistics (documents, document frequencies, average length, deleted chunks left out),
so an index updated one segment at a time scores exactly like one rebuilt from scratch, and a question
costs neither the bm25s/scipy import nor a matrix of every (term, chunk) score.
"""

from __future__ import annotations

import math
from array import array
from collections import Counter
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from qa.text import terms

K1 = 1.5
B = 0.75


class PostingsBuilder:
    """Collects the terms of one segment's chunks, in chunk order, for ``postings()``.

    Usage example:
        builder = PostingsBuilder()
        for text in chunk_texts:
            builder.add(text)
        vocab, indptr, docs, tf, doc_len = builder.postings()
    """

    def __init__(self) -> None:
        self.vocab: dict[str, int] = {}
        self._terms, self._docs, self._tf = array("i"), array("i"), array("f")
        self.doc_len = array("i")

    def add(self, text: str) -> None:
        tokens = terms(text)
        doc = len(self.doc_len)
        self.doc_len.append(len(tokens))
        for term_id, n in Counter(self.vocab.setdefault(t, len(self.vocab)) for t in tokens).items():
            self._terms.append(term_id)
            self._docs.append(doc)
            self._tf.append(n)

    def postings(self) -> tuple[dict[str, int], np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(vocabulary, indptr, docs, tf, doc_len): term t's chunks are ``docs[indptr[t]:indptr[t+1]]``,
        ascending, with their term frequencies in ``tf``."""
        term_ids = np.frombuffer(self._terms, dtype=np.int32) if len(self._terms) else np.zeros(0, np.int32)
        order = np.argsort(term_ids, kind="stable")  # by term, then chunk
        counts = np.bincount(term_ids, minlength=len(self.vocab)) if len(term_ids) else np.zeros(len(self.vocab),
                                                                                                  np.int64)
        indptr = np.zeros(len(self.vocab) + 1, dtype=np.int64)
        np.cumsum(counts, out=indptr[1:])
        docs = np.frombuffer(self._docs, dtype=np.int32)[order] if len(self._docs) else np.zeros(0, np.int32)
        tf = np.frombuffer(self._tf, dtype=np.float32)[order] if len(self._tf) else np.zeros(0, np.float32)
        doc_len = np.frombuffer(self.doc_len, dtype=np.int32).copy() if len(self.doc_len) else np.zeros(0, np.int32)
        return (dict(self.vocab), indptr, docs.astype(np.int32, copy=False), tf.astype(np.float32, copy=False),
                doc_len)


@dataclass
class SegmentPostings:
    """One segment's postings as the query side reads them (arrays may be memory-mapped)."""

    indptr: np.ndarray  # int64
    docs: np.ndarray  # int32, segment-local chunk rows
    tf: np.ndarray  # float32
    doc_len: np.ndarray  # int32 per chunk
    lookup: Callable[[Sequence[str]], dict[str, int]]  # terms -> this segment's term ids (those it has)
    offset: int  # the segment's first chunk in the collection's rows
    live: np.ndarray | None = None  # bool per chunk; None = none deleted


class LexicalIndex:
    """BM25 over the live chunks of a collection's segments.

    Usage example:
        lexical = LexicalIndex(segments, total_chunks)
        scores = lexical.scores(terms("who rated the council"))  # float32, one per chunk row
    """

    def __init__(self, segments: list[SegmentPostings], total: int):
        self.segments = segments
        self.total = total
        live_len = [s.doc_len if s.live is None else s.doc_len[s.live] for s in segments]
        self.num_docs = int(sum(len(x) for x in live_len))
        length = int(sum(int(x.sum(dtype=np.int64)) for x in live_len))
        # bm25s: avg_doc_len = np.array(lengths).mean(), an exact integer sum over float64 division
        avg = np.float64(length) / self.num_docs if length else np.float64(1.0)  # no terms: no postings
        # The length part of each chunk's BM25 denominator, k1 * ((1 - b) + b * |d| / avgdl), as bm25s has it.
        self._norm = [K1 * ((1 - B) + B * s.doc_len / avg) for s in segments]

    def _postings(self, query_terms: Sequence[str]) -> dict[str, list[tuple[int, int, int]]]:
        """term -> [(segment, start, end) of its postings] for the terms some segment holds."""
        out: dict[str, list[tuple[int, int, int]]] = {}
        unique = list(dict.fromkeys(query_terms))
        for k, seg in enumerate(self.segments):
            for t, term_id in seg.lookup(unique).items():
                out.setdefault(t, []).append((k, int(seg.indptr[term_id]), int(seg.indptr[term_id + 1])))
        return out

    def doc_freqs(self, query_terms: Sequence[str]) -> dict[str, int]:
        """The number of live chunks holding each term (0 for a term no live chunk holds)."""
        found = self._postings(query_terms)
        return {t: self._df(found.get(t, ())) for t in dict.fromkeys(query_terms)}

    def _df(self, spans) -> int:
        df = 0
        for k, a, b in spans:
            live = self.segments[k].live
            df += (b - a) if live is None else int(live[self.segments[k].docs[a:b]].sum())
        return df

    def idf(self, df: int) -> float:
        """Lucene's idf for a document frequency (float64, as used to weigh terms in sentences)."""
        n = max(self.num_docs, 1)
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    def scores(self, query_terms: Sequence[str]) -> np.ndarray:
        """BM25 score of every chunk row for the query (a repeated term counts again, as in bm25s);
        deleted chunks score 0."""
        out = np.zeros(self.total, dtype=np.float32)
        found = self._postings(query_terms)
        idf32: dict[str, np.float32] = {}
        parts: list[tuple[np.float32, int, int, int]] = []  # (idf, segment, start, end) in query order
        for t in query_terms:
            spans = found.get(t)
            if not spans:
                continue
            if t not in idf32:
                df = self._df(spans)
                if df == 0:
                    continue
                idf32[t] = np.float32(math.log(1 + (self.num_docs - df + 0.5) / (df + 0.5)))
            parts += [(idf32[t], k, a, b) for k, a, b in spans]
        if not parts:
            return out
        # All the postings in one vectorised pass: each term's score per chunk, computed as bm25s does,
        # then added in query order (np.add.at adds in order, so float32 sums are as term by term).
        segs = [self.segments[k] for _, k, _, _ in parts]
        local = [seg.docs[a:b] for seg, (_, _, a, b) in zip(segs, parts)]
        sizes = [len(d) for d in local]
        tf = np.concatenate([seg.tf[a:b] for seg, (_, _, a, b) in zip(segs, parts)])
        norm = np.concatenate([self._norm[k][d] for (_, k, _, _), d in zip(parts, local)])
        idf = np.repeat(np.array([p[0] for p in parts], dtype=np.float32), sizes)
        score = (idf * (tf / (norm + tf))).astype(np.float32)
        if any(seg.live is not None for seg in segs):
            live = np.concatenate([np.ones(len(d), bool) if seg.live is None else seg.live[d]
                                   for seg, d in zip(segs, local)])
            score[~live] = 0.0
        docs = np.concatenate(local).astype(np.int64)
        if any(seg.offset for seg in segs):
            docs += np.repeat(np.array([seg.offset for seg in segs], dtype=np.int64), sizes)
        np.add.at(out, docs, score)
        return out
