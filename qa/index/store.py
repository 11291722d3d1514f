"""A loaded index: one generation's segments, less its deleted articles, seen as one collection.

Rows are global: segment k's chunk i is row ``chunk_offsets[k] + i`` (sentences and articles alike).
The small per-row tables (which article a chunk is of, its offsets, …) are concatenated in memory at
load; vectors, postings and texts stay in their segments, read for the rows a question touches.
"""

from __future__ import annotations

import bisect
import functools
import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.errors import IndexCorruptError, IndexMissingError
from qa.index.layout import current_dir, read_json, segment_dir, with_catalog
from qa.index.segment import QUOTE_KEY_WORDS, QUOTED_MIN_CHARS, Segment, quote_key, text_key
from qa.lexical import LexicalIndex, SegmentPostings
from qa.types import Article, Chunk, Sentence

# An index whose files add up to less than $QA_RESIDENT_MB (256 MB) is read into memory whole (so damage
# on disk cannot reach a running server); a larger one is memory-mapped.
ARTICLE_CACHE = 2048  # decoded articles kept (texts are read from their segment when a question needs them)
ROW_CACHE = 8192  # sentences and sentence terms kept: the top passages of a chat repeat from question to question


@dataclass(frozen=True)
class ArticleEntry:
    """What a listing needs of an article, without its text."""

    id: str
    title: str
    date: str | None
    date_approximate: bool
    source: str | None
    url: str | None
    sentences: int = 0
    chunks: int = 0


class ArticleMap(Mapping):
    """The collection's live articles by id; an Article (with its text) is read when asked for."""

    def __init__(self, index: "Index"):
        self._index = index
        self._cache: OrderedDict[int, Article] = OrderedDict()
        self._lock = threading.Lock()

    def __getitem__(self, article_id: str) -> Article:
        row = self._index.id_row.get(article_id) if isinstance(article_id, str) else None
        if row is None:
            raise KeyError(article_id)
        return self._index.article_at(row)

    def __iter__(self) -> Iterator[str]:
        return iter(self._index.id_row)

    def __len__(self) -> int:
        return len(self._index.id_row)

    def __contains__(self, article_id: object) -> bool:
        return article_id in self._index.id_row


class Index:
    """A generation opened for reading (see the module docstring).

    Usage example:
        index = load_index(Path("index"))
        index.articles["some-id"].title; index.chunk(0).text; index.dense_top(vector, 50)
    """

    def __init__(self, path: Path, manifest: dict, segments: list[Segment], deleted: list[set[str]],
                 approximate: bool = True):
        self.path = path
        self.approximate = approximate  # False: dense search is exact in every segment (benchmarks compare)
        self.manifest = manifest
        self.segments = segments
        self.dim = int(manifest.get("model", {}).get("dim") or (segments[0].info.dim if segments else 0))
        self.encoder_dir = path / "encoder" if manifest.get("encoder") else None
        self.query_encoder_dir = path / "encoder-int8" if manifest.get("query_encoder") else None
        self.article_offsets = _offsets(s.info.articles for s in segments)
        self.sentence_offsets = _offsets(s.info.sentences for s in segments)
        self.chunk_offsets = _offsets(s.info.chunks for s in segments)
        self.article_ids: list[str] = [i for s in segments for i in s.ids]
        # Per-row tables with global rows: article, ordinal, start, end, …
        self.article_table = _concat([s.articles for s in segments], (0, 6))
        self.article_table[:, 0] += _repeat(self.sentence_offsets, [s.info.articles for s in segments])
        self.article_table[:, 2] += _repeat(self.chunk_offsets, [s.info.articles for s in segments])
        self.article_dates = np.concatenate([s.dates for s in segments]) if segments else np.zeros(0, "U10")
        self.article_sources = (np.concatenate([np.array(list(s.info.sources) + [""], dtype=str)[s.articles[:, 5]]
                                                for s in segments]) if segments else np.zeros(0, "U1"))
        self.sentence_table = _concat([s.sentences for s in segments], (0, 5))
        self.sentence_table[:, 0] += _repeat(self.article_offsets, [s.info.sentences for s in segments])
        has_speaker = self.sentence_table[:, 4] >= 0
        self.sentence_table[has_speaker, 4] += _repeat(self.sentence_offsets,
                                                        [s.info.sentences for s in segments])[has_speaker]
        self.chunk_table = _concat([s.chunks for s in segments], (0, 7))
        self.chunk_table[:, 0] += _repeat(self.article_offsets, [s.info.chunks for s in segments])
        live_articles = np.ones(len(self.article_ids), dtype=bool)
        for k, gone in enumerate(deleted):
            for local, article_id in enumerate(segments[k].ids):
                if article_id in gone:
                    live_articles[self.article_offsets[k] + local] = False
        self.live_articles = live_articles
        self.live_chunks = live_articles[self.chunk_table[:, 0]] if len(self.chunk_table) else np.zeros(0, bool)
        self.live_sentences = (live_articles[self.sentence_table[:, 0]] if len(self.sentence_table)
                               else np.zeros(0, bool))
        self.id_row = {self.article_ids[r]: r for r in np.flatnonzero(live_articles).tolist()}
        if len(self.id_row) != int(live_articles.sum()):
            raise IndexCorruptError(f"index in {path} holds an article twice: run `qa index --rebuild`.")
        self.articles = ArticleMap(self)
        self.lexical = LexicalIndex([
            SegmentPostings(s.bm25_indptr, s.bm25_docs, s.bm25_tf, s.bm25_doclen, s.term_ids, off,
                            None if self.live_chunks[off:off + s.info.chunks].all()
                            else self.live_chunks[off:off + s.info.chunks])
            for s, off in zip(segments, self.chunk_offsets)], self.n_chunks)
        self._articles: OrderedDict[int, Article] = OrderedDict()
        self._lock = threading.Lock()
        # Per index, bounded, thread-safe: building a Sentence or decoding its terms costs ~5 µs, and
        # the answer stage reads ~100 of them per question, mostly the same ones as the last question's.
        self.sentence = functools.lru_cache(maxsize=ROW_CACHE)(self._sentence)
        self.sentence_terms = functools.lru_cache(maxsize=ROW_CACHE)(self._sentence_terms)
        self._titles: list[str] | None = None
        self._entries: tuple[ArticleEntry, ...] | None = None
        self._full_manifest: dict | None = None

    def full_manifest(self) -> dict:
        """The manifest with its catalog (each file's stats, each article's hash), read on first use:
        answering never needs it, a staleness check does.

        Raises:
            IndexCorruptError: the catalog is missing or damaged.
        """
        if self._full_manifest is None:
            self._full_manifest = with_catalog(self.path, self.manifest)
        return self._full_manifest

    # -------------------------------------------------------- sizes
    @property
    def n_chunks(self) -> int:
        return len(self.chunk_table)

    @property
    def n_sentences(self) -> int:
        return len(self.sentence_table)

    def _locate(self, offsets: list[int], row: int) -> tuple[Segment, int]:
        k = bisect.bisect_right(offsets, row) - 1  # a Python list: np.searchsorted would convert it each call
        return self.segments[k], row - offsets[k]

    # -------------------------------------------------------- articles, chunks, sentences
    def article_at(self, row: int) -> Article:
        with self._lock:
            found = self._articles.get(row)
            if found is not None:
                self._articles.move_to_end(row)
                return found
        seg, local = self._locate(self.article_offsets, row)
        article = seg.article(local)
        with self._lock:
            self._articles[row] = article
            while len(self._articles) > ARTICLE_CACHE:
                self._articles.popitem(last=False)
        return article

    def article_row(self, article_id: str) -> int | None:
        return self.id_row.get(article_id)

    def chunk(self, row: int) -> Chunk:
        a, ordinal, start, end, first, count, tokens = self.chunk_table[row].tolist()
        article = self.article_at(a)
        return Chunk(id=f"{article.id}#{ordinal}", article_id=article.id, ordinal=ordinal, start=start, end=end,
                     text=article.text[start:end], sentences=tuple(range(first, first + count)), tokens=tokens)

    def _sentence(self, row: int) -> Sentence:
        a, ordinal, start, end, _ = self.sentence_table[row].tolist()
        article = self.article_at(a)
        return Sentence(id=f"{article.id}:{ordinal}", article_id=article.id, ordinal=ordinal, start=start, end=end,
                        text=article.text[start:end])

    def article_sentences(self, article_row: int) -> range:
        first, count = self.article_table[article_row, 0:2].tolist()
        return range(first, first + count)

    def article_chunks(self, article_row: int) -> range:
        first, count = self.article_table[article_row, 2:4].tolist()
        return range(first, first + count)

    def chunk_sentence_spans(self, rows: list[int]) -> tuple[np.ndarray, np.ndarray]:
        """(first global sentence row, sentence count) of each chunk: the sentences it holds, whole or in
        part (tables read at once)."""
        table = self.chunk_table[rows]
        return self.article_table[table[:, 0], 0] + table[:, 4], table[:, 5]

    def speaker_row(self, sentence_row: int) -> int | None:
        intro = int(self.sentence_table[sentence_row, 4])
        return intro if intro >= 0 else None

    def _sentence_terms(self, row: int) -> frozenset[str]:
        seg, local = self._locate(self.sentence_offsets, row)
        return seg.sentence_terms(local)

    def article_year(self, article_row: int) -> str | None:
        return self.article_years([article_row])[0]

    def article_years(self, article_rows) -> list[str | None]:
        """The year of each article's date (None: undated), read at once."""
        return [d[:4] if d else None for d in self.article_dates[article_rows].tolist()]

    def years_named(self, article_row: int, reported: bool) -> frozenset[str]:
        seg, local = self._locate(self.article_offsets, article_row)
        return seg.years_named(local, reported)

    def titles(self) -> list[str]:
        """Every article's title, lower-cased, by row (read once, when a title filter first asks)."""
        if self._titles is None:
            self._titles = [m.get("title", "").casefold() for seg in self.segments for m in seg.metas()]
        return self._titles

    def entries(self) -> tuple[ArticleEntry, ...]:
        """Every live article's listing entry, in row order (read once, without the texts)."""
        if self._entries is None:
            out = []
            for seg, off in zip(self.segments, self.article_offsets):
                for local, meta in enumerate(seg.metas()):
                    row = off + local
                    if self.live_articles[row]:
                        out.append(ArticleEntry(meta["id"], meta["title"], meta.get("date"),
                                                bool(meta.get("date_approximate")), meta.get("source"), meta.get("url"),
                                                int(self.article_table[row, 1]), int(self.article_table[row, 3])))
            self._entries = tuple(out)
        return self._entries

    def publishers(self) -> list[str]:
        """The live articles' publishers, sorted (for filter controls)."""
        return sorted(set(self.article_sources[self.live_articles].tolist()) - {""})

    def date_range(self) -> tuple[str, str] | None:
        """The oldest and newest live article dates, or None when none is dated."""
        dates = [d for d in self.article_dates[self.live_articles].tolist() if d]
        return (min(dates), max(dates)) if dates else None

    def iter_chunks(self) -> Iterator[Chunk]:
        """Every live chunk (for checks and tests: this builds an object per chunk)."""
        return (self.chunk(r) for r in np.flatnonzero(self.live_chunks).tolist())

    def iter_sentences(self) -> Iterator[Sentence]:
        return (self._sentence(r) for r in np.flatnonzero(self.live_sentences).tolist())  # not through the cache

    # -------------------------------------------------------- vectors
    def _take(self, which: str, offsets: list[int], rows) -> np.ndarray:
        rows = np.asarray(rows, dtype=np.int64)
        if len(self.segments) == 1:  # rows of one segment are its own rows
            return getattr(self.segments[0], which).take(rows)
        out = np.empty((len(rows), self.dim), dtype=np.float32)
        if not len(rows):
            return out
        seg_of = np.searchsorted(offsets, rows, side="right") - 1
        for k in np.unique(seg_of).tolist():
            at = np.flatnonzero(seg_of == k)
            out[at] = getattr(self.segments[k], which).take(rows[at] - offsets[k])
        return out

    def sentence_vectors_at(self, rows) -> np.ndarray:
        return self._take("sentence_vectors", self.sentence_offsets, rows)

    def chunk_vectors_at(self, rows) -> np.ndarray:
        return self._take("chunk_vectors", self.chunk_offsets, rows)

    def dense_top(self, vector: np.ndarray, k: int, allowed: np.ndarray | None = None) -> dict[int, float]:
        """The ``k`` chunk rows of highest cosine with ``vector`` among the ``allowed`` ones (default:
        every live chunk): exact in small segments, HNSW in large ones (exact again when so few rows are
        allowed that HNSW could miss them)."""
        from qa.index.segment import APPROX_ABOVE

        allowed = self.live_chunks if allowed is None else allowed
        found: list[tuple[float, int]] = []
        for seg, off in zip(self.segments, self.chunk_offsets):
            n = seg.info.chunks
            mask = allowed[off:off + n]
            count = int(mask.sum()) if n else 0
            if not count:
                continue
            if self.approximate and seg.hnsw is not None and count > APPROX_ABOVE:
                found += _hnsw_search(seg.hnsw, vector, k, None if count == n else mask, off)
                continue
            rows = None
            if count == n:
                scores = seg.chunk_vectors.all() @ vector
            elif count > n // 2:  # deleted articles, a wide filter: score every row, mask the rest
                scores = np.where(mask, seg.chunk_vectors.all() @ vector, -np.inf)
            else:  # a narrow filter: only its rows, gathered from the mapped file
                rows = np.flatnonzero(mask)
                scores = seg.chunk_vectors.all()[rows] @ vector
            kk = min(k, count)
            top = np.argpartition(-scores, kk - 1)[:kk] if kk < len(scores) else np.arange(len(scores))
            found += [(float(scores[i]), off + int(i if rows is None else rows[i])) for i in top.tolist()]
        if len(found) > k:
            found = sorted(found, key=lambda x: (-x[0], x[1]))[:k]
        return {row: score for score, row in found}

    # -------------------------------------------------------- the Store seam (qa.index.backend)
    def scope(self, flt) -> "Scope":
        """The chunks ``flt`` keeps, as a boolean mask (qa.index.backend.Scope).

        Raises:
            UsageError: the filter names a publisher or article the collection does not have.
        """
        from qa.filters import allowed_articles
        from qa.index.backend import Scope

        keep = allowed_articles(flt, dates=self.article_dates, sources=self.article_sources,
                                ids=np.array(self.article_ids, dtype=str), titles=self.titles,
                                live=self.live_articles)
        chunks = keep[self.chunk_table[:, 0]] if self.n_chunks else np.zeros(0, dtype=bool)
        return Scope(flt, chunks, int(keep.sum()), len(self.articles))

    def candidates(self, vector: np.ndarray, query_terms, k: int, scope=None, method: str = "hybrid"):
        """The best ``k`` chunks by cosine and/or BM25 within ``scope`` (qa.index.backend.Candidates)."""
        from qa.index.backend import Candidates

        allowed = self.live_chunks if scope is None else scope.selector
        n = int(allowed.sum())
        if n == 0:
            return Candidates([], {}, {})
        k = min(n, k)
        bm = self.lexical.scores(query_terms)
        if scope is not None:
            bm[~allowed] = 0.0  # the best BM25 among the allowed chunks is what normalises the rest
        bm_max = float(bm.max()) if len(bm) else 0.0
        lexical = bm / bm_max if bm_max > 0 else bm
        dense = self.dense_top(vector, k, None if scope is None else allowed) if method != "bm25" else {}
        cands = set(dense)
        if method != "dense":
            cands.update(_bm25_top(bm, k))
        if method == "hybrid":
            # Every candidate gets its real cosine, also one only BM25 found (and above APPROX_ABOVE,
            # where the approximate search returns only its own k).
            missing = [i for i in cands if i not in dense]
            if missing:
                dense.update(zip(missing, (self.chunk_vectors_at(missing) @ vector).tolist()))
        order = list(cands)
        return Candidates(order, dense, {i: float(lexical[i]) for i in order})

    def dated(self) -> list[str]:
        """The live articles' distinct dates, sorted."""
        return sorted({str(d) for d, ok in zip(self.article_dates.tolist(), self.live_articles.tolist()) if ok and d})

    def chunk_dates(self, rows) -> list[str]:
        return self.article_dates[self.chunk_table[list(rows), 0]].tolist() if len(rows) else []

    def chunks(self, rows) -> list[Chunk]:
        return [self.chunk(r) for r in rows]

    def chunk_holding(self, article_id: str, offset: int) -> Chunk:
        """The first chunk of the article whose span holds ``offset``."""
        for row in self.article_chunks(self.id_row[article_id]):
            _, _, start, end, _, _, _ = self.chunk_table[row].tolist()
            if start <= offset < end:
                return self.chunk(row)
        raise LookupError(f"no chunk of {article_id} holds offset {offset}")

    def sentences(self, rows) -> list[Sentence]:
        return [self.sentence(r) for r in rows]

    def sentence_row(self, article_id: str, ordinal: int) -> int:
        return int(self.article_table[self.id_row[article_id], 0]) + ordinal

    def sentence_rows_in(self, chunk: Chunk) -> list[int]:
        """The rows of the article's sentences wholly inside the chunk, in reading order."""
        rows = self.article_sentences(self.id_row[chunk.article_id])
        table = self.sentence_table[rows.start:rows.stop]
        inside = (table[:, 2] >= chunk.start) & (table[:, 3] <= chunk.end)
        return [rows.start + i for i in inside.nonzero()[0].tolist()]

    def speaker_rows(self, rows) -> list[int | None]:
        """For each sentence row, the row of the sentence introducing its quotation (None: none)."""
        intros = self.sentence_table[list(rows), 4].tolist() if len(rows) else []
        return [i if i >= 0 else None for i in intros]

    def doc_freqs(self, query_terms) -> dict[str, int]:
        return self.lexical.doc_freqs(query_terms)

    def idf(self, df: int) -> float:
        return self.lexical.idf(df)

    def year_of(self, article_id: str) -> str | None:
        return self.article_year(self.id_row[article_id])

    def years_named_of(self, article_id: str, reported: bool) -> frozenset[str]:
        return self.years_named(self.id_row[article_id], reported)

    # -------------------------------------------------------- earlier answers, known words
    def quoted_in(self, text: str) -> list[int]:
        """The sentence rows an earlier answer (plain text) quotes, in the order it quotes them: each
        sentence is looked up by the hash of its first words, at each place a word starts in ``text``."""
        text = " ".join(text.split())
        if not text:
            return []
        starts = [i for i in range(len(text)) if not text[i].isspace()
                  and (i == 0 or text[i - 1].isspace() or not text[i - 1].isalnum())]
        keys, where = [], []
        for i in starts:
            words = text[i:i + 400].split(" ", QUOTE_KEY_WORDS)[:QUOTE_KEY_WORDS]
            for n in range(1, len(words) + 1):
                keys.append(quote_key(words[:n]))
                where.append(i)
        keys_arr = np.array(keys, dtype=np.uint64)
        first: dict[int, int] = {}
        for seg, off in zip(self.segments, self.sentence_offsets):
            if not len(seg.quote_keys):
                continue
            lo = np.searchsorted(seg.quote_keys, keys_arr, side="left")
            hi = np.searchsorted(seg.quote_keys, keys_arr, side="right")
            for j in np.flatnonzero(hi > lo).tolist():
                for local in seg.quote_rows[lo[j]:hi[j]].tolist():
                    row = off + local
                    if not self.live_sentences[row] or row in first and first[row] <= where[j]:
                        continue
                    s = self.sentence(row)
                    words = " ".join(s.text.split())
                    if len(s.text) > QUOTED_MIN_CHARS and text.startswith(words, where[j]):
                        first[row] = where[j]
        return [row for row, _ in sorted(first.items(), key=lambda x: (x[1], x[0]))]

    def knows_word(self, word: str) -> bool:
        """Whether ``word`` (lower-cased, as split on whitespace) occurs anywhere in the live articles'
        texts or titles (a segment's words are kept while any of its articles is)."""
        key = np.uint64(text_key(word))
        for seg, off in zip(self.segments, self.article_offsets):
            if self.live_articles[off:off + seg.info.articles].any():
                i = int(np.searchsorted(seg.word_keys, key))
                if i < len(seg.word_keys) and seg.word_keys[i] == key:
                    return True
        return False


def _bm25_top(bm: np.ndarray, k: int) -> list[int]:
    """The ``k`` rows of highest positive BM25; ties at the cut go to the lower rows."""
    positive = np.flatnonzero(bm > 0)
    if len(positive) <= k:
        return positive.tolist()
    scores = bm[positive]
    kth = scores[np.argpartition(-scores, k - 1)[k - 1]]
    above = positive[scores > kth]
    return np.concatenate([above, positive[scores == kth][: k - len(above)]]).tolist()


def _offsets(counts) -> list[int]:
    out = [0]
    for c in counts:
        out.append(out[-1] + int(c))
    return out[:-1] if len(out) > 1 else [0]


def _concat(tables: list[np.ndarray], empty_shape) -> np.ndarray:
    if not tables:
        return np.zeros(empty_shape, dtype=np.int32)
    return np.concatenate([np.asarray(t, dtype=np.int32) for t in tables]).astype(np.int32)


def _repeat(offsets: list[int], counts: list[int]) -> np.ndarray:
    return np.repeat(np.asarray(offsets[:len(counts)], dtype=np.int32), counts) if counts else np.zeros(0, np.int32)


def _hnsw_search(index, vector: np.ndarray, k: int, mask: np.ndarray | None, offset: int) -> list[tuple[float, int]]:
    import faiss

    params = None
    if mask is not None:
        bits = np.packbits(mask, bitorder="little")
        params = faiss.SearchParametersHNSW(sel=faiss.IDSelectorBitmap(len(mask), faiss.swig_ptr(bits)),
                                            efSearch=max(index.hnsw.efSearch, k))
    sims, ids = index.search(vector[None, :].astype(np.float32), k, params=params)
    return [(float(s), offset + int(i)) for s, i in zip(sims[0], ids[0]) if i >= 0]


# ---------------------------------------------------------------- loading


def index_bytes(gen: Path, manifest: dict) -> int:
    from qa.index.layout import folder_bytes

    return sum(folder_bytes(segment_dir(gen.parent, s["name"])) for s in manifest.get("segments", []))


def load_index(index_dir: Path, settings=None, hashes: dict[str, str] | None = None, *,
               resident: bool | None = None, reuse: "Index | None" = None, approximate: bool = True,
               current: tuple[Path, dict] | None = None) -> Index:
    """Open the current generation.

    Args:
        index_dir: the index folder.
        settings, hashes: when given, the manifest is first checked against them.
        resident: read everything into memory (default: when the index is under $QA_RESIDENT_MB,
            256 MB by default), else memory-map the large files.
        reuse: an index loaded before (a reload): its segments that the new generation still uses are
            shared, not opened again (segments never change), so a reload costs what changed.
        approximate: search large segments through their HNSW graphs (False: exactly, to measure what
            the approximation costs).
        current: the generation and its manifest, already read by the caller (a reload): not parsed
            again. The index keeps the manifest without its catalog (``Index.full_manifest()`` reads it).

    Raises:
        IndexMissingError: nothing built yet.
        IndexCorruptError: a file is missing, truncated or inconsistent.
        StaleIndexError: the manifest does not match ``settings`` / ``hashes`` (when given).
    """
    from qa.config import setting
    from qa.errors import StaleIndexError
    from qa.index.manifest import check_manifest

    index_dir = Path(index_dir)
    if current is None:  # the generation once, then its manifest: CURRENT may move meanwhile
        gen = current_dir(index_dir)
        if gen is None:
            raise IndexMissingError(f"no index in {index_dir}: run `qa index --index {index_dir}` to build one.")
        current = gen, read_json(gen / "manifest.json")
    gen, manifest = current
    if settings is not None:
        checked = with_catalog(gen, manifest) if hashes is not None else manifest
        reasons = check_manifest(checked, settings, hashes, check_chunking=False)
        if reasons:
            raise StaleIndexError(reasons, str(index_dir))
    listed = manifest.get("segments")
    if not isinstance(listed, list):
        raise IndexCorruptError(f"{gen / 'manifest.json'} lists no segments: run `qa index --rebuild`.")
    if resident is None:
        limit = setting("QA_RESIDENT_MB") * 2**20
        resident = index_bytes(gen, manifest) <= limit
    segments, deleted = [], []
    known = {seg.folder.name: seg for seg in (reuse.segments if reuse is not None else [])}
    for entry in listed:
        folder = segment_dir(index_dir, str(entry.get("name", "")))
        if not folder.is_dir():
            raise IndexCorruptError(f"segment {folder} is missing: run `qa index --rebuild`.")
        shared = known.get(folder.name)
        if shared is not None and shared.resident == resident:
            shared.check()  # damaged since it was opened: say so, as opening it again would
            segments.append(shared)
        else:
            segments.append(Segment(folder, resident))
        deleted.append(set(entry.get("deleted", [])))
    index = Index(gen, manifest, segments, deleted, approximate=approximate)
    counts = manifest.get("counts", {})
    live_chunks, live_sentences = int(index.live_chunks.sum()), int(index.live_sentences.sum())
    if (len(index.articles) != counts.get("articles") or live_chunks != counts.get("chunks")
            or live_sentences != counts.get("sentences") or any(s.info.dim != index.dim for s in segments)):
        raise IndexCorruptError(
            f"index in {gen} is inconsistent (counts differ from its manifest): run `qa index --rebuild`.")
    return index


def find_article(index_dir: Path, article_id: str) -> Article | None:
    """One article of the current generation, read from its own segment alone (for `qa show`: no
    vectors, tables or postings are opened)."""
    import json
    import sqlite3

    from qa.index.backend import backend_of
    from qa.index.layout import read_manifest

    manifest = read_manifest(index_dir)
    if backend_of(manifest) != "segments":
        from qa.index.backend import open_store

        return open_store(index_dir).articles.get(article_id)
    for entry in reversed(manifest.get("segments", [])):
        if article_id in entry.get("deleted", []):
            continue
        path = segment_dir(index_dir, str(entry.get("name", ""))) / "articles.sqlite"
        try:
            with sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True) as db:
                found = db.execute("SELECT meta, text FROM articles WHERE id = ?", (article_id,)).fetchone()
        except sqlite3.Error:
            raise IndexCorruptError(f"{path} is unreadable: run `qa index --rebuild`.") from None
        if found:
            return Article(**json.loads(found[0]), text=found[1])
    return None


def read_segment_info(index_dir: Path, name: str) -> dict:
    return read_json(segment_dir(index_dir, name) / "segment.json")
