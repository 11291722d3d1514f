"""question -> ranked Passages: dense (chunks and their sentences) and BM25, fused by a weighted sum."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qa.config import METHODS
from qa.index import APPROX_ABOVE, Index
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


class Retriever:
    """Holds the BM25 model, the chunk matrix and the collection's term statistics.

    Usage example:
        retriever = Retriever(load_index(Path("index")))
        passages = retriever.search(query_vector, "who rated the council", top_k=5)
    """

    def __init__(self, index: Index, weights: Weights = Weights()):
        self.index = index
        self.weights = weights
        self.chunks = index.chunks
        self.bm25 = index.bm25
        # Dates are first-class: "latest" questions lift the newest articles, a named year its articles.
        self.article_years = {a.id: a.date[:4] for a in index.articles.values() if a.date}
        dated = sorted({a.date for a in index.articles.values() if a.date})
        position = {d: i for i, d in enumerate(dated)}
        self.recency = {a.id: (position[a.date] / (len(dated) - 1) if len(dated) > 1 else 1.0)
                        for a in index.articles.values() if a.date}
        # Up to APPROX_ABOVE chunks, exact search is a matrix product; above it the HNSW index answers.
        self.matrix = index.chunk_vectors() if len(self.chunks) <= APPROX_ABOVE else None
        # Row numbers (in index.sentence_vectors) of the sentences each chunk holds, whole or in part.
        self.chunk_sentence_rows = [
            np.array([index.sentence_row[f"{c.article_id}:{o}"] for o in c.sentences
                      if f"{c.article_id}:{o}" in index.sentence_row], dtype=np.int64)
            for c in self.chunks
        ]

    def bm25_scores(self, query_terms: list[str]) -> np.ndarray:
        return self.bm25.scores(query_terms)

    def dense_scores(self, vector: np.ndarray, k: int) -> dict[int, float]:
        if self.matrix is not None:
            scores = self.matrix @ vector
            top = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
            return {int(i): float(scores[i]) for i in top}
        sims, idx = self.index.faiss_index.search(vector[None, :].astype(np.float32), k)
        return {int(i): float(s) for s, i in zip(sims[0], idx[0]) if i >= 0}

    def _best_sentence(self, vector: np.ndarray, cands) -> dict[int, float]:
        """chunk row -> the highest cosine of the question with one of its sentences."""
        cands = [i for i in cands if len(self.chunk_sentence_rows[i])]
        if not cands:
            return {}
        rows = [self.chunk_sentence_rows[i] for i in cands]
        sims = self.index.sentence_vectors[np.concatenate(rows)] @ vector
        starts = np.cumsum([0] + [len(r) for r in rows[:-1]])
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
    ) -> list[Passage]:
        """Ranked passages for a query.

        Args:
            vector: the query's normalised embedding.
            query: the query text (for BM25).
            top_k: how many passages to return.
            method: "hybrid" (shipped), "bm25" or "dense".
            years: the years the question names: their articles' passages are lifted (hybrid only).
            latest: the question asks for the current state: the newest articles are lifted (hybrid only).
        """
        if method not in METHODS:
            raise ValueError(f"method {method!r} is unknown; choose one of {', '.join(METHODS)}")
        n = len(self.chunks)
        if n == 0:
            return []
        k = min(n, max(self.weights.candidates, top_k))
        bm = self.bm25_scores(terms(query))
        bm_max = float(bm.max()) if len(bm) else 0.0
        lexical = bm / bm_max if bm_max > 0 else bm
        dense = self.dense_scores(vector, k) if method != "bm25" else {}
        cands = set(dense)
        if method != "dense":
            cands.update(int(i) for i in np.argsort(-bm)[:k] if bm[i] > 0)
        if method == "hybrid" and self.matrix is not None:
            missing = [i for i in cands if i not in dense]
            if missing:
                dense.update(zip(missing, (self.matrix[missing] @ vector).tolist()))
        floor = min(dense.values()) if dense else 0.0
        best_sentence = self._best_sentence(vector, cands) if method == "hybrid" and self.weights.sentence else {}
        scored = []
        for i in cands:
            d = dense.get(i, floor)
            sent = best_sentence.get(i, d)
            lex = float(lexical[i])
            b = self.date_boost(self.chunks[i].article_id, years, latest) if method == "hybrid" else 0.0
            if method == "bm25":
                s = lex
            elif method == "dense":
                s = d
            else:
                s = self.weights.dense * d + self.weights.sentence * sent + self.weights.lexical * lex + b
            scored.append((s, i, d, sent if best_sentence else 0.0, lex, b))
        scored.sort(key=lambda x: (-x[0], x[1]))
        return [
            Passage(chunk=self.chunks[i], rank=r + 1, score=s, dense=d, lexical=lex, date=b, sentence=sent)
            for r, (s, i, d, sent, lex, b) in enumerate(scored[:top_k])
        ]

    def date_boost(self, article_id: str, years: tuple[str, ...], latest: bool) -> float:
        """What a passage of ``article_id`` gains from the question's time cues."""
        if latest and not years:
            recency = self.recency.get(article_id)
            return self.weights.latest * recency if recency is not None else 0.0
        boost, year = 0.0, self.article_years.get(article_id)
        for y in years:
            if year == y:
                boost = boost + self.weights.year
        return boost
