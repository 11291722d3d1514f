"""The one module that knows the stage order: clean -> read the question -> embed -> retrieve -> answer."""

from __future__ import annotations

import copy
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable

import numpy as np

from qa.answer import AnswerParams, IndexFacts, Reader
from qa.answer.reader import nothing_to_search
from qa.config import METHODS, SHIPPED_METHOD, Settings
from qa.conversation import read_question
from qa.errors import IndexCorruptError, IndexMissingError, UsageError
from qa.filters import Filter
from qa.index import BuildOptions, BuildReport, BuildRunningError, SpaceError, build_index, check_manifest, current_dir
from qa.index.build import up_to_date
from qa.index.backend import BackendError, Store, open_store, same_backend
from qa.index.layout import CATALOG, read_json, with_catalog
from qa.embedding import RecentVectors
from qa.retrieve import Retriever, Weights
from qa.text import clean_question
from qa.types import Answer, Article, QueryVectors

if TYPE_CHECKING:
    from qa.corpus import Changes

MAX_QUESTION_CHARS = 2000  # the model reads 256 word pieces (~1,000 characters); the rest is noise
RECENT_VECTORS = 512  # question vectors kept for follow-ups (~1 MB)


def refresh_index(settings: Settings, options: BuildOptions = BuildOptions(), *, rebuild: bool = False,
                  strict: bool = False) -> BuildReport:
    """Build or update the index of settings.corpus_dir (see qa.readers for the files it reads).

    When no file's size or modification time differs from the index's record, nothing is read or
    parsed and no model is loaded. Otherwise the folder is read (bad files skipped and listed) and only
    changed or added articles are embedded (``options``: progress, log lines, another embedder); ``strict``
    refuses to index when a file was skipped.

    Returns:
        The BuildReport; its ``corpus`` says what the folder holds (files, skipped ones, notices).
    """
    start = time.perf_counter()
    current = None if rebuild else read_current(settings.index_dir)
    if current is not None and not same_backend(settings, current[1]):
        current = None  # moving to another backend (or server): every article is read and written
    changes = corpus_changes(settings, current, strict=strict)
    report = up_to_date(settings.index_dir, current[0]) if changes.unchanged else None
    if report is None:
        if changes.unchanged:  # another build replaced the generation meanwhile: compare with the new one
            current = read_current(settings.index_dir)
            changes = corpus_changes(settings, current, strict=strict)
        if changes.unchanged:
            changes = corpus_changes(settings, None, strict=strict)  # again: read it whole
        report = build_index(changes, settings, options, rebuild=rebuild, known=current)
    return replace(report, corpus=changes.account, seconds=time.perf_counter() - start)  # reading included


def read_current(index_dir: Path) -> tuple[Path, dict] | None:
    """The current generation and its manifest (without its catalog), or None when there is none to use."""
    try:
        gen = current_dir(index_dir)
        return None if gen is None else (gen, read_json(gen / "manifest.json"))
    except (IndexMissingError, IndexCorruptError):
        return None


def corpus_changes(settings: Settings, current: tuple[Path, dict] | None, *, strict: bool = False) -> Changes:
    """What changed in the corpus folder since ``current``'s record (read_current; None: no usable
    index): only the changed files are read (qa.corpus.changes)."""
    from qa.corpus import changes
    from qa.index.store import find_article

    manifest = current[1] if current is not None else None
    if manifest is not None and check_manifest(manifest, settings, None):  # settings differ: all is embedded again
        manifest = None

    catalog = None
    if manifest is not None and manifest.get("catalog") == CATALOG:
        def catalog():
            from qa.index.catalog import Catalog

            return Catalog(current[0] / CATALOG)

    return changes(settings.corpus_dir, manifest, strict=strict, indexed=lambda i: find_article(settings.index_dir, i),
                   catalog=catalog)


class Engine:
    """Answers questions from one index. Thread-safe for concurrent ``ask`` calls.

    Usage example:
        engine = Engine.open(Settings())
        answer = engine.ask("When was the service last inspected?")
        print(answer.answer, answer.citations[0].title)
    """

    def __init__(self, index: Store, settings: Settings, answer_params: AnswerParams = AnswerParams(),
                 weights: Weights = Weights(), *, embedder=None):
        """``embedder`` replaces the index's own query encoder (a benchmark's int8 copy, a shared one)."""
        self.settings = settings
        self._state = State.of(index, settings, weights, answer_params, embedder)

    # One reference to everything derived from an index: a reload swaps it whole, and each question
    # reads it once, so no answer ever mixes two indexes.
    @property
    def index(self) -> Store:
        return self._state.index

    @property
    def articles(self) -> dict[str, Article]:
        return self._state.index.articles

    @property
    def retriever(self) -> Retriever:
        return self._state.retriever

    @property
    def reader(self) -> Reader:
        return self._state.reader

    @property
    def answer_params(self) -> AnswerParams:
        return self._state.reader.params

    @property
    def weights(self) -> Weights:
        return self._state.retriever.weights

    # ------------------------------------------------------------ construction
    @classmethod
    def load(cls, index_dir: Path, settings: Settings | None = None) -> "Engine":
        """Load an index as it is (no staleness check against a corpus)."""
        settings = settings or Settings(index_dir=Path(index_dir))
        return cls(open_store(Path(index_dir)), replace(settings, index_dir=Path(index_dir)))

    @classmethod
    def open(cls, settings: Settings, *, progress: bool = False,
             log: Callable[[str], None] = lambda m: None) -> "Engine":
        """Build or refresh the index when it is missing or stale, then load it. While another `qa index`
        writes the index, the current generation is loaded as it is (the build publishes a new one
        atomically; a server picks it up on its next reload)."""
        try:
            refresh_index(settings, BuildOptions(progress=progress, log=log))
        except (BuildRunningError, SpaceError) as exc:
            if current_dir(settings.index_dir) is None:
                raise
            log(f"{exc} Answering from the index as it was before that build.")
        return cls(open_store(settings.index_dir), settings)

    @classmethod
    def build(cls, articles: list[Article], settings: Settings, *, progress: bool = False) -> "Engine":
        """Index exactly ``articles`` into settings.index_dir, then load."""
        build_index(articles, settings, BuildOptions(progress=progress))
        return cls(open_store(settings.index_dir), settings)

    def variant(self, *, params: AnswerParams | None = None, weights: Weights | None = None,
                rerank: Callable | None = None) -> "Engine":
        """This engine with other answer parameters, retrieval weights or a candidate re-ranker (see
        Reader), sharing the loaded index, what is derived from it and the query encoder (for tuning and
        ablations).

        Usage example:
            engine.variant(params=engine.answer_params.without("year_scope")).ask("…")
        """
        st = self._state
        retriever = st.retriever if weights is None or weights == st.retriever.weights else Retriever(st.index, weights)
        twin = copy.copy(self)
        twin._state = replace(st, retriever=retriever, reader=st.reader.variant(params, rerank))  # the same encoder
        return twin

    def reload(self) -> list[str]:
        """Load the index again if a newer generation is on disk, beside the one in use, and swap it in:
        questions go on meanwhile, each answered wholly from one of the two. Returns what changed
        ([] = nothing)."""
        try:
            gen = current_dir(self.settings.index_dir)
            if gen is None:
                raise IndexMissingError(f"no index in {self.settings.index_dir}: run `qa index` to build one.")
            manifest = read_json(gen / "manifest.json")
        except (IndexMissingError, IndexCorruptError) as exc:
            return [f"kept the index in memory: {exc}"]
        st = self._state
        if gen == st.index.path and manifest.get("created") == st.index.manifest.get("created"):
            return []
        try:
            new_index = open_store(self.settings.index_dir, reuse=st.index,  # unchanged segments shared
                                   current=(gen, manifest))
        except (IndexMissingError, IndexCorruptError, BackendError) as exc:
            return [f"kept the index in memory: {exc}"]
        same_encoder = (new_index.manifest.get("encoder") == st.index.manifest.get("encoder")
                        and new_index.manifest.get("query_encoder") == st.index.manifest.get("query_encoder"))
        state = State.of(new_index, self.settings, self.weights, self.answer_params,
                         st.encoder.loaded() if same_encoder else None)
        state.encoder.get()  # a new encoder is loaded before the swap, not by the next question
        self._state = state
        return [_changes(st.index, new_index)]

    def stale_reasons(self) -> list[str]:
        """Why the loaded index no longer matches the corpus folder ([] = up to date); reads only files
        whose size or time changed."""
        current = read_current(self.settings.index_dir)
        found = corpus_changes(self.settings, current)
        if found.unchanged:  # the folder is as the current generation recorded it
            if current[0] == self.index.path:
                return check_manifest(self.index.manifest, self.settings, None, check_chunking=False)
            hashes = with_catalog(*current)["corpus"]["articles"]
        else:
            hashes = found.keep | {a.id: a.sha256 for a in found.articles}
        return check_manifest(self.index.full_manifest(), self.settings, hashes, check_chunking=False)

    # ------------------------------------------------------------ embedding
    @property
    def embedder(self):
        return self._state.encoder.get()

    def embed_query(self, text: str) -> np.ndarray:
        return self.embedder.embed([text])[0]

    def query_vectors(self, parts: tuple[str, ...], state: "State | None" = None) -> QueryVectors:
        """The vector to search with and the question's own, for ``Question.parts``.

        The question itself is always embedded. A follow-up searches with the normalised sum of its
        parts' vectors; an earlier part's vector comes from the recent-vectors cache when this engine
        embedded that text lately (the chat's previous question), else from the same encoder run.
        """
        st = state or self._state
        own, earlier = parts[0], list(dict.fromkeys(parts[1:]))
        cached = {t: v for t in earlier if (v := st.recent.get(t)) is not None}
        todo = [own] + [t for t in earlier if t not in cached]
        vectors = st.encoder.get().embed(todo)  # one encoder run for all of them
        for t, v in zip(todo, vectors):
            st.recent.put(t, v)
        if not earlier:
            return QueryVectors(vectors[0], vectors[0])
        found = dict(zip(todo, vectors)) | cached
        total = vectors[0] + sum(found[t] for t in earlier)
        return QueryVectors((total / max(float(np.linalg.norm(total)), 1e-12)).astype(np.float32), vectors[0])

    def warm_up(self) -> None:
        self.embed_query("warm up")

    # ------------------------------------------------------------ asking
    def ask(self, question: str, history: Iterable = (), *, method: str = SHIPPED_METHOD,
            top_k: int | None = None, filter: Filter | dict | None = None) -> Answer:
        """Answer one question, quoting the articles; history is the earlier turns (stateless); ``filter``
        limits the articles it is answered from (qa.filters.Filter, or its fields as a dict).

        Raises:
            UsageError: the question is empty or not text, the method is unknown, or the filter is bad.
        """
        if not isinstance(question, str):
            raise UsageError("the question must be text.")
        if method not in METHODS:
            raise UsageError(f"method {method!r} is unknown; choose one of {', '.join(METHODS)}.")
        text = clean_question(question)
        if not text:
            raise UsageError("the question is empty: type a question, e.g. “Who carried out the inspection?”")
        flt = Filter.of(filter)
        st = self._state  # one consistent snapshot, even if reload() swaps it meanwhile
        scope = st.retriever.scope(flt) if flt is not None else None
        notices: list[str] = []
        text = self._truncate(text, notices, st)
        top_k = top_k or self.settings.top_k
        q = read_question(text, history)
        if scope is not None and not scope.articles:
            return replace(nothing_to_search(q, flt.describe(), tuple(notices)), filter=scope.to_dict())
        vectors = self.query_vectors(q.parts, st)
        passages = st.retriever.search(vectors.search, q.query, top_k=max(top_k, st.reader.passages_needed),
                                       method=method, years=q.cues.years, latest=q.cues.latest, scope=scope)
        answer = st.reader.answer(q, vectors, passages, top_k=top_k, method=method, notices=tuple(notices))
        return answer if scope is None else replace(answer, filter=scope.to_dict())

    def _truncate(self, text: str, notices: list[str], st: "State") -> str:
        """Cut a question to what the model reads (its max_length in word pieces), with a notice."""
        cut = text[:MAX_QUESTION_CHARS]
        truncate = getattr(st.encoder.get(), "truncate", None)
        if truncate is not None and len(cut) > 200:
            cut = truncate(cut).rstrip() or cut[:200]
        if len(cut) < len(text):
            notices.append(f"The question was cut to its first {len(cut)} characters: "
                           "the model reads no more than that.")
        return cut


def _changes(old: Store, new: Store) -> str:
    """What a reload brought: as the build recorded it when it replaced the generation in use, else
    by comparing the two catalogs (several builds since the last reload)."""
    from qa.errors import QAError
    from qa.index import describe_diff, diff_articles

    if "changes" in new.manifest and new.manifest.get("previous") == old.path.name:
        return new.manifest["changes"] or "index rebuilt"
    try:
        return describe_diff(*diff_articles(old.full_manifest()["corpus"]["articles"],
                                            new.full_manifest()["corpus"]["articles"])) or "index rebuilt"
    except QAError:
        return "index rebuilt"


class _Encoder:
    """The query encoder of an index, loaded on first use and shared by an engine's variants."""

    def __init__(self, settings: Settings, index: Store, embedder=None):
        self.settings = settings
        self._lock = threading.Lock()
        self._embedder = embedder
        self._dirs = (index.encoder_dir, index.query_encoder_dir)

    def loaded(self):
        """The embedder if it is loaded, else None."""
        return self._embedder

    def get(self):
        if self._embedder is None:
            with self._lock:
                if self._embedder is None:
                    encoder_dir, int8_dir = self._dirs
                    if self.settings.encoder == "onnx" and encoder_dir is not None:
                        from qa.embedding import onnx_embedder

                        if self.settings.query_encoder == "int8" and int8_dir is not None:
                            encoder_dir = int8_dir  # questions only; articles are fp32
                        self._embedder = onnx_embedder(encoder_dir, threads=self.settings.query_threads)
                    else:
                        from qa.embedding import SentenceTransformerEmbedder

                        self._embedder = SentenceTransformerEmbedder(self.settings.model_path)
        return self._embedder


@dataclass(frozen=True)
class State:
    """Everything derived from one loaded index: its retriever, its reader, its query encoder and the
    vectors of questions it embedded lately."""

    index: Store
    retriever: Retriever
    reader: Reader
    encoder: _Encoder
    recent: RecentVectors

    @classmethod
    def of(cls, index: Store, settings: Settings, weights: Weights, params: AnswerParams,
           embedder=None) -> "State":
        return cls(index, Retriever(index, weights), Reader(IndexFacts.of(index), params),
                   _Encoder(settings, index, embedder), RecentVectors(RECENT_VECTORS))

