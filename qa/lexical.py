"""BM25 for the chunks: built with bm25s at index time, scored with numpy at query time.

bm25s precomputes every (term, chunk) BM25 score into a sparse CSC matrix; answering a query is
then a sum of the query terms' columns. The matrix is saved with the index (plain arrays, no
pickle), so a question costs neither the bm25s/scipy import (~0.4–1.4 s here) nor re-indexing.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from qa.text import terms


@dataclass
class BM25:
    """Precomputed BM25 scores: ``data[indptr[t]:indptr[t+1]]`` are term t's scores in ``indices`` chunks."""

    data: np.ndarray  # float32
    indices: np.ndarray  # int32 chunk rows
    indptr: np.ndarray  # int64, one more than the vocabulary
    vocab: dict[str, int]
    num_docs: int
    _idf: dict[str, float] | None = field(default=None, init=False, repr=False, compare=False)

    @classmethod
    def build(cls, texts: Sequence[str]) -> "BM25":
        """Index texts with bm25s (Lucene BM25, k1 1.5, b 0.75) over our stemmed, stopword-free terms."""
        import bm25s
        from bm25s.tokenization import Tokenized

        vocab: dict[str, int] = {}
        ids = [[vocab.setdefault(t, len(vocab)) for t in terms(text)] for text in texts]
        if not texts or not vocab:
            return cls(np.zeros(0, np.float32), np.zeros(0, np.int32), np.zeros(len(vocab) + 1, np.int64),
                       vocab, len(texts))
        model = bm25s.BM25()
        # bm25s adds an empty token to the vocabulary it is given unless told not to: pass a copy.
        model.index(Tokenized(ids=ids, vocab=dict(vocab)), show_progress=False, create_empty_token=False)
        s = model.scores
        return cls(np.asarray(s["data"], np.float32), np.asarray(s["indices"], np.int32),
                   np.asarray(s["indptr"], np.int64), vocab, int(s["num_docs"]))

    def scores(self, query_terms: Sequence[str]) -> np.ndarray:
        """BM25 score of every chunk for the query (repeated terms count again, as in bm25s)."""
        out = np.zeros(self.num_docs, dtype=np.float32)
        for t in query_terms:
            i = self.vocab.get(t)
            if i is not None:
                a, b = self.indptr[i], self.indptr[i + 1]
                np.add.at(out, self.indices[a:b], self.data[a:b])
        return out

    def idf(self) -> dict[str, float]:
        """Inverse document frequency of each term (for weighting term overlap in sentences)."""
        if self._idf is None:
            n = max(self.num_docs, 1)
            df = np.diff(self.indptr)
            self._idf = {t: math.log(1 + (n - df[i] + 0.5) / (df[i] + 0.5)) for t, i in self.vocab.items()}
        return self._idf

    def term_weights(self, terms_) -> dict[str, float]:
        """Each term's idf; a term no chunk holds gets the idf of a document frequency of 0, the highest."""
        idf, unseen = self.idf(), math.log(1 + (max(self.num_docs, 1) + 0.5) / 0.5)
        return {t: idf.get(t, unseen) for t in terms_}

    def save(self, folder: Path) -> None:
        with open(folder / "bm25.npz", "wb") as f:
            np.savez(f, data=self.data, indices=self.indices, indptr=self.indptr,
                     num_docs=np.array([self.num_docs]))
        (folder / "bm25_vocab.json").write_text(json.dumps(self.vocab, ensure_ascii=False), "utf-8")

    @classmethod
    def load(cls, folder: Path) -> "BM25":
        with np.load(folder / "bm25.npz", allow_pickle=False) as z:
            arrays = {k: z[k] for k in ("data", "indices", "indptr", "num_docs")}
        vocab = json.loads((folder / "bm25_vocab.json").read_text("utf-8"))
        return cls(arrays["data"], arrays["indices"], arrays["indptr"], vocab, int(arrays["num_docs"][0]))
