"""Building an index: plan what to reuse, embed what changed, write it as a new segment, publish.

An update writes only the changed and added articles, into a new segment; the articles it replaces or
removes are marked deleted in the old segments, which are shared with the new generation untouched.
When segments pile up, the smallest are merged (their vectors copied, nothing embedded again). Every
write goes into a temporary folder first; the generation is published by replacing CURRENT, so a crash,
Ctrl-C or kill -9 at any point leaves the previous index whole.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Iterator

from qa import __version__
from qa.config import Settings
from qa.errors import IndexCorruptError, IndexMissingError
from qa.index.layout import (CATALOG, SEGMENTS, build_lock, clear_leftovers, current_dir, folder_bytes, fsync_dir,
                             out_of_space, prune, publish, read_manifest, segment_dir, space_error, split_catalog,
                             with_catalog, write_json)
from qa.index.manifest import FORMAT, check_manifest, corpus_digest, describe_diff, diff_articles
from qa.index.segment import Segment, SegmentWriter
from qa.progress import Progress
from qa.types import Article, Chunk, Sentence

if TYPE_CHECKING:
    import numpy as np

    from qa.corpus import Changes
    from qa.readers.stream import ArticleStream

EMBED_BATCH_TEXTS = 512  # texts embedded per encoder call: bounded memory, whatever the collection's size
MAX_SEGMENT_CHUNKS = 150_000  # a segment's size cap: its postings and HNSW graph are built in memory
MAX_SEGMENTS = 8  # more than this, and the smallest are merged
MERGE_DELETED_SHARE = 0.5  # a segment with more of its chunks deleted than this is rewritten


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
    segments: int = 0
    merged: int = 0  # segments merged into one
    corpus: dict | None = None  # what the corpus folder holds: files, articles, skipped, notices (refresh_index)

    def summary(self) -> str:
        if self.unchanged:
            return (f"index is up to date: {self.articles:,} articles, {self.chunks:,} chunks, "
                    f"{self.sentences:,} sentences ({self.seconds:.2f} s, nothing re-embedded)")
        what = describe_diff(list(self.changed), list(self.added), list(self.removed)) or "no article changed"
        merged = f", {self.merged} segments merged" if self.merged else ""
        return (f"indexed {self.articles:,} articles, {self.chunks:,} chunks, {self.sentences:,} sentences "
                f"in {self.seconds:.1f} s ({what}; re-embedded {len(self.reembedded):,}{merged})")


def chunk_embedding_text(article: Article, chunk: Chunk) -> str:
    """What is embedded (and indexed for BM25) for a chunk: its article's title gives it context."""
    return f"{article.title}\n{chunk.text}"


@dataclass
class Plan:
    """What a build keeps, deletes and embeds."""

    segments: list[dict]  # the previous generation's segments kept: {"name", "deleted": [...]}
    todo: "list[Article] | ArticleStream"  # to chunk and embed
    changed: list[str]
    added: list[str]
    removed: list[str]
    previous: dict | None  # the previous manifest, when its index is reused
    merge: list[dict] = field(default_factory=list)  # kept segments to merge into one


def previous_manifest(index_dir: Path, rebuild: bool, known: tuple[Path, dict] | None) -> dict | None:
    """The current generation's full manifest (None: none, unusable, or ``rebuild``); ``known`` (a
    generation and its manifest read by the caller) is used when CURRENT still names that generation."""
    if rebuild:
        return None
    with contextlib.suppress(IndexMissingError, IndexCorruptError):
        gen = current_dir(index_dir)
        if gen is not None and known is not None and known[0] == gen:
            return with_catalog(gen, known[1])
        return read_manifest(index_dir)
    return None


def plan_build(articles: "list[Article] | ArticleStream", keep: dict[str, str], settings: Settings,
               previous: dict | None, log: Callable[[str], None]) -> Plan | None:
    """Compare the corpus with ``previous``, the current generation's manifest (previous_manifest).
    None: nothing to do.

    ``keep`` names articles known unchanged without reading them (id -> sha256 from the manifest);
    ``articles`` may be an ArticleStream (qa.readers.stream): its texts are read only when embedded.
    """
    from qa.index.store import read_segment_info
    from qa.readers.stream import article_ids, ids_hashes, only

    index_dir = Path(settings.index_dir)
    hashes = ids_hashes(articles) | keep
    reasons = check_manifest(previous, settings, None) if previous is not None else []
    changed, added, removed = diff_articles(previous["corpus"]["articles"] if previous else {}, hashes)
    if previous is not None and not reasons and not (changed or added or removed):
        return None
    if reasons:
        log("settings changed since the last build: " + "; ".join(reasons))
    if previous is not None and (reasons or not _segments_readable(index_dir, previous)):
        previous = None
        changed, added, removed = diff_articles({}, hashes)
    if previous is None:
        missing = set(keep) - set(article_ids(articles))
        if missing:  # cannot happen from the CLI: a full build reads every file
            raise IndexCorruptError("the index to update is gone: run `qa index --rebuild`.")
        return Plan([], articles, changed, added, removed, None)
    gone = set(changed) | set(removed)
    todo_ids = set(changed) | set(added)
    segments = []
    for entry in previous["segments"]:
        deleted = sorted(set(entry.get("deleted", [])) | set(_segment_rows(index_dir, entry["name"], gone)))
        segments.append({"name": entry["name"], "deleted": deleted,
                         "articles": read_segment_info(index_dir, entry["name"])["articles"]})
    plan = Plan(segments, only(articles, todo_ids), changed, added, removed, previous)
    plan.merge = _merge_choice(index_dir, plan.segments, new_segment=bool(len(plan.todo)))
    return plan


def _segments_readable(index_dir: Path, manifest: dict) -> bool:
    try:
        return all(segment_dir(index_dir, e["name"]).joinpath("segment.json").is_file()
                   for e in manifest.get("segments", []))
    except (IndexCorruptError, KeyError, TypeError):
        return False


def _segment_rows(index_dir: Path, name: str, ids: Iterable[str]) -> dict[str, int]:
    """Article id -> row in segment ``name``, for those of ``ids`` it holds (read by key: an update
    reads what it changes, not every id of a large segment)."""
    import sqlite3

    path = segment_dir(index_dir, name) / "articles.sqlite"
    ids, out = list(ids), {}
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)) as db:
            for i in range(0, len(ids), 500):
                part = ids[i:i + 500]
                out.update(db.execute(f"SELECT id, row FROM articles WHERE id IN ({','.join('?' * len(part))})", part))
    except sqlite3.Error:
        raise IndexCorruptError(f"{path} is unreadable: run `qa index --rebuild`.") from None
    return out


def _merge_choice(index_dir: Path, segments: list[dict], new_segment: bool) -> list[dict]:
    """The kept segments to merge into one: any mostly deleted, and the smallest while there would be
    more than MAX_SEGMENTS; never more than MAX_SEGMENT_CHUNKS together."""
    from qa.index.store import read_segment_info

    sizes = {s["name"]: read_segment_info(index_dir, s["name"]).get("chunks", 0) for s in segments}
    chosen = [s for s in segments if s["deleted"] and len(s["deleted"]) > MERGE_DELETED_SHARE * s["articles"]]
    rest = sorted((s for s in segments if s not in chosen), key=lambda s: sizes[s["name"]])
    while rest and len(rest) + bool(chosen) + new_segment > MAX_SEGMENTS:
        chosen.append(rest.pop(0))
    while len(chosen) > 1 and sum(sizes[s["name"]] for s in chosen) > MAX_SEGMENT_CHUNKS:
        chosen.pop()
    return chosen if len(chosen) > 1 or any(s["deleted"] for s in chosen) else []


def _quiet(message: str) -> None:
    pass


@dataclass(frozen=True)
class BuildOptions:
    """How a build runs, not what it builds: the same index comes out whatever these are."""

    progress: bool = False  # a progress bar at once (else only after a few seconds, or lines off a terminal)
    log: Callable[[str], None] = _quiet
    embedder_factory: Callable[[Path | None], object] | None = None  # encoder folder -> embedder (tests, benchmarks)
    workers: int = 0  # > 0: embed on a local Dask cluster of this many worker processes (qa.index.distributed)
    scheduler: str | None = None  # embed on the Dask cluster of this scheduler (tcp://HOST:PORT)
    device: str = "cpu"  # cpu (the ONNX encoder), cuda or auto (qa.embedding.resolve_device)


def build_index(corpus: "list[Article] | Changes", settings: Settings, options: BuildOptions = BuildOptions(), *,
                rebuild: bool = False, known: tuple[Path, dict] | None = None) -> BuildReport:
    """Bring settings.index_dir up to date with ``corpus``: exactly these articles, or what a corpus
    folder read found (qa.corpus.Changes: the articles read, the ids with their hashes of those whose
    files did not change and were not read again, each file's record and the folder's account, kept for
    the next run so it can tell an unchanged folder from file sizes and times alone).

    Only changed and added articles are chunked and embedded; the rest keep their vectors bit for bit.
    ``known``: the current generation and its full manifest, as the caller read them (not parsed again
    when CURRENT still names that generation).
    """
    from qa.corpus import Changes
    from qa.index.backend import backend_of, wanted_backend
    from qa.readers.stream import article_ids

    if wanted_backend(settings, known) == "milvus":
        from qa.index.milvus_build import build_milvus

        return build_milvus(corpus, settings, options, rebuild=rebuild, known=known)
    t0 = time.perf_counter()
    index_dir = Path(settings.index_dir)
    changes = corpus if isinstance(corpus, Changes) else Changes(list(corpus))
    if changes.unchanged:
        raise ValueError("an unchanged folder needs no build: see qa.pipeline.refresh_index (up_to_date)")
    articles, keep, log = changes.articles, changes.keep, options.log
    with build_lock(index_dir):
        previous = previous_manifest(index_dir, rebuild, known)  # under the lock: no build moves it now
        if previous is not None and backend_of(previous) != "segments":
            previous = None  # another backend's index: this build writes everything
        plan = plan_build(articles, keep, settings, previous, log)
        if plan is None:
            manifest = previous
            # A build killed after publishing and before pruning left a third generation (or folders):
            # clear them now, keeping what a finished build keeps.
            tidy(index_dir, manifest)
            if record_differs(manifest, changes):
                _rewrite_manifest(index_dir, manifest, changes)
            m = manifest["counts"]
            return BuildReport(m["articles"], m["chunks"], m["sentences"], time.perf_counter() - t0, unchanged=True,
                               path=str(current_dir(index_dir)), segments=len(manifest.get("segments", [])))
        clear_leftovers(index_dir)
        (index_dir / SEGMENTS).mkdir(parents=True, exist_ok=True)
        previous_gen = current_dir(index_dir) if plan.previous is not None else None
        gen_name = "gen-" + dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S%f")
        tmp = index_dir / f".tmp-{gen_name}"
        tmp.mkdir(parents=True)
        written: list[Path] = []
        try:
            manifest = _write(plan, settings, tmp, written, options)
            # What a server reloading this generation reports, without reading the catalog.
            manifest["previous"] = previous_gen.name if previous_gen is not None else None
            manifest["changes"] = describe_diff(list(plan.changed), list(plan.added), list(plan.removed))
            write_record(tmp, manifest, changes, plan.previous)
            fsync_dir(tmp)
            final = publish(index_dir, tmp, gen_name)
        except BaseException as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            for p in written:
                shutil.rmtree(p, ignore_errors=True)
            if out_of_space(exc):
                raise space_error(index_dir, _needed(index_dir, plan, settings)) from None
            raise
        prune(index_dir, keep=(gen_name,) + ((previous_gen.name,) if previous_gen is not None else ()))
        c = manifest["counts"]
        return BuildReport(c["articles"], c["chunks"], c["sentences"], time.perf_counter() - t0,
                           tuple(plan.changed), tuple(plan.added), tuple(plan.removed),
                           tuple(article_ids(plan.todo)), path=str(final), segments=len(manifest["segments"]),
                           merged=len(plan.merge))


def up_to_date(index_dir: Path, gen: Path) -> BuildReport | None:
    """The report of a build that finds nothing to do, when the corpus folder is as generation ``gen``
    recorded it (qa.corpus.changes found the same files, sizes and times): under the build lock, only
    its light manifest read and leftovers cleared. None when ``gen`` is no longer the current one."""
    t0 = time.perf_counter()
    with build_lock(Path(index_dir)):
        try:
            if current_dir(index_dir) != gen:
                return None
            manifest = read_manifest(index_dir, full=False)
        except (IndexMissingError, IndexCorruptError):
            return None
        tidy(index_dir, manifest)
        m = manifest["counts"]
        return BuildReport(m["articles"], m["chunks"], m["sentences"], time.perf_counter() - t0, unchanged=True,
                           path=str(gen), segments=len(manifest.get("segments", [])))


def tidy(index_dir: Path, manifest: dict) -> None:
    """Prune to the current generation and the one it replaced (two small manifests read, a few
    folders listed), and clear half-written folders."""
    current = current_dir(index_dir)
    if current is None:
        return
    prune(index_dir, keep=(current.name,) + ((manifest["previous"],) if manifest.get("previous") else ()))
    clear_leftovers(index_dir)


def record_differs(manifest: dict, changes: "Changes") -> bool:
    """Whether the folder's record (files, account) must be written again though no article changed
    (a file touched, a copy added)."""
    return changes.digest is not None and bool(
        manifest.get("files_digest") != changes.digest or manifest.get("read") != changes.account
        or changes.files or changes.removed_files)


def write_record(folder: Path, manifest: dict, changes: "Changes", previous: dict | None) -> None:
    """Write a new generation's catalog (qa.index.catalog: each article's hash, each file's record)
    and then its manifest, whose presence means the generation is complete. ``previous``: the full
    manifest of the generation it replaces (its articles' hashes: only those that differ are written)."""
    from qa.index.catalog import write_catalog
    from qa.readers.stream import ids_hashes

    articles = ids_hashes(changes.articles) | changes.keep
    manifest["read"] = changes.account
    manifest["files_digest"] = changes.digest
    manifest["corpus"]["articles"] = articles
    manifest["corpus"]["digest"] = corpus_digest(articles)
    light, _ = split_catalog(manifest)
    write_catalog(folder / CATALOG, articles, changes, previous["corpus"]["articles"] if previous else None)
    write_json(folder / "manifest.json", light)


def _rewrite_manifest(index_dir: Path, manifest: dict, changes: "Changes") -> None:
    """Update the current generation's record of the folder in place (new file stats, same articles),
    catalog then manifest, each atomically: a crash between leaves at worst a folder read again."""
    from qa.index.catalog import write_catalog

    gen = current_dir(index_dir)
    articles = manifest["corpus"]["articles"]
    with contextlib.suppress(OSError):
        if changes.files or changes.removed_files or changes.base is None:
            write_catalog(gen / CATALOG, articles, changes, articles)
        light, _ = split_catalog(manifest | {"read": changes.account, "files_digest": changes.digest})
        write_json(gen / "manifest.json", light)


def _needed(index_dir: Path, plan: Plan, settings: Settings) -> int:
    """About how many bytes the build needs: the new segment (estimated from the old segments' bytes per
    article, or 40 kB an article) and the encoder, copied when it cannot be hard-linked."""
    per_article = 40_000
    kept = [s for s in plan.segments if segment_dir(index_dir, s["name"]).is_dir()]
    if kept:
        size = sum(folder_bytes(segment_dir(index_dir, s["name"])) for s in kept)
        count = sum(s["articles"] for s in kept) or 1
        per_article = max(size // count, 1)
    encoder = 0
    from qa.index.encoder import encoder_cache_dir

    cache = encoder_cache_dir(settings)
    with contextlib.suppress(OSError):
        if (plan.previous is None and cache.is_dir()  # an update hard-links the previous generation's encoder
                and os.stat(cache).st_dev != os.stat(index_dir).st_dev):
            encoder = folder_bytes(cache)
    return per_article * max(len(plan.todo), 1) + encoder


def _write(plan: Plan, settings: Settings, tmp: Path, written: list[Path], options: BuildOptions) -> dict:
    """The new generation's encoder, segments and manifest (without its corpus map)."""
    from qa.index.encoder import place_encoder

    index_dir = Path(settings.index_dir)
    previous, log, embedder_factory = plan.previous, options.log, options.embedder_factory
    encoder_info = query_info = None
    if settings.encoder == "onnx":
        old = _old_encoder(index_dir, "encoder", "encoder", settings)
        encoder_info = place_encoder(settings, tmp / "encoder", *old, log)
        if settings.query_encoder == "int8":
            old = _old_encoder(index_dir, "encoder-int8", "query_encoder", settings)
            query_info = place_encoder(settings, tmp / "encoder-int8", *old, log, variant="int8")
    segments = [s for s in plan.segments if s not in plan.merge]
    dim = None
    if plan.merge:
        log(f"merging {len(plan.merge)} segments")
        seg, dim = _merge(index_dir, plan.merge, written)
        if seg is not None:  # None: nothing of them was left to keep
            segments.append({"name": seg, "deleted": []})
    if len(plan.todo):
        with _build_embedder(settings, tmp, encoder_info, options) as embedder:
            for seg, dim in _embed_and_write(plan.todo, settings, embedder, index_dir, written, options.progress):
                segments.append({"name": seg, "deleted": []})
    if dim is None:
        dim = int(previous["model"]["dim"]) if previous else _probe_dim(settings, tmp, encoder_info, embedder_factory)
    counts = _counts(index_dir, segments)
    segments = [{"name": s["name"], "deleted": list(s["deleted"])} for s in segments]
    return {
        "format": FORMAT,
        "qa_version": __version__,
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="microseconds"),
        "model": {"name": settings.model_name, "dim": dim, "normalized": True},
        "encoder": encoder_info,
        "query_encoder": query_info,
        "tokenizer": {"library": "tiktoken", "encoding": settings.encoding},
        "chunking": {"max_tokens": settings.max_tokens, "overlap": settings.overlap,
                     "sentence_splitter": "syntok", "embedded_text": "title + newline + chunk"},
        "bm25": {"method": "lucene", "k1": 1.5, "b": 0.75, "scored": "at query time, from term frequencies",
                 "tokens": "lower-cased words, English stopwords removed, Snowball stems"},
        "segments": segments,
        "corpus": {},
        "counts": counts,
        "libraries": _library_versions(),
    }


def _old_encoder(index_dir: Path, folder: str, key: str, settings: Settings) -> tuple[Path | None, dict | None]:
    """The current generation's ONNX export, when it is of this model (to hard-link, not export)."""
    with contextlib.suppress(IndexMissingError, IndexCorruptError):
        manifest = read_manifest(index_dir)
        gen = current_dir(index_dir)
        if manifest.get("model", {}).get("name") == settings.model_name and manifest.get(key) and gen is not None:
            return gen / folder, manifest[key]
    return None, None


@contextlib.contextmanager
def _build_embedder(settings: Settings, tmp: Path, encoder_info, options: BuildOptions):
    """The embedder for the articles: on a Dask cluster, a CUDA GPU or here (closed on leaving)."""
    if options.workers or options.scheduler:
        if encoder_info is None:
            from qa.errors import UsageError

            raise UsageError("--workers and --scheduler embed with the index's ONNX encoder: unset QA_ENCODER "
                             "(or set it to onnx).")
        from qa.index.distributed import ClusterEmbedder

        with ClusterEmbedder.start(tmp / "encoder", workers=options.workers, scheduler=options.scheduler) as emb:
            yield emb
        return
    from qa.embedding import resolve_device

    if options.embedder_factory is None and resolve_device(options.device) == "cuda":
        from qa.embedding import CudaEmbedder

        yield CudaEmbedder(settings.model_path, tmp / "encoder" if encoder_info else None)
        return
    yield _embedder(settings, tmp, encoder_info, options.embedder_factory)


def _embedder(settings: Settings, tmp: Path, encoder_info, embedder_factory):
    if embedder_factory is not None:
        return embedder_factory(tmp / "encoder" if encoder_info else None)
    if encoder_info is not None:
        from qa.embedding import onnx_embedder

        return onnx_embedder(tmp / "encoder", threads=os.cpu_count() or 1)
    from qa.embedding import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(settings.model_path)


def _probe_dim(settings: Settings, tmp: Path, encoder_info, embedder_factory) -> int:
    return int(_embedder(settings, tmp, encoder_info, embedder_factory).embed(["dimension probe"]).shape[1])


def _new_segment(index_dir: Path, written: list[Path]) -> tuple[str, Path]:
    name = f"seg-{dt.datetime.now(dt.timezone.utc).strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"
    folder = index_dir / SEGMENTS / f".tmp-{name}"
    written.append(folder)
    return name, folder


def _finish_segment(index_dir: Path, writer: SegmentWriter, name: str, written: list[Path]) -> None:
    writer.close()
    final = index_dir / SEGMENTS / name
    os.rename(writer.folder, final)
    written[written.index(writer.folder)] = final
    fsync_dir(index_dir / SEGMENTS)


@dataclass(frozen=True)
class Embedded:
    """One article ready to store: its sentences and chunks, and their vectors (rows in the same order)."""

    article: Article
    sentences: list[Sentence]
    chunks: list[Chunk]
    chunk_vectors: "np.ndarray"
    sentence_vectors: "np.ndarray"


def embed_articles(todo: list[Article], settings: Settings, embedder, progress: bool = False) -> Iterator[Embedded]:
    """Chunk and embed ``todo``, in order, in batches of about EMBED_BATCH_TEXTS texts (each batch one
    encoder call: its chunks, each with its article's title, then its sentences). Any backend stores
    what this yields. ``embedder`` has ``embed(texts, batch_size=)``, or ``embed_batches(batches,
    batch_size=)`` yielding each batch's vectors in order while later ones are being embedded (a
    Dask cluster, qa.index.distributed)."""
    from qa.chunking import get_encoding

    encoding = get_encoding(settings.encoding)
    batches = ((batch, [chunk_embedding_text(a, c) for a, _, cs in batch for c in cs]
                + [s.text for _, ss, _ in batch for s in ss]) for batch in _batches(todo, settings, encoding))
    if hasattr(embedder, "embed_batches"):
        done = embedder.embed_batches(batches, batch_size=settings.batch_size)
    else:
        done = ((batch, texts, embedder.embed(texts, batch_size=settings.batch_size)) for batch, texts in batches)
    with Progress(_estimate_texts(todo), unit="texts", label="embedding", enabled=True,
                  quiet_for=0.0 if progress else 3.0) as bar:
        for batch, texts, vectors in done:
            if not (vectors.ndim == 2 and vectors.shape[1]):
                vectors = vectors.reshape(0, int(embedder.embed(["dimension probe"]).shape[1]))
            n_chunks = sum(len(cs) for _, _, cs in batch)
            cv, sv = vectors[:n_chunks], vectors[n_chunks:]
            ci = si = 0
            for a, ss, cs in batch:
                yield Embedded(a, ss, cs, cv[ci:ci + len(cs)], sv[si:si + len(ss)])
                ci += len(cs)
                si += len(ss)
            bar.total = max(bar.total, bar.done + len(texts))
            bar.update(len(texts))


def _embed_and_write(todo: list[Article], settings: Settings, embedder, index_dir: Path, written: list[Path],
                     progress: bool) -> Iterator[tuple[str, int]]:
    """Write what embed_articles yields, starting a new segment at MAX_SEGMENT_CHUNKS. Yields (segment
    name, vector dimension) for each segment written."""
    writer: SegmentWriter | None = None
    name = ""
    dim = 0
    for e in embed_articles(todo, settings, embedder, progress):
        dim = int(e.chunk_vectors.shape[1])
        if writer is None or writer.n_chunks + len(e.chunks) > MAX_SEGMENT_CHUNKS and writer.n_articles:
            if writer is not None:
                _finish_segment(index_dir, writer, name, written)
                yield name, dim
            name, folder = _new_segment(index_dir, written)
            writer = SegmentWriter(folder, dim, bm25_text=chunk_embedding_text, name=name)
        writer.add(e.article, e.sentences, e.chunks, e.chunk_vectors, e.sentence_vectors)
    if writer is not None:
        _finish_segment(index_dir, writer, name, written)
        yield name, dim


def _estimate_texts(todo: list[Article]) -> int:
    """About how many texts the articles will give (a sentence per ~120 characters, a chunk per ~900)."""
    from qa.readers.stream import total_chars

    chars = total_chars(todo)
    return max(len(todo), chars // 120 + chars // 900)


def _batches(todo: list[Article], settings: Settings, encoding) -> Iterator[list[tuple[Article, list, list]]]:
    from qa.chunking import article_sentences, chunk_article

    batch, texts = [], 0
    for a in todo:
        ss = article_sentences(a)
        cs = chunk_article(a, ss, encoding=encoding, max_tokens=settings.max_tokens, overlap=settings.overlap)
        batch.append((a, ss, cs))
        texts += len(ss) + len(cs)
        if texts >= EMBED_BATCH_TEXTS:
            yield batch
            batch, texts = [], 0
    if batch:
        yield batch


def _merge(index_dir: Path, entries: list[dict], written: list[Path]) -> tuple[str | None, int | None]:
    """Copy the live articles of several segments into one new segment (no embedding). (None, None)
    when none of them has a live article left."""
    name, folder = _new_segment(index_dir, written)
    writer = None
    dim = None
    for entry in entries:
        seg = Segment(segment_dir(index_dir, entry["name"]), resident=False)
        deleted = set(entry["deleted"])
        for row, article_id in enumerate(seg.ids):
            if article_id in deleted:
                continue
            dim = seg.info.dim
            writer = writer or SegmentWriter(folder, dim, bm25_text=chunk_embedding_text, name=name)
            article = seg.article(row)
            s_first, s_count, c_first, c_count = (int(x) for x in seg.articles[row, :4])
            sentences = [Sentence(id=f"{article.id}:{o}", article_id=article.id, ordinal=o, start=a, end=b,
                                  text=article.text[a:b])
                         for _, o, a, b, _ in seg.sentences[s_first:s_first + s_count].tolist()]
            chunks = [Chunk(id=f"{article.id}#{o}", article_id=article.id, ordinal=o, start=a, end=b,
                            text=article.text[a:b], sentences=tuple(range(f, f + n)), tokens=t)
                      for _, o, a, b, f, n, t in seg.chunks[c_first:c_first + c_count].tolist()]
            writer.add(article, sentences, chunks, seg.chunk_vectors.slice(c_first, c_first + c_count),
                       seg.sentence_vectors.slice(s_first, s_first + s_count))
    if writer is None:
        written.remove(folder)
        return None, None
    _finish_segment(index_dir, writer, name, written)
    return name, dim


def _counts(index_dir: Path, segments: list[dict]) -> dict[str, int]:
    import numpy as np

    from qa.index.store import read_segment_info

    articles = chunks = sentences = 0
    for s in segments:
        info = read_segment_info(index_dir, s["name"])
        if not s["deleted"]:
            articles += info["articles"]
            chunks += info["chunks"]
            sentences += info["sentences"]
            continue
        table = np.load(segment_dir(index_dir, s["name"]) / "articles.npy", mmap_mode="r", allow_pickle=False)
        gone = np.array(sorted(_segment_rows(index_dir, s["name"], s["deleted"]).values()), dtype=np.int64)
        articles += info["articles"] - len(gone)
        sentences += info["sentences"] - int(table[gone, 1].sum())
        chunks += info["chunks"] - int(table[gone, 3].sum())
    return {"articles": articles, "chunks": chunks, "sentences": sentences}


def _library_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": sys.version.split()[0], "qa": __version__}
    for pkg in ("faiss-cpu", "sentence-transformers", "onnxruntime", "tiktoken", "syntok", "numpy"):
        with contextlib.suppress(PackageNotFoundError):
            out[pkg] = version(pkg)
    return out
