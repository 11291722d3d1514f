"""The storage seam: what the engine, the retriever and the answer stage read of an index (``Store``),
and the one function that opens an index folder's store, whichever backend built it.

Two implementations: ``qa.index.store.Index`` (segments on local disk, the default) and
``qa.index.milvus_store.MilvusStore`` (collections on Milvus Lite, standalone or a cluster; see
docs/MILVUS.md). Rows are integers the store gives out (chunk, sentence rows); a caller never does
arithmetic on them beyond what ``chunk_sentence_spans`` returns (a chunk's sentences are consecutive).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, Sequence, runtime_checkable

import numpy as np

from qa.errors import QAError
from qa.filters import Filter
from qa.types import Article, Chunk, Sentence

BACKENDS = ("segments", "milvus")  # what `qa index --backend` accepts; the manifest records it


class BackendError(QAError):
    """The store's engine (a Milvus server) cannot be reached or answered wrongly; the message names
    the fix."""


@dataclass(frozen=True)
class Scope:
    """The part of the collection a filter keeps: the store's own selector for it (a boolean mask over
    chunk rows, a search expression…), and how many articles of how many."""

    filter: Filter
    selector: Any
    articles: int
    total: int

    @property
    def chunks(self) -> np.ndarray:
        """The chunk rows kept, as a boolean mask (the segmented store's selector)."""
        return self.selector

    def to_dict(self) -> dict:
        """The filter an answer used, echoed with its answer ("answered from 3 of 5 articles, 2019–2021")."""
        summary = f"answered from {self.articles:,} of {self.total:,} articles"
        described = self.filter.describe()
        return self.filter.to_dict() | {"matching_articles": self.articles, "total_articles": self.total,
                                        "summary": f"{summary}, {described}" if described else summary}


@dataclass(frozen=True)
class Candidates:
    """What the retriever fuses: the candidate chunk rows (the best ``k`` by cosine, by BM25 or both),
    each one's cosine with the question (for "hybrid" every candidate's; "dense" those it found;
    "bm25" none) and each one's BM25 divided by the best BM25 in scope."""

    rows: list[int]
    dense: dict[int, float]
    lexical: dict[int, float]


@runtime_checkable
class Store(Protocol):
    """One index generation opened for reading. Everything the engine, the retriever and the answer
    stage need of an index goes through these members; nothing above ``qa/index/`` knows which store
    it holds."""

    path: Path  # the generation's folder (a reload compares it)
    manifest: dict  # the generation's manifest, without its catalog
    encoder_dir: Path | None  # the document encoder the index was built with (questions use it)
    query_encoder_dir: Path | None  # its int8 copy for questions, when exported
    articles: Mapping[str, Article]  # the live articles by id (texts read when asked for)

    def full_manifest(self) -> dict: ...

    # -- candidates
    def scope(self, flt: Filter) -> Scope: ...
    def candidates(self, vector: np.ndarray, query_terms: Sequence[str], k: int, scope: Scope | None,
                   method: str) -> Candidates: ...
    def dated(self) -> list[str]: ...  # the live articles' distinct dates, sorted
    def chunk_dates(self, rows: Sequence[int]) -> list[str]: ...  # each chunk's article's date ("": none)
    def chunks(self, rows: Sequence[int]) -> list[Chunk]: ...
    def chunk_sentence_spans(self, rows: Sequence[int]) -> tuple[np.ndarray, np.ndarray]: ...
    def chunk_holding(self, article_id: str, offset: int) -> Chunk: ...

    # -- sentences
    def sentence(self, row: int) -> Sentence: ...
    def sentences(self, rows: Sequence[int]) -> list[Sentence]: ...
    def sentence_row(self, article_id: str, ordinal: int) -> int: ...
    def sentence_rows_in(self, chunk: Chunk) -> list[int]: ...  # wholly inside the chunk, in order
    def sentence_vectors_at(self, rows: Sequence[int]) -> np.ndarray: ...
    def sentence_terms(self, row: int) -> frozenset[str]: ...
    def speaker_rows(self, rows: Sequence[int]) -> list[int | None]: ...
    def quoted_in(self, text: str) -> list[int]: ...

    # -- terms and words
    def doc_freqs(self, query_terms: Sequence[str]) -> dict[str, int]: ...
    def idf(self, df: int) -> float: ...
    def knows_word(self, word: str) -> bool: ...

    # -- articles
    def year_of(self, article_id: str) -> str | None: ...
    def years_named_of(self, article_id: str, reported: bool) -> frozenset[str]: ...
    def entries(self) -> tuple: ...
    def publishers(self) -> list[str]: ...
    def date_range(self) -> tuple[str, str] | None: ...


def backend_of(manifest: dict) -> str:
    """The backend a manifest says built the index ("segments" when it does not say)."""
    return str((manifest.get("backend") or {}).get("name") or "segments")


def wanted_backend(settings, known: tuple[Path, dict] | None = None) -> str:
    """The backend a build writes: the one asked for, else the current index's, else "segments"."""
    if settings.backend:
        return settings.backend
    manifest = known[1] if known is not None else None
    if manifest is None:
        from qa.index.layout import current_dir, read_json

        try:
            gen = current_dir(settings.index_dir)
            manifest = read_json(gen / "manifest.json") if gen is not None else None
        except QAError:
            manifest = None
    return backend_of(manifest) if manifest else "segments"


def same_backend(settings, manifest: dict) -> bool:
    """Whether a build with ``settings`` writes to where ``manifest``'s index lives (backend and server)."""
    if wanted_backend(settings, (Path(), manifest)) != backend_of(manifest):
        return False
    if backend_of(manifest) == "milvus" and settings.backend:
        from qa.index.milvus_build import wanted_uri

        return (manifest.get("backend") or {}).get("uri") == wanted_uri(settings)
    return True


def open_store(index_dir: Path, *, current: tuple[Path, dict] | None = None, reuse: Store | None = None) -> Store:
    """The current generation of ``index_dir`` (or ``current``: a generation and its manifest, already
    read), opened by the backend its manifest names; ``reuse``: the store in use, whose unchanged parts
    (segments, a connection) the new one shares.

    Raises:
        IndexMissingError, IndexCorruptError: as load_index; BackendError: the backend cannot be reached.
    """
    from qa.index.layout import current_dir, read_json
    from qa.index.store import load_index

    index_dir = Path(index_dir)
    if current is None:
        gen = current_dir(index_dir)
        if gen is not None:
            current = gen, read_json(gen / "manifest.json")
    if current is not None and backend_of(current[1]) == "milvus":
        from qa.index.milvus_store import open_milvus

        return open_milvus(index_dir, current, reuse=reuse)
    return load_index(index_dir, current=current, reuse=reuse if isinstance(reuse, _segmented()) else None)


def _segmented():
    from qa.index.store import Index

    return Index
