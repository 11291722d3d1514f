"""The index on disk: manifest, build (incremental, atomic), load, staleness."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from qa import __version__
from qa.config import Settings
from qa.errors import IndexCorruptError, IndexMissingError, QAError, StaleIndexError
from qa.types import Article, Chunk, Sentence

FORMAT = 2  # 2: BM25 matrix stored with the index
CURRENT = "CURRENT"
FILES = ("manifest.json", "articles.jsonl", "chunks.jsonl", "sentences.jsonl",
         "vectors.faiss", "sentence_vectors.npy", "bm25.npz", "bm25_vocab.json")
# Exact search up to this many chunks; HNSW above. From benchmarks/scale.py (results.md §3): exact
# search costs ~0.25 ms per 1,000 chunks here, so 20,000 keeps it near 5 ms; HNSW answers in under a
# millisecond with recall@10 ≈ 1.0 on embedding-like data, but costs minutes per 100k chunks to build.
APPROX_ABOVE = 20_000


# ---------------------------------------------------------------- manifest (pure)

def corpus_digest(hashes: dict[str, str]) -> str:
    h = hashlib.sha256()
    for article_id in sorted(hashes):
        h.update(f"{article_id}\0{hashes[article_id]}\n".encode())
    return h.hexdigest()


def diff_articles(old: dict[str, str], new: dict[str, str]) -> tuple[list[str], list[str], list[str]]:
    """(changed, added, removed) article ids between two id -> sha256 maps."""
    changed = sorted(a for a in new if a in old and old[a] != new[a])
    added = sorted(a for a in new if a not in old)
    removed = sorted(a for a in old if a not in new)
    return changed, added, removed


def describe_diff(changed: list[str], added: list[str], removed: list[str]) -> str:
    parts = [f"{len(xs)} article{'s' if len(xs) != 1 else ''} {verb}"
             for xs, verb in ((changed, "changed"), (added, "added"), (removed, "removed")) if xs]
    return ", ".join(parts)


def check_manifest(
    manifest: dict, settings: Settings, hashes: dict[str, str] | None, *, check_chunking: bool = True
) -> list[str]:
    """Readable reasons why an index does not fit the corpus and settings ([] = fresh).

    Args:
        manifest: the index's manifest.json.
        settings: what the user asked for.
        hashes: article id -> sha256 of the corpus now (None: don't compare the corpus).
        check_chunking: compare chunk parameters (only when the user set them).
    """
    reasons: list[str] = []
    if manifest.get("format") != FORMAT:
        reasons.append(f"format differs: index has {manifest.get('format')!r}, this qa reads {FORMAT}")
        return reasons
    model = manifest.get("model", {}).get("name")
    if model != settings.model_name:
        reasons.append(f"model differs: index has {model}, settings say {settings.model_name}")
    encoding = manifest.get("tokenizer", {}).get("encoding")
    if encoding != settings.encoding:
        reasons.append(f"tokenizer differs: index has {encoding}, settings say {settings.encoding}")
    chunking = manifest.get("chunking", {})
    if check_chunking and (chunking.get("max_tokens"), chunking.get("overlap")) != (settings.max_tokens, settings.overlap):
        reasons.append(
            f"chunking differs: index has max_tokens={chunking.get('max_tokens')} overlap={chunking.get('overlap')}, "
            f"settings say max_tokens={settings.max_tokens} overlap={settings.overlap}"
        )
    if settings.encoder == "onnx" and not manifest.get("encoder"):
        reasons.append("the index has no ONNX query encoder")
    if settings.encoder == "onnx" and settings.query_encoder == "int8" and not manifest.get("query_encoder"):
        reasons.append("the index has no int8 question encoder")
    if hashes is not None:
        diff = describe_diff(*diff_articles(manifest.get("corpus", {}).get("articles", {}), hashes))
        if diff:
            reasons.append(diff)
    return reasons


# ---------------------------------------------------------------- loaded index

@dataclass
class Index:
    """An index held in memory; every file has been read, so later disk damage cannot hurt it."""

    path: Path
    manifest: dict
    articles: dict[str, Article]
    chunks: list[Chunk]
    sentences: list[Sentence]
    faiss_index: object
    sentence_vectors: "np.ndarray"
    encoder_dir: Path | None  # the fp32 ONNX encoder the article vectors were made with
    bm25: object = None  # qa.lexical.BM25
    query_encoder_dir: Path | None = None  # the int8 copy for questions, when the index has one
    sentences_by_article: dict[str, list[Sentence]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.sentences_by_article = {}
        for s in self.sentences:
            self.sentences_by_article.setdefault(s.article_id, []).append(s)
        self.sentence_row = {s.id: i for i, s in enumerate(self.sentences)}

    def chunk_vectors(self) -> np.ndarray:
        import numpy as np

        n = self.faiss_index.ntotal
        if n == 0:
            return np.zeros((0, self.manifest["model"]["dim"]), dtype=np.float32)
        return self.faiss_index.reconstruct_n(0, n)


def current_dir(index_dir: Path) -> Path | None:
    """The complete generation that index_dir/CURRENT names, or None."""
    pointer = Path(index_dir) / CURRENT
    try:
        name = pointer.read_text("utf-8").strip()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise IndexCorruptError(f"{pointer} cannot be read ({exc.strerror}): run `qa index --rebuild`.") from None
    gen = Path(index_dir) / name
    if not name.startswith("gen-") or "/" in name or not gen.is_dir():
        raise IndexCorruptError(
            f"{pointer} names {name!r}, which is not a complete index: run `qa index --rebuild`."
        )
    return gen


def read_manifest(index_dir: Path) -> dict:
    gen = current_dir(index_dir)
    if gen is None:
        raise IndexMissingError(f"no index in {index_dir}: run `qa index --index {index_dir}` to build one.")
    path = gen / "manifest.json"
    try:
        manifest = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise IndexCorruptError(f"{path} is missing: run `qa index --rebuild`.") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        raise IndexCorruptError(f"{path} is unreadable or truncated: run `qa index --rebuild`.") from None
    if not isinstance(manifest, dict):
        raise IndexCorruptError(f"{path} is not a manifest: run `qa index --rebuild`.")
    return manifest


def _read_jsonl(path: Path) -> list[dict]:
    try:
        with path.open(encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]
    except FileNotFoundError:
        raise IndexCorruptError(f"{path} is missing: run `qa index --rebuild`.") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        raise IndexCorruptError(f"{path} is unreadable or truncated: run `qa index --rebuild`.") from None


def load_index(index_dir: Path, settings: Settings | None = None, hashes: dict[str, str] | None = None) -> Index:
    """Read the current index into memory.

    Raises:
        IndexMissingError: nothing built yet.
        IndexCorruptError: a file is missing, truncated or inconsistent.
        StaleIndexError: the manifest does not match ``settings`` / ``hashes`` (when given).
    """
    import faiss
    import numpy as np

    index_dir = Path(index_dir)
    manifest = read_manifest(index_dir)
    if settings is not None:
        reasons = check_manifest(manifest, settings, hashes, check_chunking=False)
        if reasons:
            raise StaleIndexError(reasons, str(index_dir))
    gen = current_dir(index_dir)
    assert gen is not None
    articles = {}
    for d in _read_jsonl(gen / "articles.jsonl"):
        articles[d["id"]] = Article(**d)
    chunks = [Chunk(**{**d, "sentences": tuple(d["sentences"])}) for d in _read_jsonl(gen / "chunks.jsonl")]
    sentences = [Sentence(**d) for d in _read_jsonl(gen / "sentences.jsonl")]
    try:
        faiss_index = faiss.read_index(str(gen / "vectors.faiss"))
    except (RuntimeError, OSError):
        raise IndexCorruptError(f"{gen / 'vectors.faiss'} is unreadable or truncated: run `qa index --rebuild`.") from None
    try:
        sentence_vectors = np.load(gen / "sentence_vectors.npy", allow_pickle=False)
    except (OSError, ValueError, EOFError):
        raise IndexCorruptError(
            f"{gen / 'sentence_vectors.npy'} is unreadable or truncated: run `qa index --rebuild`."
        ) from None
    from qa.lexical import BM25

    try:
        bm25 = BM25.load(gen)
    except FileNotFoundError as exc:
        raise IndexCorruptError(f"{exc.filename} is missing: run `qa index --rebuild`.") from None
    except (OSError, ValueError, KeyError, EOFError, UnicodeDecodeError, IndexError):
        raise IndexCorruptError(f"{gen / 'bm25.npz'} is unreadable or truncated: run `qa index --rebuild`.") from None
    counts = manifest.get("counts", {})
    dim = manifest.get("model", {}).get("dim")
    if (faiss_index.ntotal != len(chunks) or len(chunks) != counts.get("chunks")
            or sentence_vectors.shape != (len(sentences), dim) or len(sentences) != counts.get("sentences")
            or len(articles) != counts.get("articles") or (len(chunks) and faiss_index.d != dim)
            or bm25.num_docs != len(chunks)):
        raise IndexCorruptError(
            f"index in {gen} is inconsistent (counts differ from its manifest): run `qa index --rebuild`."
        )
    encoder_dir = gen / "encoder" if manifest.get("encoder") else None
    query_encoder_dir = gen / "encoder-int8" if manifest.get("query_encoder") else None
    return Index(gen, manifest, articles, chunks, sentences, faiss_index,
                 sentence_vectors.astype(np.float32, copy=False), encoder_dir, bm25, query_encoder_dir)


# ---------------------------------------------------------------- build

def make_faiss_index(vectors: np.ndarray, dim: int):
    """Exact inner product (= cosine on normalised vectors) up to APPROX_ABOVE rows, then HNSW."""
    import faiss
    import numpy as np

    if len(vectors) > APPROX_ABOVE:
        index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 80
        index.hnsw.efSearch = 128
    else:
        index = faiss.IndexFlatIP(dim)
    if len(vectors):
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


@dataclass(frozen=True)
class BuildReport:
    articles: int
    chunks: int
    sentences: int
    seconds: float
    changed: tuple[str, ...] = ()
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    reembedded: tuple[str, ...] = ()
    unchanged: bool = False
    path: str = ""

    def summary(self) -> str:
        if self.unchanged:
            return (f"index is up to date: {self.articles} articles, {self.chunks} chunks, "
                    f"{self.sentences} sentences ({self.seconds:.2f} s, nothing re-embedded)")
        what = describe_diff(list(self.changed), list(self.added), list(self.removed)) or "no article changed"
        return (f"indexed {self.articles} articles, {self.chunks} chunks, {self.sentences} sentences "
                f"in {self.seconds:.1f} s ({what}; re-embedded {len(self.reembedded)})")


@contextlib.contextmanager
def _build_lock(index_dir: Path):
    import fcntl

    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / ".lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise QAError(f"another `qa index` is writing {index_dir}: wait for it to finish.") from None
        yield


def _write_jsonl(path: Path, rows: Iterable[dict]) -> None:
    with path.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _library_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": sys.version.split()[0], "qa": __version__}
    for pkg in ("faiss-cpu", "sentence-transformers", "onnxruntime", "tiktoken", "bm25s", "syntok", "numpy"):
        with contextlib.suppress(PackageNotFoundError):
            out[pkg] = version(pkg)
    return out


def _prune(index_dir: Path, keep: str) -> None:
    for p in index_dir.iterdir():
        if p.name != keep and (p.name.startswith("gen-") or p.name.startswith(".tmp-")) and p.is_dir():
            shutil.rmtree(p, ignore_errors=True)


def _load_previous(index_dir: Path) -> Index | None:
    try:
        return load_index(index_dir)
    except (IndexMissingError, IndexCorruptError):
        return None


def build_index(
    articles: list[Article],
    settings: Settings,
    *,
    rebuild: bool = False,
    progress: bool = False,
    embedder_factory: Callable[[Path | None], object] | None = None,
    log: Callable[[str], None] = lambda msg: None,
) -> BuildReport:
    """Bring settings.index_dir up to date with ``articles``.

    Only articles whose sha256 changed are chunked and embedded again; the rows of the others are
    copied bit for bit. The new generation is written to a temporary folder, then made current by
    an atomic rename of the CURRENT pointer, so a crash at any point leaves the previous index whole.
    """
    import numpy as np

    from qa.chunking import article_sentences, chunk_article, get_encoding

    t0 = time.perf_counter()
    index_dir = Path(settings.index_dir)
    with _build_lock(index_dir):
        hashes = {a.id: a.sha256 for a in articles}
        if not rebuild:  # the common case costs one small file read: no faiss, no model
            with contextlib.suppress(IndexMissingError, IndexCorruptError):
                manifest = read_manifest(index_dir)
                if not check_manifest(manifest, settings, hashes):
                    m = manifest["counts"]
                    return BuildReport(m["articles"], m["chunks"], m["sentences"], time.perf_counter() - t0,
                                       unchanged=True, path=str(current_dir(index_dir)))
        previous = None if rebuild else _load_previous(index_dir)
        if previous is not None and check_manifest(previous.manifest, settings, None):
            log("settings changed since the last build: " + "; ".join(check_manifest(previous.manifest, settings, None)))
            same_model = previous.manifest.get("model", {}).get("name") == settings.model_name
            old_encoder = previous.encoder_dir if same_model else None
            previous_encoder_info = previous.manifest.get("encoder") if old_encoder else None
            old_query = previous.query_encoder_dir if same_model else None
            previous_query_info = previous.manifest.get("query_encoder") if old_query else None
            previous = None
        else:
            old_encoder = previous.encoder_dir if previous else None
            previous_encoder_info = previous.manifest.get("encoder") if previous else None
            old_query = previous.query_encoder_dir if previous else None
            previous_query_info = previous.manifest.get("query_encoder") if previous else None
        old_hashes = previous.manifest["corpus"]["articles"] if previous else {}
        changed, added, removed = diff_articles(old_hashes, hashes)
        if previous is not None and not (changed or added or removed):
            m = previous.manifest["counts"]
            return BuildReport(m["articles"], m["chunks"], m["sentences"], time.perf_counter() - t0,
                               unchanged=True, path=str(previous.path))

        gen_name = "gen-" + dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S%f")
        tmp = index_dir / f".tmp-{gen_name}"
        for p in index_dir.glob(".tmp-gen-*"):  # left by a build that was killed
            shutil.rmtree(p, ignore_errors=True)
        tmp.mkdir(parents=True)

        # The query encoder travels with the index: reuse (hard link) or export it.
        encoder_info = query_info = None
        if settings.encoder == "onnx":
            encoder_info = _place_encoder(settings, tmp / "encoder", old_encoder, previous_encoder_info, log)
            if settings.query_encoder == "int8":
                query_info = _place_encoder(settings, tmp / "encoder-int8", old_query, previous_query_info, log,
                                            variant="int8")
        if embedder_factory is not None:
            embedder = embedder_factory(tmp / "encoder" if encoder_info else None)
        elif encoder_info is not None:
            from qa.embedding import onnx_embedder

            embedder = onnx_embedder(tmp / "encoder", threads=os.cpu_count() or 1)
        else:
            from qa.embedding import SentenceTransformerEmbedder

            embedder = SentenceTransformerEmbedder(settings.model_path)

        encoding = get_encoding(settings.encoding)
        old_chunk_vectors = previous.chunk_vectors() if previous else None
        old_chunk_rows: dict[str, list[int]] = {}
        old_sentence_rows: dict[str, list[int]] = {}
        if previous:
            for i, c in enumerate(previous.chunks):
                old_chunk_rows.setdefault(c.article_id, []).append(i)
            for i, s in enumerate(previous.sentences):
                old_sentence_rows.setdefault(s.article_id, []).append(i)

        chunks: list[Chunk] = []
        sentences: list[Sentence] = []
        chunk_vecs: list[np.ndarray] = []
        sent_vecs: list[np.ndarray] = []
        todo: list[tuple[Article, list[Sentence], list[Chunk]]] = []
        reused: dict[str, tuple] = {}
        for a in articles:
            if previous is not None and a.id in old_hashes and old_hashes[a.id] == a.sha256:
                reused[a.id] = (old_chunk_rows.get(a.id, []), old_sentence_rows.get(a.id, []))
            else:
                ss = article_sentences(a)
                todo.append((a, ss, chunk_article(a, ss, encoding=encoding, max_tokens=settings.max_tokens,
                                                  overlap=settings.overlap)))
        new_vectors: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        if todo:
            texts = [chunk_embedding_text(a, c) for a, _, cs in todo for c in cs]
            stexts = [s.text for _, ss, _ in todo for s in ss]
            all_vecs = embedder.embed(texts + stexts, batch_size=settings.batch_size, progress=progress)
            cv, sv = all_vecs[:len(texts)], all_vecs[len(texts):]
            ci = si = 0
            for a, ss, cs in todo:
                new_vectors[a.id] = (cv[ci:ci + len(cs)], sv[si:si + len(ss)])
                ci += len(cs)
                si += len(ss)
        todo_by_id = {a.id: (ss, cs) for a, ss, cs in todo}
        for a in articles:
            if a.id in reused:
                crow, srow = reused[a.id]
                chunks.extend(previous.chunks[i] for i in crow)
                sentences.extend(previous.sentences[i] for i in srow)
                chunk_vecs.append(old_chunk_vectors[crow] if crow else None)
                sent_vecs.append(previous.sentence_vectors[srow] if srow else None)
            else:
                ss, cs = todo_by_id[a.id]
                chunks.extend(cs)
                sentences.extend(ss)
                chunk_vecs.append(new_vectors[a.id][0])
                sent_vecs.append(new_vectors[a.id][1])
        dim = _dim(chunk_vecs + sent_vecs, previous, embedder)
        cmat = _stack(chunk_vecs, dim)
        smat = _stack(sent_vecs, dim)

        _write_jsonl(tmp / "articles.jsonl", (_article_row(a) for a in articles))
        _write_jsonl(tmp / "chunks.jsonl", ({**c.__dict__, "sentences": list(c.sentences)} for c in chunks))
        _write_jsonl(tmp / "sentences.jsonl", (s.__dict__ for s in sentences))
        import faiss

        vector_index = make_faiss_index(cmat, dim)
        faiss.write_index(vector_index, str(tmp / "vectors.faiss"))
        with open(tmp / "sentence_vectors.npy", "wb") as f:
            np.save(f, smat, allow_pickle=False)
        from qa.lexical import BM25

        by_id = {a.id: a for a in articles}
        BM25.build([chunk_embedding_text(by_id[c.article_id], c) for c in chunks]).save(tmp)
        manifest = {
            "format": FORMAT,
            "qa_version": __version__,
            "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "model": {"name": settings.model_name, "dim": dim, "normalized": True},
            "encoder": encoder_info,
            "query_encoder": query_info,
            "tokenizer": {"library": "tiktoken", "encoding": settings.encoding},
            "chunking": {"max_tokens": settings.max_tokens, "overlap": settings.overlap,
                         "sentence_splitter": "syntok", "embedded_text": "title + newline + chunk"},
            "bm25": {"library": "bm25s", "method": "lucene", "k1": 1.5, "b": 0.75,
                     "tokens": "lower-cased words, English stopwords removed, Snowball stems"},
            "faiss": type(vector_index).__name__,
            "corpus": {"articles": hashes, "digest": corpus_digest(hashes)},
            "counts": {"articles": len(articles), "chunks": len(chunks), "sentences": len(sentences)},
            "libraries": _library_versions(),
        }
        for name in FILES[1:]:
            with open(tmp / name, "rb") as f:
                os.fsync(f.fileno())
        with open(tmp / "manifest.json", "w", encoding="utf-8") as f:  # written last: its presence means complete
            json.dump(manifest, f, indent=2, ensure_ascii=False)
            f.flush()
            os.fsync(f.fileno())
        _fsync_dir(tmp)
        final = index_dir / gen_name
        os.rename(tmp, final)
        pointer_tmp = index_dir / f".{CURRENT}.tmp"
        pointer_tmp.write_text(gen_name + "\n", "utf-8")
        with open(pointer_tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(pointer_tmp, index_dir / CURRENT)
        _fsync_dir(index_dir)
        _prune(index_dir, keep=gen_name)
        return BuildReport(
            len(articles), len(chunks), len(sentences), time.perf_counter() - t0,
            tuple(changed), tuple(added), tuple(removed), tuple(a.id for a, _, _ in todo), path=str(final),
        )


def chunk_embedding_text(article: Article, chunk: Chunk) -> str:
    """What is embedded for a chunk: its article's title gives the passage its context."""
    return f"{article.title}\n{chunk.text}"


def _article_row(a: Article) -> dict:
    return {"id": a.id, "title": a.title, "date": a.date, "source": a.source, "url": a.url, "text": a.text,
            "sha256": a.sha256, "date_approximate": a.date_approximate, "date_note": a.date_note, "path": a.path,
            "author": a.author, "date_origin": a.date_origin, "file_type": a.file_type, "record": a.record}


def _dim(parts: list, previous: Index | None, embedder) -> int:
    for p in parts:
        if p is not None and p.ndim == 2 and p.shape[1]:
            return int(p.shape[1])
    if previous is not None:
        return int(previous.manifest["model"]["dim"])
    return int(embedder.embed(["dimension probe"]).shape[1])


def _stack(parts: list, dim: int) -> np.ndarray:
    import numpy as np

    rows = [p for p in parts if p is not None and len(p)]
    if not rows:
        return np.zeros((0, dim), dtype=np.float32)
    return np.ascontiguousarray(np.vstack(rows), dtype=np.float32)


def _place_encoder(settings: Settings, target: Path, old: Path | None, old_info: dict | None, log,
                   variant: str = "fp32") -> dict:
    """Hard-link the previous generation's ONNX export when it is for this model, else the cached one.

    Exports (which import torch) happen once per model and variant, into the cache folder
    ($QA_CACHE_DIR, default ~/.cache/qa), keyed by the hash of the model's weights.
    """
    from qa.onnx_export import EXPORT_VERSION, export_onnx, sha256_file

    sources = []
    if old is not None and old_info and old_info.get("sha256"):
        sources.append((old, old_info))
    cache = encoder_cache_dir(settings, variant)
    if (cache / "encoder.json").is_file():
        with contextlib.suppress(OSError, ValueError):
            sources.append((cache, json.loads((cache / "encoder.json").read_text("utf-8"))))
    for source, info in sources:
        if info.get("export_version") != EXPORT_VERSION or info.get("variant") != variant:
            continue  # an older export recipe: export again rather than keep the slower graph
        try:
            _link_tree(source, target)
            if sha256_file(target / "model.onnx") == info.get("sha256"):
                return info
            log(f"the ONNX export in {source} does not match its recorded hash; exporting again")
        except OSError:
            pass
        shutil.rmtree(target, ignore_errors=True)
    log(f"exporting the model to ONNX {variant} (once per model; cached in {cache})")
    info = export_onnx(settings.model_path, cache, variant=variant)
    _link_tree(cache, target)
    return info


def encoder_cache_dir(settings: Settings, variant: str = "fp32") -> Path:
    root = Path(os.environ.get("QA_CACHE_DIR") or Path.home() / ".cache" / "qa")
    model_dir = Path(settings.model_path)
    weights = sorted(model_dir.glob("*.safetensors")) or sorted(model_dir.glob("*.bin"))
    h = hashlib.sha256(str(model_dir.resolve()).encode())
    for w in weights:
        st = w.stat()
        h.update(f"{w.name}:{st.st_size}:{int(st.st_mtime)}".encode())
    from qa.onnx_export import EXPORT_VERSION

    return root / "onnx" / f"{model_dir.name}-{variant}-v{EXPORT_VERSION}-{h.hexdigest()[:16]}"


def _link_tree(source: Path, target: Path) -> None:
    """Hard links where the file system allows (no copy of 90 MB), copies otherwise."""
    target.mkdir(parents=True, exist_ok=False)
    for p in source.iterdir():
        if p.is_file():
            try:
                os.link(p, target / p.name)
            except OSError:
                shutil.copy2(p, target / p.name)
