"""question -> ranked Passages: dense (chunks and their sentences) and BM25, fused by a weighted sum."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from qa.config import METHODS
from qa.filters import Filter
from qa.index.backend import Scope, Store
from qa.text import terms
from qa.types import Passage


@dataclass(frozen=True)
class Weights:
    """Fusion weights, chosen on tuning questions (benchmarks/tune.py, benchmarks/tune_answer.py; benchmarks/squad.md)."""

    dense: float = 0.5  # cosine of question and chunk
    sentence: float = 1.0  # the best cosine of a sentence inside the chunk: a chunk's vector blurs
    #                        one answering sentence among its neighbours (benchmarks/tune_answer.py)
    lexical: float = 0.5  # BM25 / the query's best BM25
    candidates: int = 50  # from each retriever, before fusion
    latest: float = 0.12  # × the article's recency (0 oldest … 1 newest), for "current / latest" questions
    year: float = 0.15  # for each year a question names that the article is dated in


SCOPES_KEPT = 32  # filters whose masks are kept (a conversation asks with the same one again and again)


class Retriever:
    """Searches one index: BM25 and dense candidates, fused; the date cues of the question lift the
    passages of the articles of its time. Per question it touches only the candidates' rows.

    Usage example:
        retriever = Retriever(load_index(Path("index")))
        passages = retriever.search(query_vector, "who rated the council", top_k=5)
    """

    def __init__(self, index: Store, weights: Weights = Weights()):
        self.index = index
        self.weights = weights
        # Dates are first-class: "latest" questions lift the newest articles (by the rank of their date
        # among the collection's dates), a named year its articles.
        dated = index.dated()
        self.recency = {d: i / (len(dated) - 1) if len(dated) > 1 else 1.0 for i, d in enumerate(dated)}
        self._scopes: OrderedDict[Filter, Scope] = OrderedDict()
        self._lock = threading.Lock()

    def scope(self, flt: Filter) -> Scope:
        """The chunks ``flt`` allows (computed once per filter and kept for the next questions).

        Raises:
            UsageError: the filter names a publisher or article the collection does not have.
        """
        with self._lock:
            found = self._scopes.get(flt)
            if found is not None:
                self._scopes.move_to_end(flt)
                return found
        found = self.index.scope(flt)
        with self._lock:
            self._scopes[flt] = found
            while len(self._scopes) > SCOPES_KEPT:
                self._scopes.popitem(last=False)
        return found

    def date_boosts(self, chunk_rows: list[int], years: tuple[str, ...], latest: bool) -> list[float]:
        """What each passage gains from the question's time cues ("latest": its article's recency; a named
        year: its article dated that year), read from the index in one pass."""
        if not chunk_rows:
            return []
        if not years and not latest:
            return [0.0] * len(chunk_rows)
        dates = self.index.chunk_dates(chunk_rows)
        if latest and not years:
            return [self.weights.latest * self.recency[d] if d in self.recency else 0.0 for d in dates]
        return [sum((self.weights.year for y in years if y == year), 0.0)
                for year in (d[:4] if d else None for d in dates)]

    def _best_sentence(self, vector: np.ndarray, cands) -> dict[int, float]:
        """chunk row -> the highest cosine of the question with one of its sentences."""
        cands = list(cands)
        if not cands:
            return {}
        first, count = self.index.chunk_sentence_spans(cands)
        if not count.all():
            keep = count > 0
            cands = [c for c, k in zip(cands, keep.tolist()) if k]
            first, count = first[keep], count[keep]
            if not cands:
                return {}
        ends = np.cumsum(count)
        starts = ends - count
        rows = np.arange(int(ends[-1])) + np.repeat(first - starts, count)  # each chunk's rows, in turn
        sims = self.index.sentence_vectors_at(rows) @ vector
        return dict(zip(cands, np.maximum.reduceat(sims, starts).tolist()))

    def search(
        self,
        vector: np.ndarray,
        query: str,
        *,
        top_k: int = 5,
        method: str = "hybrid",
        years: tuple[str, ...] = (),
        latest: bool = False,
        scope: Scope | None = None,
    ) -> list[Passage]:
        """Ranked passages for a query.

        Args:
            vector: the query's normalised embedding.
            query: the query text (for BM25).
            top_k: how many passages to return.
            method: "hybrid" (shipped), "bm25" or "dense".
            years: the years the question names: their articles' passages are lifted (hybrid only).
            latest: the question asks for the current state: the newest articles are lifted (hybrid only).
            scope: only these chunks are searched (a filter); each method still returns its best k.
        """
        if method not in METHODS:
            raise ValueError(f"method {method!r} is unknown; choose one of {', '.join(METHODS)}")
        found = self.index.candidates(vector, terms(query), max(self.weights.candidates, top_k), scope, method)
        if not found.rows:
            return []
        dense, lexical, cands = found.dense, found.lexical, found.rows
        floor = min(dense.values()) if dense else 0.0
        best_sentence = self._best_sentence(vector, cands) if method == "hybrid" and self.weights.sentence else {}
        scored = []
        order = list(cands)
        boosts = dict(zip(order, self.date_boosts(order, years, latest))) if method == "hybrid" else {}
        for i in order:
            d = dense.get(i, floor)
            sent = best_sentence.get(i, d)
            lex = lexical[i]
            b = boosts.get(i, 0.0)
            if method == "bm25":
                s = lex
            elif method == "dense":
                s = d
            else:
                s = self.weights.dense * d + self.weights.sentence * sent + self.weights.lexical * lex + b
            scored.append((s, i, d, sent if best_sentence else 0.0, lex, b))
        scored.sort(key=lambda x: (-x[0], x[1]))
        chunks = self.index.chunks([i for _, i, *_ in scored[:top_k]])
        return [
            Passage(chunk=c, rank=r + 1, score=s, dense=d, lexical=lex, date=b, sentence=sent)
            for r, (c, (s, i, d, sent, lex, b)) in enumerate(zip(chunks, scored[:top_k]))
        ]
