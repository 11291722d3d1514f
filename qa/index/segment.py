"""One immutable segment of an index: some articles, their sentences and chunks, vectors and postings.

    segment.json              counts and shapes (written last: its presence means complete)
    articles.sqlite           articles (metadata as JSON, text) and the BM25 vocabulary (term -> id)
    articles.npy              int32 per article: first sentence, sentences, first chunk, chunks, year, source
    article_years.npz         the years each article names, and those it reports on (not "since 2016")
    article_dates.npy         each article's ISO date ("" when undated), for recency and date filters
    sentences.npy             int32 per sentence: article, ordinal, start, end, introducing sentence (-1)
    chunks.npy                int32 per chunk: article, ordinal, start, end, first sentence ordinal,
                              sentences, tokens
    sentence_terms.bin/.npy   each sentence's index terms (space-separated UTF-8) and their byte offsets
    chunk_vectors.f32         float32 rows, unit length (raw: the shape is in segment.json)
    sentence_vectors.f32      float32 rows, unit length
    bm25_*.npy                term-major postings: indptr, chunk rows, term frequencies; chunk lengths
    quote_keys.npy/rows.npy   hashes of each sentence's opening words, to find the sentences an earlier
                              answer quoted without scanning
    word_keys.npy             hashes of every word of the articles (is a name in the collection at all?)
    chunks.hnsw               a FAISS HNSW graph of the chunk vectors, only above APPROX_ABOVE chunks

Every array is plain data (no pickle); files are never modified once written, so a server may
memory-map them while a build writes other segments.
"""

from __future__ import annotations

import json
import os
import sqlite3
import zipfile
import zlib
from array import array
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from qa.errors import IndexCorruptError
from qa.index.layout import fsync_dir, fsync_file, read_json
from qa.lexical import PostingsBuilder
from qa.quotes import speakers
from qa.text import reported_years, terms, years
from qa.types import Article, Chunk, Sentence

SEGMENT_VERSION = 1
# Exact search up to this many chunks in a segment; HNSW above. benchmarks/scale_real.py measures
# recall@10 of HNSW against exact search on real vectors at this size, and exact search costs ~0.25 ms
# per 1,000 chunks here (benchmarks/results.md §3).
APPROX_ABOVE = 20_000
HNSW_M, HNSW_EF_CONSTRUCTION, HNSW_EF_SEARCH = 32, 80, 128
QUOTE_KEY_WORDS = 4  # a sentence is found by the hash of its first words (all, when it has fewer)
QUOTED_MIN_CHARS = 20  # shorter sentences are not looked for in earlier answers (too common)
GAP_ROWS = 8  # rows read by pread: a gap of up to this many rows is read through rather than split


def text_key(text: str) -> int:
    """A 64-bit hash of a text, the same in every process (two of zlib's checksums side by side)."""
    data = text.encode("utf-8", "surrogatepass")
    return (zlib.crc32(data) << 32) | zlib.adler32(data)


def quote_key(words: list[str]) -> int:
    return text_key(" ".join(words[:QUOTE_KEY_WORDS]))


@dataclass(frozen=True)
class SegmentInfo:
    name: str
    articles: int
    sentences: int
    chunks: int
    dim: int
    postings: int
    terms: int
    approx: bool
    sources: tuple[str, ...]  # publishers, by the code articles.npy gives them
    version: int = SEGMENT_VERSION


# ---------------------------------------------------------------- writing


class SegmentWriter:
    """Writes one segment, article by article, in bounded memory: vectors go to disk as they come.

    Usage example:
        writer = SegmentWriter(folder, dim=384)
        writer.add(article, sentences, chunks, chunk_vectors, sentence_vectors)
        info = writer.close()
    """

    def __init__(self, folder: Path, dim: int, *, bm25_text=None, name: str | None = None):
        self.folder = Path(folder)
        self.name = name or self.folder.name  # the name it is published under (it is written elsewhere first)
        self.folder.mkdir(parents=True)
        self.dim = dim
        self._bm25_text = bm25_text or (lambda article, chunk: f"{article.title}\n{chunk.text}")
        self._db = sqlite3.connect(self.folder / "articles.sqlite")
        self._db.executescript(
            "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
            "CREATE TABLE articles (row INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, meta TEXT NOT NULL,"
            " text TEXT NOT NULL);"
            "CREATE TABLE vocab (term TEXT PRIMARY KEY, id INTEGER NOT NULL) WITHOUT ROWID;")
        self._chunk_vectors = open(self.folder / "chunk_vectors.f32", "wb")
        self._sentence_vectors = open(self.folder / "sentence_vectors.f32", "wb")
        self._terms_blob = open(self.folder / "sentence_terms.bin", "wb")
        self._term_offsets = array("q", [0])
        self._articles, self._sentences, self._chunks = array("i"), array("i"), array("i")
        self._dates: list[str] = []
        self._mentions, self._reports = array("h"), array("h")
        self._mention_ptr, self._report_ptr = array("i", [0]), array("i", [0])
        self._quote_keys, self._quote_rows = array("Q"), array("i")
        self._words: set[int] = set()
        self._sources: dict[str, int] = {}
        self._postings = PostingsBuilder()
        self.n_articles = self.n_sentences = self.n_chunks = 0

    def add(self, article: Article, sentences: list[Sentence], chunks: list[Chunk],
            chunk_vectors: np.ndarray, sentence_vectors: np.ndarray) -> None:
        row, first_sentence, first_chunk = self.n_articles, self.n_sentences, self.n_chunks
        meta = {f.name: getattr(article, f.name) for f in fields(Article) if f.name != "text"}
        self._db.execute("INSERT INTO articles VALUES (?, ?, ?, ?)",
                         (row, article.id, json.dumps(meta, ensure_ascii=False), article.text))
        source = -1 if not article.source else self._sources.setdefault(article.source, len(self._sources))
        year = int(article.date[:4]) if article.date else 0
        self._articles.extend((first_sentence, len(sentences), first_chunk, len(chunks), year, source))
        self._dates.append(article.date or "")
        named = article.title + " " + article.text
        self._mentions.extend(sorted({int(y) for y in years(named)}))
        self._mention_ptr.append(len(self._mentions))
        self._reports.extend(sorted({int(y) for y in reported_years(named)}))
        self._report_ptr.append(len(self._reports))
        introduced = speakers(article.text, sentences)
        for s in sentences:
            intro = introduced.get(s.ordinal)
            self._sentences.extend((row, s.ordinal, s.start, s.end, -1 if intro is None else first_sentence + intro))
            encoded = " ".join(terms(s.text)).encode("utf-8", "surrogatepass")
            self._terms_blob.write(encoded)
            self._term_offsets.append(self._term_offsets[-1] + len(encoded))
            if len(s.text) > QUOTED_MIN_CHARS:
                self._quote_keys.append(quote_key(s.text.split()))
                self._quote_rows.append(first_sentence + s.ordinal)
        for c in chunks:
            first = c.sentences[0] if c.sentences else 0
            self._chunks.extend((row, c.ordinal, c.start, c.end, first, len(c.sentences), c.tokens))
            self._postings.add(self._bm25_text(article, c))
        self._words.update(text_key(w.lower()) for w in named.split())
        self._chunk_vectors.write(np.ascontiguousarray(chunk_vectors, dtype=np.float32).tobytes())
        self._sentence_vectors.write(np.ascontiguousarray(sentence_vectors, dtype=np.float32).tobytes())
        self.n_articles += 1
        self.n_sentences += len(sentences)
        self.n_chunks += len(chunks)

    def close(self) -> SegmentInfo:
        """Write the tables, the postings and (for a large segment) the HNSW graph; fsync; segment.json last."""
        folder = self.folder
        for f in (self._chunk_vectors, self._sentence_vectors, self._terms_blob):
            f.close()
        vocab, indptr, docs, tf, doc_len = self._postings.postings()
        self._postings = None  # its 12 bytes a posting are not needed past here (nor while the graph is built)
        self._db.executemany("INSERT INTO vocab VALUES (?, ?)", vocab.items())
        self._db.commit()
        self._db.close()
        save = {
            "articles.npy": _table(self._articles, 6),
            "article_dates.npy": np.array(self._dates, dtype="U10"),
            "sentences.npy": _table(self._sentences, 5),
            "chunks.npy": _table(self._chunks, 7),
            "sentence_terms.npy": np.frombuffer(self._term_offsets, dtype=np.int64).copy(),
            "bm25_indptr.npy": indptr, "bm25_docs.npy": docs, "bm25_tf.npy": tf, "bm25_doclen.npy": doc_len,
        }
        keys = np.frombuffer(self._quote_keys, dtype=np.uint64) if len(self._quote_keys) else np.zeros(0, np.uint64)
        order = np.argsort(keys, kind="stable")
        save["quote_keys.npy"] = keys[order]
        save["quote_rows.npy"] = (np.frombuffer(self._quote_rows, dtype=np.int32)[order] if len(self._quote_rows)
                                  else np.zeros(0, np.int32))
        save["word_keys.npy"] = np.array(sorted(self._words), dtype=np.uint64)
        for name, value in save.items():
            with open(folder / name, "wb") as f:
                np.save(f, value, allow_pickle=False)
        n_postings = int(len(docs))
        del save, docs, tf, indptr, doc_len  # written: the graph below is built without them in memory
        with open(folder / "article_years.npz", "wb") as f:
            np.savez(f, mentions=np.frombuffer(self._mentions, dtype=np.int16) if len(self._mentions)
                     else np.zeros(0, np.int16), mention_ptr=np.frombuffer(self._mention_ptr, dtype=np.int32),
                     reports=np.frombuffer(self._reports, dtype=np.int16) if len(self._reports)
                     else np.zeros(0, np.int16), report_ptr=np.frombuffer(self._report_ptr, dtype=np.int32))
        approx = self.n_chunks > APPROX_ABOVE
        if approx:
            _write_hnsw(folder, self.n_chunks, self.dim)
        info = SegmentInfo(name=self.name, articles=self.n_articles, sentences=self.n_sentences,
                           chunks=self.n_chunks, dim=self.dim, postings=n_postings, terms=len(vocab),
                           approx=approx, sources=tuple(self._sources))
        for p in folder.iterdir():
            fsync_file(p)
        with open(folder / "segment.json", "w", encoding="utf-8") as f:
            json.dump(info.__dict__ | {"sources": list(info.sources)}, f, ensure_ascii=False)
            f.flush()
            os.fsync(f.fileno())
        fsync_dir(folder)
        return info

    def abort(self) -> None:
        for f in (self._chunk_vectors, self._sentence_vectors, self._terms_blob):
            f.close()
        self._db.close()


def _table(values: array, width: int) -> np.ndarray:
    data = np.frombuffer(values, dtype=np.int32) if len(values) else np.zeros(0, np.int32)
    return data.reshape(-1, width).copy()


def _write_hnsw(folder: Path, rows: int, dim: int) -> None:
    import faiss

    vectors = np.memmap(folder / "chunk_vectors.f32", dtype=np.float32, mode="r", shape=(rows, dim))
    index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
    for start in range(0, rows, 50_000):  # in slices: the vectors stay on disk until added
        index.add(np.ascontiguousarray(vectors[start:start + 50_000]))
    faiss.write_index(index, str(folder / "chunks.hnsw"))


# ---------------------------------------------------------------- reading


class Rows:
    """The fixed-width float32 rows of a raw file. A resident segment holds them in memory; a mapped one
    reads the rows a question asks for with pread (no mapping: a question touches a few hundred rows
    spread over the file, and mapping them would fault in the pages around each, filling the server's
    memory with rows never asked for), and maps the file only for a whole scan (exact search)."""

    def __init__(self, path: Path, rows: int, dim: int, resident: bool):
        self.path, self.rows, self.dim = path, rows, dim
        self.row_bytes = dim * 4
        self._memory = np.fromfile(path, dtype=np.float32).reshape(rows, dim) if resident and rows else None
        self._fd = os.open(path, os.O_RDONLY) if self._memory is None and rows else None
        self._whole = None

    def __len__(self) -> int:
        return self.rows

    def __del__(self) -> None:
        if getattr(self, "_fd", None) is not None:
            os.close(self._fd)

    def all(self) -> np.ndarray:
        """Every row (mapped read-only when not in memory)."""
        if self._memory is not None:
            return self._memory
        if not self.rows:
            return np.zeros((0, self.dim), dtype=np.float32)
        if self._whole is None:
            self._whole = np.memmap(self.path, dtype=np.float32, mode="r", shape=(self.rows, self.dim))
        return self._whole

    def take(self, rows) -> np.ndarray:
        """The given rows, in the given order."""
        rows = np.asarray(rows, dtype=np.int64)
        if self._memory is not None:
            return self._memory[rows]
        if not len(rows):
            return np.empty((0, self.dim), dtype=np.float32)
        wanted, where = np.unique(rows, return_inverse=True)
        # runs of nearby rows are read at once (a gap of a few rows costs less than another read)
        cuts = np.flatnonzero(np.diff(wanted) > GAP_ROWS) + 1
        got = np.empty((len(wanted), self.dim), dtype=np.float32)
        for a, b in zip(np.concatenate([[0], cuts]).tolist(), np.concatenate([cuts, [len(wanted)]]).tolist()):
            first, last = int(wanted[a]), int(wanted[b - 1])
            count = last - first + 1
            data = os.pread(self._fd, count * self.row_bytes, first * self.row_bytes)
            if len(data) != count * self.row_bytes:
                raise IndexCorruptError(f"{self.path} is shorter than its index says: run `qa index --rebuild`.")
            got[a:b] = np.frombuffer(data, dtype=np.float32).reshape(count, self.dim)[wanted[a:b] - first]
        return got[where.reshape(-1)]

    def slice(self, start: int, stop: int) -> np.ndarray:
        return self.take(np.arange(start, stop))


class Segment:
    """A segment opened for reading: small ones are read into memory whole, large ones memory-mapped.

    A resident segment keeps answering if its files are later damaged or deleted; a mapped one relies on
    its files staying as written (qa never modifies a written segment; see docs/SAFETY.md).
    """

    def __init__(self, folder: Path, resident: bool):
        self.folder = Path(folder)
        self.resident = resident
        self._sizes = {p.name: p.stat().st_size for p in self.folder.iterdir() if p.is_file()}
        raw = read_json(self.folder / "segment.json")
        try:
            self.info = SegmentInfo(**{**raw, "sources": tuple(raw.get("sources", ()))})
        except TypeError:
            raise self._corrupt("segment.json") from None
        info = self.info
        self.articles = self._array("articles.npy", (info.articles, 6))
        self.dates = self._array("article_dates.npy", (info.articles,))
        self.sentences = self._array("sentences.npy", (info.sentences, 5))
        self.chunks = self._array("chunks.npy", (info.chunks, 7))
        self.term_offsets = self._array("sentence_terms.npy", (info.sentences + 1,))
        self.bm25_indptr = self._array("bm25_indptr.npy", (info.terms + 1,))
        self.bm25_docs = self._array("bm25_docs.npy", (info.postings,))
        self.bm25_tf = self._array("bm25_tf.npy", (info.postings,))
        self.bm25_doclen = self._array("bm25_doclen.npy", (info.chunks,))
        self.quote_keys = self._array("quote_keys.npy", None)
        self.quote_rows = self._array("quote_rows.npy", self.quote_keys.shape)
        self.word_keys = self._array("word_keys.npy", None)
        try:
            with np.load(self.folder / "article_years.npz", allow_pickle=False) as z:
                self.mentions, self.mention_ptr = z["mentions"], z["mention_ptr"]
                self.reports, self.report_ptr = z["reports"], z["report_ptr"]
        except (OSError, ValueError, KeyError, EOFError, zlib.error, zipfile.BadZipFile):
            raise self._corrupt("article_years.npz") from None
        if len(self.mention_ptr) != info.articles + 1 or len(self.report_ptr) != info.articles + 1:
            raise self._corrupt("article_years.npz")
        self.chunk_vectors = self._vectors("chunk_vectors.f32", info.chunks)
        self.sentence_vectors = self._vectors("sentence_vectors.f32", info.sentences)
        self.terms_blob = self._blob("sentence_terms.bin", int(self.term_offsets[-1]) if info.sentences else 0)
        self._db_path = self.folder / "articles.sqlite"
        self._db = self._connect()
        self._vocab: dict[str, int] | None = None
        self._texts: dict[int, str] | None = None
        self.ids = [row[0] for row in self._query("SELECT id FROM articles ORDER BY row")]
        if len(self.ids) != info.articles:
            raise self._corrupt("articles.sqlite")
        if resident:  # everything in memory now: later damage on disk cannot reach a running server
            self._vocab = dict(self._query("SELECT term, id FROM vocab"))
            self._texts = {}
            self._meta = {}
            for row, meta, text in self._query("SELECT row, meta, text FROM articles"):
                self._meta[row], self._texts[row] = meta, text
            if len(self._vocab) != info.terms or len(self._texts) != info.articles:
                raise self._corrupt("articles.sqlite")
        self.hnsw = self._hnsw() if info.approx else None

    # -------------------------------------------------------- files
    def check(self) -> None:
        """That the segment's files are still as they were when it was opened (same names and sizes), before
        a newer generation shares it.

        Raises:
            IndexCorruptError: naming the first file missing or changed.
        """
        for name, size in self._sizes.items():
            try:
                now = (self.folder / name).stat().st_size
            except OSError:
                raise IndexCorruptError(f"{self.folder / name} is missing: run `qa index --rebuild`.") from None
            if now != size:
                raise self._corrupt(name)

    def _corrupt(self, name: str) -> IndexCorruptError:
        return IndexCorruptError(f"{self.folder / name} is unreadable or truncated: run `qa index --rebuild`.")

    def _array(self, name: str, shape) -> np.ndarray:
        try:
            value = np.load(self.folder / name, allow_pickle=False, mmap_mode=None if self.resident else "r")
        except FileNotFoundError:
            raise IndexCorruptError(f"{self.folder / name} is missing: run `qa index --rebuild`.") from None
        except (OSError, ValueError, EOFError):
            raise self._corrupt(name) from None
        if shape is not None and value.shape != shape:
            raise self._corrupt(name)
        # A plain ndarray over the same mapped pages: np.memmap's __getitem__ costs ~7 µs a call in
        # Python, and a question reads a few hundred single rows (sentence terms, postings).
        return value.view(np.ndarray) if isinstance(value, np.memmap) else value

    def _vectors(self, name: str, rows: int) -> np.ndarray:
        path = self.folder / name
        expected = rows * self.info.dim * 4
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            raise IndexCorruptError(f"{path} is missing: run `qa index --rebuild`.") from None
        if size != expected:
            raise self._corrupt(name)
        return Rows(path, rows, self.info.dim, self.resident)

    def _blob(self, name: str, size: int):
        path = self.folder / name
        try:
            if path.stat().st_size != size:
                raise self._corrupt(name)
        except FileNotFoundError:
            raise IndexCorruptError(f"{path} is missing: run `qa index --rebuild`.") from None
        if self.resident or size == 0:
            return path.read_bytes()
        return os.open(path, os.O_RDONLY)  # read by pread, sentence by sentence

    def _connect(self) -> sqlite3.Connection:
        try:
            return sqlite3.connect(f"file:{self._db_path}?mode=ro&immutable=1", uri=True, check_same_thread=False)
        except sqlite3.Error:
            raise self._corrupt("articles.sqlite") from None

    def _query(self, sql: str, params: tuple = ()) -> list[tuple]:
        try:
            return self._db.execute(sql, params).fetchall()
        except sqlite3.Error:
            raise self._corrupt("articles.sqlite") from None

    def _hnsw(self):
        import faiss

        # A mapped segment maps the graph and its vectors in place (no copy: a 120 MB graph opens in
        # ~5 ms instead of ~170 ms, and its pages are the page cache's, shared by the generations of a
        # reload); the search is identical (benchmarks/scale_real.md). Segment files never change.
        flags = 0 if self.resident else faiss.IO_FLAG_MMAP_IFC
        try:
            index = faiss.read_index(str(self.folder / "chunks.hnsw"), flags)
        except (RuntimeError, OSError):
            raise self._corrupt("chunks.hnsw") from None
        if index.ntotal != self.info.chunks or index.d != self.info.dim:
            raise self._corrupt("chunks.hnsw")
        index.hnsw.efSearch = HNSW_EF_SEARCH
        return index

    # -------------------------------------------------------- reading rows
    def article(self, row: int) -> Article:
        if self._texts is not None:
            meta, text = self._meta[row], self._texts[row]
        else:
            found = self._query("SELECT meta, text FROM articles WHERE row = ?", (row,))
            if not found:
                raise self._corrupt("articles.sqlite")
            meta, text = found[0]
        return Article(**json.loads(meta), text=text)

    def metas(self) -> list[dict]:
        """Every article's fields but its text, by row."""
        metas = ([self._meta[r] for r in range(self.info.articles)] if self._texts is not None
                 else [m for (m,) in self._query("SELECT meta FROM articles ORDER BY row")])
        return [json.loads(m) for m in metas]

    def term_ids(self, words) -> dict[str, int]:
        """This segment's ids of the given index terms (those it has)."""
        if self._vocab is not None:
            return {t: self._vocab[t] for t in words if t in self._vocab}
        words = list(words)
        if not words:
            return {}
        marks = ",".join("?" * len(words))
        return dict(self._query(f"SELECT term, id FROM vocab WHERE term IN ({marks})", tuple(words)))

    def sentence_terms(self, row: int) -> frozenset[str]:
        a, b = int(self.term_offsets[row]), int(self.term_offsets[row + 1])
        blob = self.terms_blob
        data = blob[a:b] if isinstance(blob, bytes) else os.pread(blob, b - a, a)
        return frozenset(data.decode("utf-8", "surrogatepass").split()) if data else frozenset()

    def years_named(self, row: int, reported: bool) -> frozenset[str]:
        ptr, values = (self.report_ptr, self.reports) if reported else (self.mention_ptr, self.mentions)
        return frozenset(str(int(y)) for y in values[ptr[row]:ptr[row + 1]])
