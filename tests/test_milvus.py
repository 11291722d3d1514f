"""The Milvus backend against the real engine (Milvus Lite, in-process; never a mock): build, update,
delete, filters, publish, reload, restart, the golden questions beside the segmented index, and each
fault as one line."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pymilvus")
pytest.importorskip("milvus_lite")

from qa.cli import main  # noqa: E402
from qa.config import Settings  # noqa: E402
from qa.errors import QAError  # noqa: E402
from qa.index import BuildOptions, build_index, read_manifest  # noqa: E402
from qa.index.backend import BackendError, open_store  # noqa: E402
from qa.types import Article  # noqa: E402

from test_index import HashEncoder, synthetic, synthetic_engine  # noqa: E402  (tests/ is on sys.path)

ROOT = Path(__file__).resolve().parents[1]
QUESTION = "What did the council report say about housing funding?"


def milvus_settings(tmp_path: Path) -> Settings:
    return Settings(corpus_dir=tmp_path / "unused", index_dir=tmp_path / "index", encoder="sentence-transformers",
                    backend="milvus")


def build(articles, s: Settings):
    return build_index(articles, s, BuildOptions(embedder_factory=lambda _: HashEncoder()))


def milvus_engine(s: Settings):
    from qa.pipeline import Engine

    return Engine(open_store(s.index_dir), s, embedder=HashEncoder())


def rows_in(store, kind: str) -> int:
    return int(store.client.query(store.names[kind], filter="", output_fields=["count(*)"])[0]["count(*)"])


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """The same 60 synthetic articles in a segmented index and on Milvus Lite."""
    articles = synthetic(60)
    segmented, _ = synthetic_engine(tmp_path_factory.mktemp("segments"), articles)
    s = milvus_settings(tmp_path_factory.mktemp("milvus"))
    build(articles, s)
    return segmented, milvus_engine(s)


def test_a_build_writes_collections_named_by_the_manifest(pair):
    _, engine = pair
    store = engine.index
    manifest = read_manifest(store.path.parent)
    assert manifest["backend"]["name"] == "milvus" and manifest["backend"]["uri"] is None  # Milvus Lite
    assert (store.path.parent / "milvus.db").exists() and manifest["segments"] == []
    assert manifest["counts"] == {"articles": 60, "chunks": rows_in(store, "chunks"),
                                  "sentences": rows_in(store, "sentences")}
    aliases = store.client.list_aliases()["aliases"]
    assert {"qa_chunks", "qa_sentences", "qa_articles", "qa_vocab"} <= set(aliases)
    assert store.client.describe_alias("qa_chunks")["collection_name"] == store.names["chunks"]
    assert len(store.entries()) == 60 and store.entries()[0].id == "a00000"
    assert "QA_MILVUS_TOKEN" not in json.dumps(manifest) and "token" not in json.dumps(manifest["backend"])


def test_articles_sentences_and_facts_match_the_segmented_index(pair):
    segmented, engine = pair
    a, b = segmented.index, engine.index
    assert b.articles["a00007"] == a.articles["a00007"] and "a00099" not in b.articles
    assert b.dated() == a.dated() and b.publishers() == a.publishers() and b.date_range() == a.date_range()
    for article_id in ("a00003", "a00042"):
        for ordinal in range(3):
            ra, rb = a.sentence_row(article_id, ordinal), b.sentence_row(article_id, ordinal)
            assert a.sentence(ra) == b.sentence(rb) and a.sentence_terms(ra) == b.sentence_terms(rb)
            np.testing.assert_allclose(a.sentence_vectors_at([ra]), b.sentence_vectors_at([rb]), rtol=1e-6)
        assert a.years_named_of(article_id, False) == b.years_named_of(article_id, False)
    assert b.doc_freqs(["council", "zzz"]) == a.doc_freqs(["council", "zzz"])
    assert b.knows_word("council") and not b.knows_word("zzzz")
    quoted = a.sentence(a.sentence_row("a00010", 1)).text
    assert [b.sentence(r).id for r in b.quoted_in("Earlier: " + quoted)] == \
        [a.sentence(r).id for r in a.quoted_in("Earlier: " + quoted)]


def test_filters_run_inside_milvus_and_keep_the_same_articles(pair):
    segmented, engine = pair
    for fields in ({"sources": ["herald"]}, {"since": "2019", "until": "2020"}, {"articles": ["a00007", "a00040"]},
                   {"since": "2012", "sources": ["Gazette"], "title": "article 2"}):
        want = segmented.retriever.scope(segmented_filter(fields))
        got = engine.retriever.scope(segmented_filter(fields))
        assert isinstance(got.selector, str) and got.articles == want.articles > 0
        rows = segmented.index.chunk_table[np.flatnonzero(want.chunks), 0].tolist()
        allowed = {segmented.index.article_ids[r] for r in rows}
        answer = engine.ask(QUESTION, filter=fields, top_k=10)
        assert answer.filter["matching_articles"] == want.articles
        assert answer.passages and {p.chunk.article_id for p in answer.passages} <= allowed


def segmented_filter(fields):
    from qa.filters import Filter

    return Filter.of(fields)


def test_a_question_wanting_more_sentence_rows_than_the_cache_keeps_gets_them_all(pair, monkeypatch):
    """SQuAD's long articles asked for more sentence rows at once than the row cache holds: the rows read
    first were evicted by the last and the question failed with 'sentence rows are missing'."""
    import qa.index.milvus_store

    segmented, milvus = pair
    monkeypatch.setattr(qa.index.milvus_store, "ROW_CACHE", 8)
    rows = list(range(40))
    assert np.array_equal(milvus.index.sentence_vectors_at(rows), segmented.index.sentence_vectors_at(rows))


def test_a_filter_keeping_nothing_is_said_plainly_and_a_bad_one_names_the_fix(pair):
    _, engine = pair
    answer = engine.ask("What about the budget?", filter={"since": "2030"})
    assert answer.abstained and answer.message.startswith("No article matches this filter (from 2030)")
    with pytest.raises(QAError, match="no article is from 'Times'; the publishers are: Gazette, Herald"):
        engine.ask("What about the budget?", filter={"sources": ["Times"]})
    with pytest.raises(QAError, match="no article has the id 'nope'"):
        engine.ask("What about the budget?", filter={"articles": ["nope"]})


def test_update_retires_changed_articles_and_publishes_atomically(tmp_path):
    s = milvus_settings(tmp_path)
    articles = synthetic(30)
    build(articles, s)
    before = milvus_engine(s)
    changed = replace(articles[5], text="The lighthouse keeper counted seventeen whales.",
                      sha256=hashlib.sha256(b"whales").hexdigest())
    added = replace(articles[0], id="new-one", text="A zebra crossing opened near the harbour.",
                    sha256=hashlib.sha256(b"zebra").hexdigest())
    report = build([changed, added] + articles[:5] + articles[6:29], s)  # a00029 removed
    assert (report.changed, report.added, report.removed, report.reembedded) == (
        ("a00005",), ("new-one",), ("a00029",), ("a00005", "new-one"))
    after = milvus_engine(s)
    assert len(after.articles) == 30 and "a00029" not in after.articles and "new-one" in after.articles
    assert after.articles["a00005"].text.startswith("The lighthouse keeper")
    assert after.index.knows_word("whales.") and after.index.doc_freqs(["whale"])["whale"] == 1
    # the generation opened before the update still sees its own articles, whole
    assert before.articles["a00005"].text == articles[5].text and "a00029" in before.articles
    assert "new-one" not in before.articles and len(before.index.entries()) == 30
    assert before.ask(QUESTION).passages
    # the old rows are retired, then deleted by the next build
    old_rows = rows_in(after.index, "articles")
    build([changed, added] + articles[:5] + articles[6:29], s)  # nothing changed: nothing written
    build([changed, added] + articles[:5] + articles[6:28], s)  # a00028 removed: the last retirements go
    final = milvus_engine(s)
    # 30 live + a00005's and a00029's retired rows; then 29 live + a00028's (the first two deleted)
    assert (old_rows, rows_in(final.index, "articles"), len(final.articles)) == (32, 30, 29)
    assert final.ask("Who counted whales?", method="bm25").passages[0].chunk.article_id == "a00005"


def test_the_server_reload_swaps_in_an_update_and_a_restart_reads_it_back(tmp_path):
    from qa.pipeline import Engine

    s = milvus_settings(tmp_path)
    articles = synthetic(20)
    build(articles, s)
    engine = milvus_engine(s)
    assert engine.reload() == []
    build(articles + [replace(articles[1], id="extra", text="Gulls nested on the old pier in spring.",
                              sha256="0" * 64)], s)
    assert engine.reload() == ["1 article added"] and "extra" in engine.articles
    first = engine.ask("Where did gulls nest?").to_dict()
    restarted = Engine(open_store(s.index_dir), replace(s, backend=None), embedder=HashEncoder())
    assert restarted.ask("Where did gulls nest?").to_dict() == first


def test_a_failed_build_leaves_the_previous_generation_answering(tmp_path):
    s = milvus_settings(tmp_path)
    articles = synthetic(20)
    build(articles, s)
    store = open_store(s.index_dir)
    rows = rows_in(store, "chunks")

    class Failing(HashEncoder):
        def embed(self, texts, **kw):
            raise OSError("the encoder died")

    more = articles + [replace(articles[0], id=f"more-{i}", sha256=str(i) * 64) for i in range(3)]
    with pytest.raises(OSError):
        build_index(more, s, BuildOptions(embedder_factory=lambda _: Failing()))
    after = milvus_engine(s)
    assert after.index.path == store.path and len(after.articles) == 20 and rows_in(after.index, "chunks") == rows
    assert after.ask(QUESTION).passages
    with pytest.raises(OSError):  # a full rebuild that fails drops the collections it created
        build_index(more, replace(s, index_dir=s.index_dir), BuildOptions(embedder_factory=lambda _: Failing()),
                    rebuild=True)
    assert sorted(n for n in after.index.client.list_collections() if n.startswith("qa_gen_")) == \
        sorted(after.index.names.values())


def test_a_collection_deleted_or_a_connection_dropped_under_a_running_engine_is_one_line(tmp_path):
    s = milvus_settings(tmp_path)
    build(synthetic(10), s)
    engine = milvus_engine(s)
    engine.index.client.drop_collection(engine.index.names["sentences"])  # deleted under a running server
    with pytest.raises(BackendError, match=r"missing from Milvus Lite database .*qa index --rebuild"):
        engine.ask(QUESTION)
    s2 = milvus_settings(tmp_path / "b")
    build(synthetic(10), s2)
    engine = milvus_engine(s2)
    engine.index.client.close()  # the connection drops mid-conversation
    with pytest.raises(BackendError) as caught:
        engine.ask(QUESTION)
    assert "\n" not in str(caught.value) and "Milvus Lite database" in str(caught.value)


def test_a_connection_dropped_mid_build_is_one_line_and_the_next_build_clears_what_it_left(tmp_path, monkeypatch):
    import qa.index.milvus_build

    s = milvus_settings(tmp_path)
    articles = synthetic(40)
    build(articles[:20], s)
    real_connect = qa.index.milvus_build.connect

    class Dropping:
        """The real client, whose connection is closed after its first insert (as a server going away)."""

        def __init__(self, client):
            self.client, self.inserts = client, 0

        def insert(self, *args, **kwargs):
            self.inserts += 1
            if self.inserts == 2:
                self.client.close()
            return self.client.insert(*args, **kwargs)

        def __getattr__(self, name):
            return getattr(self.client, name)

    monkeypatch.setattr(qa.index.milvus_build, "connect", lambda uri, token: Dropping(real_connect(uri, token)))
    monkeypatch.setattr(qa.index.milvus_build, "INSERT_ROWS", 16)
    with pytest.raises(BackendError) as caught:
        build(articles, s)
    assert "\n" not in str(caught.value) and "while writing" in str(caught.value)
    monkeypatch.undo()
    engine = milvus_engine(s)  # the previous generation answers
    assert len(engine.articles) == 20 and engine.ask(QUESTION).passages
    # what the dropped build inserted is still there (it could not delete it), hidden from the generation
    assert rows_in(engine.index, "chunks") > engine.index.manifest["counts"]["chunks"]
    del engine
    build(articles, s)
    engine = milvus_engine(s)
    assert len(engine.articles) == 40 and rows_in(engine.index, "articles") == 40
    assert rows_in(engine.index, "chunks") == engine.index.manifest["counts"]["chunks"]


def qa(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "qa", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)


def one_error_line(run) -> str:
    assert run.returncode == 1 and "Traceback" not in run.stderr, run.stderr[-2000:]
    lines = [x for x in run.stderr.splitlines() if x.startswith("qa: error")]
    assert len(lines) == 1, run.stderr
    return lines[0]


@pytest.fixture(scope="module")
def cli_index(tmp_path_factory):
    """The corpus indexed on Milvus Lite by `qa index --backend milvus` (in a child process, which lets
    the database file go when it exits)."""
    import shutil

    root = tmp_path_factory.mktemp("cli")
    shutil.copytree(ROOT / "corpus", root / "corpus", ignore=shutil.ignore_patterns("questions.jsonl"))
    run = qa("index", "--corpus", root / "corpus", "--index", root / "index", "--backend", "milvus")
    assert run.returncode == 0, run.stderr[-2000:]
    return root


@pytest.mark.model
def test_cli_asks_the_milvus_index_with_no_new_flag_and_names_a_deleted_collection(cli_index, tmp_path):
    import shutil

    ok = qa("ask", "Who rated Havering council inadequate?", "--corpus", cli_index / "corpus",
            "--index", cli_index / "index", "--json")
    assert ok.returncode == 0, ok.stderr[-2000:]
    assert json.loads(ok.stdout)["citations"]
    broken = tmp_path / "index"
    shutil.copytree(cli_index / "index", broken)
    drop = subprocess.run([sys.executable, "-c", "import json, sys; from pymilvus import MilvusClient; "
                           f"c = MilvusClient({str(broken / 'milvus.db')!r}); "
                           "[c.drop_collection(n) for n in c.list_collections() if n.endswith('_chunks')]"],
                          capture_output=True, text=True, timeout=120)
    assert drop.returncode == 0, drop.stderr[-2000:]
    line = one_error_line(qa("ask", "Who rated Havering council inadequate?", "--corpus", cli_index / "corpus",
                             "--index", broken))
    assert "is missing from Milvus Lite database" in line and "qa index --rebuild" in line


@pytest.mark.model
def test_a_lite_file_held_by_another_process_is_named(cli_index):
    holder = subprocess.Popen([sys.executable, "-c", "import time; from pymilvus import MilvusClient; "
                               f"MilvusClient({str(cli_index / 'index' / 'milvus.db')!r}); print('open', flush=True); "
                               "time.sleep(60)"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        run = qa("ask", "Who rated Havering council inadequate?", "--corpus", cli_index / "corpus",
                 "--index", cli_index / "index")
    finally:
        holder.kill()
        holder.wait()
    assert "another process holds it" in one_error_line(run)


def test_an_unreachable_server_is_one_line_and_changes_nothing(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.md").write_text("# Title\n\nThe council met on Monday to discuss the budget.\n", "utf-8")
    line = one_error_line(qa("index", "--corpus", corpus, "--index", tmp_path / "index", "--backend", "milvus",
                             "--milvus-uri", "http://127.0.0.1:9", timeout=120))
    assert "cannot be reached" in line and "--milvus-uri" in line
    assert not (tmp_path / "index" / "CURRENT").exists()


@pytest.fixture
def milvus_server(tmp_path):
    """A real Milvus server on a local port: milvus-lite's gRPC server (the protocol pymilvus speaks to
    standalone and clusters), in a child process that a test may kill."""
    from webserver import free_port

    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "milvus_lite", "server", "--data-dir", str(tmp_path / "server"),
                               "--host", "127.0.0.1", "--port", str(port)], stdout=subprocess.PIPE, text=True)
    try:
        assert "listening" in server.stdout.readline()
        yield server, f"http://127.0.0.1:{port}"
    finally:
        server.kill()
        server.wait()


def test_a_server_going_away_mid_question_is_one_line_and_a_refresh_keeps_the_index_server(tmp_path, milvus_server):
    from qa.pipeline import refresh_index

    server, uri = milvus_server
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.md").write_text("# Council budget\n\nThe council met on Monday to discuss the housing budget. "
                                 "It agreed to fund 40 new homes.\n", "utf-8")
    s = replace(milvus_settings(tmp_path), corpus_dir=corpus, milvus_uri=uri)
    options = BuildOptions(embedder_factory=lambda _: HashEncoder())
    assert len(refresh_index(s, options).added) == 1
    assert read_manifest(s.index_dir)["backend"]["uri"] == uri
    # `qa ask --corpus` refreshes with no backend named: the index stays on its server, nothing to do
    assert refresh_index(replace(s, backend=None, milvus_uri=None), options).added == ()
    engine = milvus_engine(s)
    assert engine.ask("How many homes did the council fund?").passages
    server.kill()
    server.wait()
    with pytest.raises(BackendError) as caught:
        engine.ask("How many homes did the council fund?")
    line = str(caught.value)
    assert "\n" not in line and f"Milvus at {uri} cannot be reached" in line and "QA_MILVUS_URI" in line


def test_a_wrong_uri_names_the_fix(tmp_path):
    import http.server
    import threading

    web = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    threading.Thread(target=web.serve_forever, daemon=True).start()
    try:  # a port that answers, but not as Milvus
        with pytest.raises(BackendError, match=r"cannot be reached .*check the URI"):
            build(synthetic(3), replace(milvus_settings(tmp_path), milvus_uri=f"http://127.0.0.1:{web.server_port}"))
    finally:
        web.shutdown()
        web.server_close()
    with pytest.raises(BackendError, match=r"URI htp:/x is not valid .*http\(s\)://host:port"):
        build(synthetic(3), replace(milvus_settings(tmp_path), milvus_uri="htp:/x"))
    assert not (tmp_path / "index" / "CURRENT").exists()


def test_the_question_path_of_a_segmented_index_imports_nothing_of_milvus(tmp_path):
    code = ("import sys; sys.path.insert(0, 'tests'); from pathlib import Path; "
            "from test_index import synthetic, synthetic_engine; "
            f"e, _ = synthetic_engine(Path({str(tmp_path)!r}), synthetic(5)); e.ask('Who rated the council?'); "
            "print(sorted(m for m in sys.modules if 'milvus' in m))")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip() == "[]"


@pytest.mark.model
def test_the_golden_answers_are_byte_identical_on_milvus(engine, settings, tmp_path_factory):
    """tests/test_golden.py's 1,146 answers (corpus and calibration questions, three methods, histories
    replayed) from Milvus Lite and from the segmented index, compared as JSON lines, byte for byte:
    Milvus chooses the candidates (HNSW, its BM25), their cosines and BM25 are computed as the
    segmented index computes them."""
    from qa.pipeline import Engine
    from test_golden import golden_lines

    s = replace(settings, index_dir=tmp_path_factory.mktemp("golden-milvus") / "index", backend="milvus")
    on_milvus = Engine.open(s)
    assert on_milvus.index.manifest["backend"]["name"] == "milvus"
    mine, theirs = golden_lines(on_milvus), golden_lines(engine)
    moved = [json.loads(a)["id"] for a, b in zip(mine, theirs) if a != b]
    assert len(mine) == len(theirs) and moved == [], f"answers moved on Milvus: {moved}"
