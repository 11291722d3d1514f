"""Faults: `qa index` killed at random points, index files damaged under a loaded engine, and
the corpus changed while serving. Uses the real model; each test works on its own copies."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from qa.cli import main
from qa.config import Settings
from qa.errors import IndexCorruptError
from qa.index import current_dir, load_index, read_manifest
from qa.pipeline import Engine

pytestmark = pytest.mark.model

ROOT = Path(__file__).resolve().parents[1]
SEED = 20240611
KILLS = 5
QUESTIONS = [
    "How did Ofsted rate Havering's child protection services in 2012?",
    "What is the current Ofsted rating of Havering's children's services?",
]
NEW_SENTENCE = "In March 2025 the council opened a family hub in Hornchurch for young carers."
NEW_QUESTION = "Where did the council open a family hub for young carers?"


def env() -> dict[str, str]:
    return dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", GRADIO_ANALYTICS_ENABLED="False",
                PYTHONUNBUFFERED="1")


def index_cmd(s: Settings, *extra: str) -> list[str]:
    return [sys.executable, "-m", "qa", "index", "--corpus", str(s.corpus_dir), "--index", str(s.index_dir), *extra]


def clone(base: Settings, target: Path) -> Settings:
    """A private copy of a corpus and its index. The ONNX files are hard links (never written in
    place by anyone); the rest are copies, so damaging them cannot touch ``base``."""
    shutil.copytree(base.corpus_dir, target / "corpus")

    def copy(src: str, dst: str) -> None:
        if f"{os.sep}encoder{os.sep}" in src:
            os.link(src, dst)
        else:
            shutil.copy2(src, dst)

    shutil.copytree(base.index_dir, target / "index", copy_function=copy,
                    ignore=shutil.ignore_patterns(".lock"))
    return Settings(corpus_dir=target / "corpus", index_dir=target / "index")


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Settings:
    """The five articles of corpus/, indexed once for this module."""
    root = tmp_path_factory.mktemp("faults-base")
    (root / "corpus").mkdir()
    for p in sorted((ROOT / "corpus").glob("*.md")):
        shutil.copy2(p, root / "corpus" / p.name)
    s = Settings(corpus_dir=root / "corpus", index_dir=root / "index")
    Engine.open(s)
    return s


def signature(engine: Engine, extra: tuple[str, ...] = ()) -> list[tuple]:
    """What a user sees for each question: the answer text and its exact citations."""
    out = []
    for q in (*QUESTIONS, *extra):
        a = engine.ask(q)
        out.append((a.abstained, a.answer, tuple((c.article_id, c.start, c.end, c.quote) for c in a.citations)))
    return out


def check_whole(index) -> None:
    """One generation, not a mix: every file agrees with the others and with the manifest."""
    hashes = index.full_manifest()["corpus"]["articles"]
    assert hashes == {a.id: a.sha256 for a in index.articles.values()}
    for c in index.iter_chunks():
        assert index.articles[c.article_id].text[c.start:c.end] == c.text
    for s in index.iter_sentences():
        assert index.articles[s.article_id].text[s.start:s.end] == s.text
    rows = np.flatnonzero(index.live_sentences)
    assert np.allclose(np.linalg.norm(index.sentence_vectors_at(rows), axis=1), 1.0, atol=1e-3)


# ------------------------------------------------------------------ kill -9 during `qa index`


def test_kill_9_during_index_never_leaves_a_broken_or_mixed_index(base, tmp_path):
    s = clone(base, tmp_path)
    rng = random.Random(SEED)
    files = sorted(s.corpus_dir.glob("*.md"))

    def modify(run: int) -> None:
        f = rng.choice(files)
        f.write_text(f.read_text("utf-8") + f"\nIn run {run} the council planted {1000 + run} trees in Romford parks.\n",
                     "utf-8")

    # How long one incremental build takes here, from process start to exit.
    modify(0)
    t0 = time.monotonic()
    subprocess.run(index_cmd(s), env=env(), check=True, capture_output=True, timeout=300)
    build_s = time.monotonic() - t0

    kill_points = []
    for run in range(1, KILLS + 1):
        before_index = load_index(s.index_dir)
        trees = (f"How many trees did the council plant in run {run}?",)
        before = signature(Engine(before_index, s), trees)
        modify(run)
        delay = rng.uniform(0.2, build_s)
        proc = subprocess.Popen(index_cmd(s), env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        finished = proc.poll() is not None
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        kill_points.append((round(delay, 2), finished))

        killed = load_index(s.index_dir)  # must load: the previous or the new generation, whole
        check_whole(killed)
        at_kill = signature(Engine(killed, s), trees)

        done = subprocess.run(index_cmd(s), env=env(), capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        after_index = load_index(s.index_dir)
        check_whole(after_index)
        after = signature(Engine(after_index, s), trees)
        assert not list(s.index_dir.glob(".tmp-*")), "the next build clears what the killed one left"
        assert not list((s.index_dir / "segments").glob(".tmp-*"))
        generations = list(s.index_dir.glob("gen-*"))
        assert 1 <= len(generations) <= 2  # the current one and the one it replaced
        referenced = {e["name"] for g in generations
                      for e in json.loads((g / "manifest.json").read_text("utf-8"))["segments"]}
        assert {p.name for p in (s.index_dir / "segments").iterdir()} == referenced

        if killed.manifest["corpus"] == before_index.manifest["corpus"]:
            assert at_kill == before, f"run {run} (killed at {delay:.2f} s): answers differ from before"
        else:
            assert killed.manifest["corpus"] == after_index.manifest["corpus"]
            assert at_kill == after, f"run {run} (killed at {delay:.2f} s): answers differ from after"
        assert f"planted {1000 + run} trees" in after[-1][1], "the completed build answers from the new text"
    print(f"build {build_s:.1f} s; kills at (s, had it finished?): {kill_points}")


# ------------------------------------------------------------------ damage under a loaded engine


def _rewrite(path: Path, data: bytes) -> None:
    path.unlink()  # a new file, never the same inode: clones share nothing with the base
    path.write_bytes(data)


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    _rewrite(path, data[: len(data) // 2])


def _pickled_npy(path: Path) -> None:
    path.unlink()
    np.save(path, np.array([{"boom": 1}], dtype=object), allow_pickle=True)


def _segment(idx: Path) -> Path:
    return next((idx / "segments").glob("seg-*"))


DAMAGE = {
    "manifest garbage": lambda gen, idx: _rewrite(gen / "manifest.json", b"{not json"),
    "manifest deleted": lambda gen, idx: (gen / "manifest.json").unlink(),
    "CURRENT deleted": lambda gen, idx: (idx / "CURRENT").unlink(),
    "CURRENT names a missing generation": lambda gen, idx: _rewrite(idx / "CURRENT", b"gen-19990101T000000\n"),
    "CURRENT names a folder outside": lambda gen, idx: _rewrite(idx / "CURRENT", b"../../etc\n"),
    "generation deleted": lambda gen, idx: shutil.rmtree(gen),
    "segment deleted": lambda gen, idx: shutil.rmtree(_segment(idx)),
    "chunk vectors truncated": lambda gen, idx: _truncate(_segment(idx) / "chunk_vectors.f32"),
    "sentence table deleted": lambda gen, idx: (_segment(idx) / "sentences.npy").unlink(),
    "chunk table truncated": lambda gen, idx: _truncate(_segment(idx) / "chunks.npy"),
    "an array holds a pickle": lambda gen, idx: _pickled_npy(_segment(idx) / "sentence_terms.npy"),
    "ONNX encoder deleted": lambda gen, idx: shutil.rmtree(gen / "encoder"),
    "BM25 postings truncated": lambda gen, idx: _truncate(_segment(idx) / "bm25_docs.npy"),
    "article database garbage": lambda gen, idx: _rewrite(_segment(idx) / "articles.sqlite", b"not a database" * 100),
    "segment.json garbage": lambda gen, idx: _rewrite(_segment(idx) / "segment.json", b"[1, 2"),
}


def _bump_manifest(gen: Path) -> None:
    """Make the damaged generation look newer, so reload() reads its files and not only its manifest."""
    manifest = json.loads((gen / "manifest.json").read_text("utf-8"))
    manifest["created"] = "2099-01-01T00:00:00+00:00"
    _rewrite(gen / "manifest.json", json.dumps(manifest).encode())


REPAIRED = {"manifest garbage", "generation deleted", "chunk vectors truncated"}  # a full rebuild each: ~10 s


@pytest.mark.parametrize("damage,newer", [
    *[(name, False) for name in DAMAGE],
    *[(name, True)
      for name in ("chunk vectors truncated", "sentence table deleted", "chunk table truncated",
                   "an array holds a pickle", "article database garbage", "segment.json garbage",
                   "segment deleted")],
])
def test_damaged_index_keeps_answering_from_memory(base, tmp_path, capsys, damage, newer):
    s = clone(base, tmp_path)
    engine = Engine(load_index(s.index_dir), s)
    expected = signature(engine)  # also loads the query encoder into memory
    gen = current_dir(s.index_dir)

    DAMAGE[damage](gen, s.index_dir)
    if newer:
        _bump_manifest(gen)
    assert signature(engine) == expected

    messages = engine.reload()  # says what to do, never raises
    assert isinstance(messages, list) and all(isinstance(m, str) for m in messages)
    if messages:
        assert "qa index" in " ".join(messages) and "kept the index in memory" in messages[0], messages
    assert signature(engine) == expected
    if damage not in REPAIRED:
        return

    # `qa index --rebuild` repairs it; the engine takes the repaired index without a restart
    code = main(["index", "--rebuild", "--corpus", str(s.corpus_dir), "--index", str(s.index_dir)])
    assert code == 0, capsys.readouterr().err
    check_whole(load_index(s.index_dir))
    assert engine.reload(), "the rebuilt index is a new generation"
    assert [(a, t, tuple(c[:3] for c in cs)) for a, t, cs in signature(engine)] == \
        [(a, t, tuple(c[:3] for c in cs)) for a, t, cs in expected]


def test_app_reload_never_blocks_a_question():
    """The web layer reloads on its own thread while questions are answered (Engine.reload is safe
    beside ask: each question reads one snapshot); a slow reload holds no question up."""
    import threading

    from qa.web.gate import EngineGate, ReloadWatcher

    class Probe:
        def __init__(self):
            self.reloading = threading.Event()
            self.asked_during_reload = 0

        def ask(self, question, history=()):
            if self.reloading.is_set():
                self.asked_during_reload += 1

            class A:
                def to_dict(self):
                    return {"question": question}
            return A()

        def reload(self):
            self.reloading.set()
            time.sleep(0.5)  # loading a big index
            self.reloading.clear()
            return ["index rebuilt"]

    probe = Probe()
    gate = EngineGate(probe, concurrency=3)
    watcher = ReloadWatcher(probe, interval=0.05)
    watcher.start()
    try:
        assert probe.reloading.wait(10)
        started = time.monotonic()
        answers = [gate.ask(f"q{i}", []) for i in range(50)]
        assert time.monotonic() - started < 0.4  # none waited for the reload to finish
    finally:
        watcher.stop()
        gate.close()
    assert answers[-1] == {"question": "q49"} and probe.asked_during_reload > 0


# ------------------------------------------------------------------ corpus changed while serving


def test_changed_article_is_served_after_qa_index_without_restart(base, tmp_path, capsys):
    from fastapi.testclient import TestClient

    from qa.web.server import build_app

    s = clone(base, tmp_path)
    engine = Engine(load_index(s.index_dir), s)
    served = Engine(load_index(s.index_dir), s)
    app = build_app(served, examples=[], reload_interval=0.05)

    def ask_app(question: str) -> dict:
        r = client.post("/api/ask", json={"question": question})
        assert r.status_code == 200
        return r.json()

    with TestClient(app, base_url="http://127.0.0.1") as client:  # runs the app's lifespan: its reload thread
        before = ask_app(NEW_QUESTION)
        assert NEW_SENTENCE not in json.dumps(before)
        assert all(NEW_SENTENCE not in c.quote for c in engine.ask(NEW_QUESTION).citations)

        target = s.corpus_dir / "havering-improvement-update.md"
        target.write_text(target.read_text("utf-8").rstrip("\n") + "\n\n" + NEW_SENTENCE + "\n", "utf-8")
        assert engine.stale_reasons() == ["1 article changed"]
        assert main(["index", "--corpus", str(s.corpus_dir), "--index", str(s.index_dir)]) == 0
        assert "1 article changed" in capsys.readouterr().out

        assert engine.reload() == ["1 article changed"]
        answer = engine.ask(NEW_QUESTION)
        assert not answer.abstained
        cited = [c for c in answer.citations if c.quote == NEW_SENTENCE]
        assert cited, [c.quote for c in answer.citations]
        article = engine.articles[cited[0].article_id]
        assert article.text[cited[0].start:cited[0].end] == NEW_SENTENCE

        deadline = time.monotonic() + 30
        while True:  # the app re-reads the index itself, on its own thread
            after = ask_app(NEW_QUESTION)
            if any(c["quote"] == NEW_SENTENCE for c in after["citations"]) or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert any(c["quote"] == NEW_SENTENCE for c in after["citations"]), after
        page = client.get(f"/articles/{cited[0].article_id}",
                          params={"start": cited[0].start, "end": cited[0].end})
        assert page.status_code == 200 and "Hornchurch" in page.text
    assert read_manifest(s.index_dir)["corpus"]["articles"][target.stem] == article.sha256
