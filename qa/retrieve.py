"""question -> ranked Passages: dense (chunks and their sentences) and BM25, fused by a weighted sum."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from qa.config import METHODS
from qa.filters import Filter, allowed_articles
from qa.index import Index
from qa.text import terms
from qa.types import Passage


@dataclass(frozen=True)
class Weights:
    """Fusion weights, chosen on tuning questions (benchmarks/tune.py, benchmarks/tune_answer.py; README)."""

    dense: float = 0.5  # cosine of question and chunk
    sentence: float = 1.0  # the best cosine of a sentence inside the chunk: a chunk's vector blurs
    #                        one answering sentence among its neighbours (benchmarks/tune_answer.py)
    lexical: float = 0.5  # BM25 / the query's best BM25
    candidates: int = 50  # from each retriever, before fusion
    latest: float = 0.12  # × the article's recency (0 oldest … 1 newest), for "current / latest" questions
    year: float = 0.15  # for each year a question names that the article is dated in


@dataclass(frozen=True)
class Scope:
    """The part of the collection a filter keeps: its chunk rows, and how many articles of how many."""

    filter: Filter
    chunks: np.ndarray  # bool per chunk row
    articles: int
    total: int

    def to_dict(self) -> dict:
        """The filter an answer used, echoed with its answer ("answered from 3 of 5 articles, 2019–2021")."""
        summary = f"answered from {self.articles:,} of {self.total:,} articles"
        described = self.filter.describe()
        return self.filter.to_dict() | {"matching_articles": self.articles, "total_articles": self.total,
                                        "summary": f"{summary}, {described}" if described else summary}


SCOPES_KEPT = 32  # filters whose masks are kept (a conversation asks with the same one again and again)


class Retriever:
    """Searches one index: BM25 and dense candidates, fused; the date cues of the question lift the
    passages of the articles of its time. Per question it touches only the candidates' rows.

    Usage example:
        retriever = Retriever(load_index(Path("index")))
        passages = retriever.search(query_vector, "who rated the council", top_k=5)
    """

    def __init__(self, index: Index, weights: Weights = Weights()):
        self.index = index
        self.weights = weights
        # Dates are first-class: "latest" questions lift the newest articles (by the rank of their date
        # among the collection's dates), a named year its articles.
        dates = index.article_dates
        live = index.live_articles
        dated = sorted({str(d) for d, ok in zip(dates.tolist(), live.tolist()) if ok and d})
        position = {d: i / (len(dated) - 1) if len(dated) > 1 else 1.0 for i, d in enumerate(dated)}
        self.recency = np.array([position.get(str(d), np.nan) for d in dates.tolist()], dtype=np.float64)
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
        index = self.index
        keep = allowed_articles(flt, dates=index.article_dates, sources=index.article_sources,
                                ids=np.array(index.article_ids, dtype=str), titles=index.titles,
                                live=index.live_articles)
        chunks = keep[index.chunk_table[:, 0]] if index.n_chunks else np.zeros(0, dtype=bool)
        found = Scope(flt, chunks, int(keep.sum()), len(index.articles))
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
        articles = self.index.chunk_table[chunk_rows, 0]
        if latest and not years:
            return [self.weights.latest * r if r == r else 0.0 for r in self.recency[articles].tolist()]
        if not years:
            return [0.0] * len(chunk_rows)
        out = []
        for year in self.index.article_years(articles):
            boost = 0.0
            for y in years:
                if year == y:
                    boost = boost + self.weights.year
            out.append(boost)
        return out

    def bm25_top(self, bm: np.ndarray, k: int) -> list[int]:
        """The ``k`` rows of highest positive BM25; ties at the cut go to the lower rows."""
        positive = np.flatnonzero(bm > 0)
        if len(positive) <= k:
            return positive.tolist()
        scores = bm[positive]
        kth = scores[np.argpartition(-scores, k - 1)[k - 1]]
        above = positive[scores > kth]
        return np.concatenate([above, positive[scores == kth][: k - len(above)]]).tolist()

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
        index = self.index
        allowed = index.live_chunks if scope is None else scope.chunks
        n = int(allowed.sum())
        if n == 0:
            return []
        k = min(n, max(self.weights.candidates, top_k))
        bm = index.lexical.scores(terms(query))
        if scope is not None:
            bm[~allowed] = 0.0  # the best BM25 among the allowed chunks is what normalises the rest
        bm_max = float(bm.max()) if len(bm) else 0.0
        lexical = bm / bm_max if bm_max > 0 else bm
        dense = index.dense_top(vector, k, None if scope is None else allowed) if method != "bm25" else {}
        cands = set(dense)
        if method != "dense":
            cands.update(self.bm25_top(bm, k))
        if method == "hybrid":
            # Every candidate gets its real cosine, also one only BM25 found (and above APPROX_ABOVE,
            # where the approximate search returns only its own k).
            missing = [i for i in cands if i not in dense]
            if missing:
                dense.update(zip(missing, (index.chunk_vectors_at(missing) @ vector).tolist()))
        floor = min(dense.values()) if dense else 0.0
        best_sentence = self._best_sentence(vector, cands) if method == "hybrid" and self.weights.sentence else {}
        scored = []
        order = list(cands)
        boosts = dict(zip(order, self.date_boosts(order, years, latest))) if method == "hybrid" else {}
        for i in order:
            d = dense.get(i, floor)
            sent = best_sentence.get(i, d)
            lex = float(lexical[i])
            b = boosts.get(i, 0.0)
            if method == "bm25":
                s = lex
            elif method == "dense":
                s = d
            else:
                s = self.weights.dense * d + self.weights.sentence * sent + self.weights.lexical * lex + b
            scored.append((s, i, d, sent if best_sentence else 0.0, lex, b))
        scored.sort(key=lambda x: (-x[0], x[1]))
        return [
            Passage(chunk=index.chunk(i), rank=r + 1, score=s, dense=d, lexical=lex, date=b, sentence=sent)
            for r, (s, i, d, sent, lex, b) in enumerate(scored[:top_k])
        ]
