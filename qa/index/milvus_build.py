"""Building an index on Milvus: the same plan, chunking and embedding as the segmented build
(qa.index.build), rows written to the generation's Milvus collections, the manifest written last.

A full build creates new collections and, once they hold everything, publishes the manifest naming
them and moves the aliases; the previous generation's collections stay until the build after. An
update inserts the changed and added articles under new rows and retires the rows they replace (in the
manifest: the new generation no longer sees them, the previous one still does); retired rows are
deleted by filter at the next build. A build that fails deletes what it inserted, so the published
generation answers as before.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import time
from collections import Counter
from dataclasses import fields
from pathlib import Path

from qa import __version__
from qa.config import Settings
from qa.index.build import (BuildReport, _batches, _embedder, _estimate_texts, _library_versions, _old_encoder,
                            chunk_embedding_text, plan_build, previous_manifest, record_differs, tidy,
                            write_record, _rewrite_manifest)
from qa.index.layout import build_lock, clear_leftovers, current_dir, fsync_dir, prune, publish
from qa.index.manifest import FORMAT, describe_diff
from qa.index.milvus_schema import (PIECE_CHARS, PIECES, BackendError, collection_names, connect, create_collections,
                                    env_uri, explain, resolve_uri, token)
from qa.index.milvus_store import date_number, signed
from qa.index.segment import QUOTED_MIN_CHARS, quote_key
from qa.progress import Progress
from qa.quotes import speakers
from qa.readers.stream import article_ids
from qa.text import reported_years, terms, years
from qa.types import Article

PREFIX = "qa"
INSERT_ROWS = 512  # rows per insert call
MAX_TERMS_CHARS = 16_000  # longer sentence terms are not stored (the reader computes them from the text)


def wanted_uri(settings: Settings) -> str | None:
    """The server URI `qa index` writes to (None: Milvus Lite inside the index folder)."""
    return settings.milvus_uri or env_uri() or None


class _Writer:
    """Rows into a generation's collections, in batches; vocabulary, date and publisher counts kept."""

    def __init__(self, client, names: dict[str, str], next_rows: list[int], uri: str):
        self.client, self.names, self.uri = client, names, uri
        self.next = list(next_rows)
        self.pending: dict[str, list[dict]] = {"chunks": [], "sentences": [], "articles": []}
        self.vocab: Counter = Counter()
        self.dates: Counter = Counter()
        self.sources: Counter = Counter()
        self.counts = Counter()
        self.lengths = 0  # stemmed terms over all chunks (BM25's average length)

    def add(self, article: Article, sentences, chunks, chunk_vectors, sentence_vectors) -> None:
        row, first_s, first_c = self.next
        self.next = [row + 1, first_s + len(sentences), first_c + len(chunks)]
        named = article.title + " " + article.text
        start, end = date_number(article.date, False), date_number(article.date, True)
        source, title = (article.source or "").lower(), article.title.casefold()[:PIECE_CHARS]
        meta = {"article": {f.name: getattr(article, f.name) for f in fields(Article) if f.name != "text"},
                "info": {"sentences": [first_s, len(sentences)], "chunks": [first_c, len(chunks)],
                         "mentions": sorted({str(int(y)) for y in years(named)}),
                         "reports": sorted({str(int(y)) for y in reported_years(named)})}}
        text = article.text
        for piece in range(max(1, -(-len(text) // PIECE_CHARS))):
            self.pending["articles"].append({
                "key": row * PIECES + piece, "placeholder": [0.0, 0.0], "article": row, "piece": piece,
                "date_start": start, "date_end": end, "id": article.id, "source": source, "title": title,
                "text": text[piece * PIECE_CHARS:(piece + 1) * PIECE_CHARS],
                "meta": json.dumps(meta, ensure_ascii=False) if piece == 0 else ""})
        introduced = speakers(article.text, sentences)
        for s, v in zip(sentences, sentence_vectors):
            intro = introduced.get(s.ordinal)
            stored = " ".join(terms(s.text))
            self.pending["sentences"].append({
                "row": first_s + s.ordinal, "vector": v.tolist(), "article": row, "ordinal": s.ordinal,
                "start": s.start, "end": s.end, "speaker": -1 if intro is None else first_s + intro,
                "quote_key": signed(quote_key(s.text.split())) if len(s.text) > QUOTED_MIN_CHARS else 0,
                "terms": stored if len(stored) <= MAX_TERMS_CHARS else "\0"})
        for n, (c, v) in enumerate(zip(chunks, chunk_vectors)):
            chunk_terms = terms(chunk_embedding_text(article, c))
            self.lengths += len(chunk_terms)
            self.vocab.update("t:" + t for t in set(chunk_terms))
            first = c.sentences[0] if c.sentences else 0
            self.pending["chunks"].append({
                "row": first_c + n, "vector": v.tolist(), "text": " ".join(chunk_terms)[:PIECE_CHARS],
                "article": row, "article_id": article.id, "date": article.date or "", "date_start": start, "date_end": end, "source": source,
                "title": title, "ordinal": c.ordinal, "start": c.start, "end": c.end, "first": first_s + first,
                "count": len(c.sentences), "tokens": c.tokens})
        self.vocab.update("w:" + w for w in {w.lower() for w in named.split()})
        self.dates[article.date or ""] += 1
        self.sources[article.source or ""] += 1
        self.counts.update(articles=1, sentences=len(sentences), chunks=len(chunks))
        if any(len(rows) >= INSERT_ROWS for rows in self.pending.values()):
            self.flush()

    def flush(self) -> None:
        for kind, rows in self.pending.items():
            for i in range(0, len(rows), INSERT_ROWS):
                try:
                    self.client.insert(self.names[kind], rows[i:i + INSERT_ROWS])
                except Exception as exc:
                    raise explain(exc, self.uri, f"writing {kind}") from None
            rows.clear()


def build_milvus(corpus, settings: Settings, options, *, rebuild: bool = False, known=None) -> BuildReport:
    """build_index for an index on Milvus (same arguments and report; see the module docstring)."""
    from qa.corpus import Changes
    from qa.index.backend import backend_of

    t0 = time.perf_counter()
    index_dir = Path(settings.index_dir)
    changes = corpus if isinstance(corpus, Changes) else Changes(list(corpus))
    articles, keep, log = changes.articles, changes.keep, options.log
    uri_wanted = wanted_uri(settings)
    with build_lock(index_dir):
        previous = previous_manifest(index_dir, rebuild, known)
        if previous is not None and backend_of(previous) == "milvus" and not settings.backend:
            uri_wanted = previous["backend"].get("uri")  # a refresh (`qa ask --corpus`) keeps the index's server
        if previous is not None and (backend_of(previous) != "milvus"
                                     or previous["backend"].get("uri") != uri_wanted):
            previous = None
        plan = plan_build(articles, keep, settings, previous, log)
        if plan is None:
            tidy(index_dir, previous)
            if record_differs(previous, changes):
                _rewrite_manifest(index_dir, previous, changes)
            m = previous["counts"]
            return BuildReport(m["articles"], m["chunks"], m["sentences"], time.perf_counter() - t0, unchanged=True,
                               path=str(current_dir(index_dir)))
        clear_leftovers(index_dir)
        uri = resolve_uri(index_dir, uri_wanted)
        client = connect(uri, token())
        previous_gen = current_dir(index_dir) if plan.previous is not None else None
        gen_name = "gen-" + dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S%f")
        tmp = index_dir / f".tmp-{gen_name}"
        tmp.mkdir(parents=True)
        old = plan.previous["backend"] if plan.previous is not None else None
        names = old["collections"] if old else collection_names(PREFIX, gen_name.replace("-", "_"))
        created = old is None
        try:
            manifest = _write(client, uri, names, plan, settings, tmp, options)
            manifest["backend"]["uri"] = uri_wanted
            manifest["previous"] = previous_gen.name if previous_gen is not None else None
            manifest["changes"] = describe_diff(list(plan.changed), list(plan.added), list(plan.removed))
            write_record(tmp, manifest, changes, plan.previous)  # the manifest last: its presence means complete
            fsync_dir(tmp)
            final = publish(index_dir, tmp, gen_name)
        except BaseException as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            _undo(client, names, old, created)
            _close(client)
            if isinstance(exc, Exception) and not isinstance(exc, BackendError) and _milvus_error(exc):
                raise explain(exc, uri, "building the index") from None
            raise
        _after_publish(client, names, index_dir, uri)
        _close(client)  # a Milvus Lite file is held by one process at a time: let a server open it
        prune(index_dir, keep=(gen_name,) + ((previous_gen.name,) if previous_gen is not None else ()))
        c = manifest["counts"]
        return BuildReport(c["articles"], c["chunks"], c["sentences"], time.perf_counter() - t0,
                           tuple(plan.changed), tuple(plan.added), tuple(plan.removed),
                           tuple(article_ids(plan.todo)), path=str(final))


def _close(client) -> None:
    try:
        client.close()
    except Exception:
        pass


def _milvus_error(exc: BaseException) -> bool:
    return type(exc).__module__.startswith(("pymilvus", "grpc", "milvus"))


def _undo(client, names: dict[str, str], old: dict | None, created: bool) -> None:
    """Remove what a failed build wrote: its collections, or the rows it inserted into the current ones."""
    try:
        if created:
            for name in names.values():
                if client.has_collection(name):
                    client.drop_collection(name)
        else:
            first = int(old["next"][0])
            for kind in ("chunks", "sentences", "articles"):
                client.delete(names[kind], filter=f"article >= {first}")
    except Exception:  # the connection itself failed: the next build clears them (article >= next)
        pass


def _after_publish(client, names: dict[str, str], index_dir: Path, uri: str) -> None:
    """Point the aliases at the new generation's collections and drop collections no generation kept
    on disk names (the current one and the one it replaced stay)."""
    kept = set()
    for gen in index_dir.glob("gen-*"):
        try:
            kept |= set(json.loads((gen / "manifest.json").read_text("utf-8"))["backend"]["collections"].values())
        except (OSError, ValueError, KeyError, TypeError):
            continue
    kept |= set(names.values())
    try:
        aliases = set(client.list_aliases().get("aliases", []))
        for kind, name in names.items():
            alias = f"{PREFIX}_{kind}"
            if alias in aliases:
                client.alter_alias(name, alias)
            else:
                client.create_alias(name, alias)
        for name in client.list_collections():
            if name.startswith(PREFIX + "_gen_") and name not in kept and not _soon_kept(index_dir, name):
                client.drop_collection(name)
    except Exception:  # the manifest is published; aliases and clean-up are for people and the next build
        pass


def _soon_kept(index_dir: Path, name: str) -> bool:
    """A collection of a generation being written now (another build's .tmp folder): not dropped."""
    return any(name.startswith(f"{PREFIX}_{p.name[5:].replace('-', '_')}") for p in index_dir.glob(".tmp-gen-*"))


def _write(client, uri: str, names: dict[str, str], plan, settings: Settings, tmp: Path, options) -> dict:
    """Embed and write the plan's articles; the new manifest (without its corpus map)."""
    from qa.index.encoder import place_encoder

    old = plan.previous["backend"] if plan.previous is not None else None  # the generation updated, if any

    index_dir, log = Path(settings.index_dir), options.log
    encoder_info = query_info = None
    if settings.encoder == "onnx":
        encoder_info = place_encoder(settings, tmp / "encoder", *_old_encoder(index_dir, "encoder", "encoder",
                                                                               settings), log)
        if settings.query_encoder == "int8":
            query_info = place_encoder(settings, tmp / "encoder-int8",
                                       *_old_encoder(index_dir, "encoder-int8", "query_encoder", settings), log,
                                       variant="int8")
    embedder = _embedder(settings, tmp, encoder_info, options.embedder_factory)
    dim = int(plan.previous["model"]["dim"]) if plan.previous else int(embedder.embed(["dimension probe"]).shape[1])
    if old is None:
        try:
            create_collections(client, names, dim)
        except Exception as exc:
            raise explain(exc, uri, "creating the collections") from None
        writer = _Writer(client, names, [0, 0, 0], uri)
        counts = Counter()
        retired: list[int] = []
    else:
        writer = _Writer(client, names, old["next"], uri)
        counts = Counter(plan.previous["counts"])
        retired = _retire(client, uri, names, old, plan, writer, counts)
    _embed_into(writer, plan.todo, settings, embedder, options.progress)
    writer.flush()
    _vocab(client, uri, names["vocab"], writer.vocab, fresh=old is None)
    try:  # sealed and persisted before the manifest that names them is written
        for name in names.values():
            client.flush(name)
    except Exception as exc:
        raise explain(exc, uri, "flushing the collections") from None
    counts.update(writer.counts)
    dates = Counter(old.get("dates", {}) if old else {}) + Counter()
    dates.update(writer.dates)
    sources = Counter(old.get("sources", {}) if old else {})
    sources.update(writer.sources)
    return {
        "format": FORMAT, "qa_version": __version__,
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="microseconds"),
        "model": {"name": settings.model_name, "dim": dim, "normalized": True},
        "encoder": encoder_info, "query_encoder": query_info,
        "tokenizer": {"library": "tiktoken", "encoding": settings.encoding},
        "chunking": {"max_tokens": settings.max_tokens, "overlap": settings.overlap,
                     "sentence_splitter": "syntok", "embedded_text": "title + newline + chunk"},
        "bm25": {"method": "Milvus BM25 function (analyzer standard over the client's stemmed terms)",
                 "tokens": "lower-cased words, English stopwords removed, Snowball stems"},
        "segments": [],
        "backend": {"name": "milvus", "collections": names, "next": writer.next, "retired": retired,
                    "lengths": int((old or {}).get("lengths", 0)) + writer.lengths,
                    "dates": {d: n for d, n in dates.items() if n > 0},
                    "sources": {s: n for s, n in sources.items() if n > 0}},
        "corpus": {},
        "counts": {k: int(counts[k]) for k in ("articles", "chunks", "sentences")},
        "libraries": _library_versions(),
    }


def _retire(client, uri: str, names: dict[str, str], old: dict, plan, writer: _Writer, counts: Counter) -> list[int]:
    """Delete what the previous generation retired and what a failed build left; retire the rows of
    changed and removed articles (their counts leave the totals now). Returns the rows retired."""
    try:
        first = int(old["next"][0])
        gone_before = [int(r) for r in old.get("retired", [])]
        for kind in ("chunks", "sentences", "articles"):
            client.delete(names[kind], filter=f"article >= {first}")
            if gone_before:
                client.delete(names[kind], filter=f"article in {gone_before}")
        gone_ids = list(plan.changed) + list(plan.removed)
        retired = []
        for i in range(0, len(gone_ids), 1000):
            ids = json.dumps(gone_ids[i:i + 1000], ensure_ascii=False)
            metas = client.query(names["articles"], filter=f"piece == 0 and id in {ids} and article < {first}",
                                 output_fields=["article", "meta"])
            for hit in metas:
                meta = json.loads(hit["meta"])
                retired.append(int(hit["article"]))
                counts.update(articles=-1, sentences=-meta["info"]["sentences"][1], chunks=-meta["info"]["chunks"][1])
                writer.dates[meta["article"].get("date") or ""] -= 1
                writer.sources[meta["article"].get("source") or ""] -= 1
        for i in range(0, len(retired), 1000):
            rows = retired[i:i + 1000]
            for hit in client.query(names["chunks"], filter=f"article in {rows}", output_fields=["text"]):
                words = hit["text"].split()
                writer.vocab.subtract("t:" + t for t in set(words))
                writer.lengths -= len(words)
            pieces: dict[int, list] = {}
            for hit in client.query(names["articles"], filter=f"article in {rows}",
                                    output_fields=["article", "piece", "text", "meta"]):
                pieces.setdefault(hit["article"], []).append(hit)
            for parts in pieces.values():
                parts.sort(key=lambda h: h["piece"])
                title = json.loads(parts[0]["meta"])["article"]["title"]
                named = title + " " + "".join(p["text"] for p in parts)
                writer.vocab.subtract("w:" + w for w in {w.lower() for w in named.split()})
        return sorted(retired)
    except BackendError:
        raise
    except Exception as exc:
        raise explain(exc, uri, "retiring changed articles") from None


def _embed_into(writer: _Writer, todo: list[Article], settings: Settings, embedder, progress: bool) -> None:
    """Chunk and embed as the segmented build does (qa.index.build's batches, one encoder call each)."""
    from qa.chunking import get_encoding

    encoding = get_encoding(settings.encoding)
    with Progress(_estimate_texts(todo), unit="texts", label="embedding", enabled=True,
                  quiet_for=0.0 if progress else 3.0) as bar:
        for batch in _batches(todo, settings, encoding):
            texts = [chunk_embedding_text(a, c) for a, _, cs in batch for c in cs]
            texts += [s.text for _, ss, _ in batch for s in ss]
            vectors = embedder.embed(texts, batch_size=settings.batch_size)
            n_chunks = sum(len(cs) for _, _, cs in batch)
            cv, sv = vectors[:n_chunks], vectors[n_chunks:]
            ci = si = 0
            for a, ss, cs in batch:
                writer.add(a, ss, cs, cv[ci:ci + len(cs)], sv[si:si + len(ss)])
                ci += len(cs)
                si += len(ss)
            bar.total = max(bar.total, bar.done + len(texts))
            bar.update(len(texts))


def _vocab(client, uri: str, name: str, delta: Counter, fresh: bool) -> None:
    """Add ``delta`` to the vocabulary counts (a fresh collection: insert them)."""
    keys = [k for k, n in delta.items() if n and len(k.encode("utf-8")) <= 1000]
    try:
        for i in range(0, len(keys), 2000):
            part = keys[i:i + 2000]
            have = {} if fresh else {h["key"]: int(h["count"]) for h in client.query(
                name, filter=f"key in {json.dumps(part, ensure_ascii=False)}", output_fields=["key", "count"],
                limit=len(part))}
            rows = [{"key": k, "placeholder": [0.0, 0.0], "count": have.get(k, 0) + int(delta[k])} for k in part]
            (client.insert if fresh else client.upsert)(name, rows)
    except Exception as exc:
        raise explain(exc, uri, "writing the vocabulary") from None
