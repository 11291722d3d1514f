"""question -> ranked Passages: dense (FAISS) and BM25 (bm25s), fused by a weighted sum."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

import numpy as np

from qa.index import Index, chunk_embedding_text
from qa.text import terms
from qa.types import Passage

METHODS = ("hybrid", "bm25", "dense")


@dataclass(frozen=True)
class Weights:
    """Fusion weights, chosen on the SQuAD tuning sample (benchmarks/tune.py; README)."""

    dense: float = 1.0
    lexical: float = 0.5
    candidates: int = 50  # from each retriever, before fusion


class Retriever:
    """Holds the BM25 model, the chunk matrix and the collection's term statistics.

    Usage example:
        retriever = Retriever(load_index(Path("index")))
        passages = retriever.search(query_vector, "who rated the council", top_k=5)
    """

    def __init__(self, index: Index, weights: Weights = Weights()):
        import bm25s

        self.index = index
        self.weights = weights
        self.chunks = index.chunks
        texts = [chunk_embedding_text(index.articles[c.article_id], c) for c in self.chunks]
        self.doc_terms = [terms(t) for t in texts]
        self.bm25 = bm25s.BM25()
        vocab: dict[str, int] = {}
        ids = [[vocab.setdefault(t, len(vocab)) for t in doc] for doc in self.doc_terms]
        self.vocab = vocab
        if self.chunks:
            self.bm25.index(bm25s.tokenization.Tokenized(ids=ids, vocab=vocab), show_progress=False)
        df: Counter[str] = Counter()
        for doc in self.doc_terms:
            df.update(set(doc))
        n = max(len(self.chunks), 1)
        self.idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}
        self.max_idf = math.log(1 + (n + 0.5) / 0.5)
        self.matrix = index.chunk_vectors() if len(self.chunks) <= 200_000 else None

    def term_weight(self, term: str) -> float:
        return self.idf.get(term, self.max_idf)

    def bm25_scores(self, query_terms: list[str]) -> np.ndarray:
        ids = [self.vocab[t] for t in query_terms if t in self.vocab]
        if not ids or not self.chunks:
            return np.zeros(len(self.chunks), dtype=np.float32)
        return np.asarray(self.bm25.get_scores(ids), dtype=np.float32)

    def dense_scores(self, vector: np.ndarray, k: int) -> dict[int, float]:
        if self.matrix is not None:
            scores = self.matrix @ vector
            top = np.argsort(-scores)[:k]
            return {int(i): float(scores[i]) for i in top}
        sims, idx = self.index.faiss_index.search(vector[None, :].astype(np.float32), k)
        return {int(i): float(s) for s, i in zip(sims[0], idx[0]) if i >= 0}

    def search(
        self,
        vector: np.ndarray,
        query: str,
        *,
        top_k: int = 5,
        method: str = "hybrid",
        date_boost: dict[str, float] | None = None,
    ) -> list[Passage]:
        """Ranked passages for a query.

        Args:
            vector: the query's normalised embedding.
            query: the query text (for BM25).
            top_k: how many passages to return.
            method: "hybrid" (shipped), "bm25" or "dense".
            date_boost: article id -> score added for the question's time cues.
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
        boost = date_boost or {}
        scored = []
        for i in cands:
            d = dense.get(i, floor)
            lex = float(lexical[i])
            b = boost.get(self.chunks[i].article_id, 0.0)
            if method == "bm25":
                s = lex
            elif method == "dense":
                s = d
            else:
                s = self.weights.dense * d + self.weights.lexical * lex + b
            scored.append((s, i, d, lex, b))
        scored.sort(key=lambda x: (-x[0], x[1]))
        return [
            Passage(chunk=self.chunks[i], rank=r + 1, score=s, dense=d, lexical=lex, date=b)
            for r, (s, i, d, lex, b) in enumerate(scored[:top_k])
        ]
