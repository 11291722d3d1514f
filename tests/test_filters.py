"""Filters (issue 19): a date range, publishers, article ids and a title match, applied inside retrieval
so a narrow filter still gets its best passages; through the engine, the CLI and questions files."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from qa.cli import main
from qa.errors import UsageError
from qa.filters import Filter, allowed_articles

from test_index import HashEncoder, synthetic, synthetic_engine  # noqa: E402  (tests/ is on sys.path)

DATES = np.array(["2018", "2019-03", "2019-12-31", "2021-06-15", "2022", ""], dtype=str)
SOURCES = np.array(["Gazette", "Herald", "gazette", "Herald", "", "Herald"], dtype=str)
IDS = np.array(["a", "b", "c", "d", "e", "f"], dtype=str)
TITLES = ["council budget", "school plan", "budget vote", "park", "library", "police report"]
LIVE = np.ones(6, dtype=bool)


def keep(**fields) -> list[str]:
    flt = Filter(**fields)
    return IDS[allowed_articles(flt, dates=DATES, sources=SOURCES, ids=IDS, titles=lambda: TITLES,
                                live=LIVE)].tolist()


def test_a_date_range_is_inclusive_and_matches_dates_as_precise_as_known():
    assert keep(since="2019", until="2021") == ["b", "c", "d"]
    assert keep(since="2019-12") == ["c", "d", "e"]
    assert keep(until="2019-03") == ["a", "b"]
    assert keep(since="2022-06", until="2022-06") == ["e"]  # "2022" covers June 2022
    assert keep(since="2019", until="2021", undated=True) == ["b", "c", "d", "f"]  # the explicit choice


def test_publishers_ids_and_title_alone_and_combined():
    assert keep(sources=("herald",)) == ["b", "d", "f"]  # case does not matter
    assert keep(sources=("Gazette",)) == ["a", "c"]
    assert keep(articles=("a", "e")) == ["a", "e"]
    assert keep(title="BUDGET") == ["a", "c"]
    assert keep(since="2019", sources=("Herald",), title="school") == ["b"]
    assert keep(since="2023") == []


@pytest.mark.parametrize("fields, says", [
    ({"since": "March 2019"}, "YYYY, YYYY-MM or YYYY-MM-DD"),
    ({"since": "2019-13"}, "'2019-13' is not a date"),
    ({"since": "2021", "until": "2019"}, "is after until"),
    ({"sources": [""]}, "sources must be a list"),
    ({"articles": "x" * 3 and [1, 2]}, "articles must be a list"),
    ({"undated": "yes"}, "undated must be true or false"),
])
def test_a_bad_filter_names_the_value_and_the_accepted_forms(fields, says):
    with pytest.raises(UsageError, match=says):
        Filter.of(fields)
    with pytest.raises(UsageError, match="unknown filter field 'year'"):
        Filter.of({"year": 2019})


def test_an_unknown_publisher_or_id_is_named_with_what_the_collection_has():
    with pytest.raises(UsageError, match="no article is from 'Times'; the publishers are: Gazette, Herald"):
        keep(sources=("Times",))
    with pytest.raises(UsageError, match="no article has the id 'zz'"):
        keep(articles=("zz",))


def test_an_empty_filter_is_no_filter_and_a_filter_describes_itself():
    assert Filter.of({}) is None and Filter.of({"sources": [], "title": " "}) is None
    flt = Filter.of({"since": "2019", "until": "2021", "sources": ["Romford Recorder"]})
    assert flt.describe() == "2019–2021, Romford Recorder" and flt.to_dict()["sources"] == ["Romford Recorder"]


# ---------------------------------------------------------------- inside retrieval (stand-in encoder)


@pytest.fixture(scope="module")
def stand_in(tmp_path_factory):
    return synthetic_engine(tmp_path_factory.mktemp("filters"), synthetic(300))


def test_filtered_passages_are_the_best_of_the_allowed_articles(stand_in):
    engine, _ = stand_in
    index = engine.index
    for fields in ({"sources": ["Herald"]}, {"since": "2019", "until": "2020"}, {"articles": ["a00007", "a00100"]},
                   {"since": "2012", "sources": ["Gazette"], "title": "Article 2"}):
        flt = Filter.of(fields)
        scope = engine.retriever.scope(flt)
        allowed = {index.article_ids[r] for r in np.flatnonzero(allowed_articles(
            flt, dates=index.article_dates, sources=index.article_sources, ids=np.array(index.article_ids),
            titles=index.titles, live=index.live_articles))}
        answer = engine.ask("What did the council report say about housing funding?", filter=fields, top_k=10)
        assert answer.filter["matching_articles"] == len(allowed) == scope.articles
        assert answer.passages and {p.chunk.article_id for p in answer.passages} <= allowed
        assert {c.article_id for c in answer.citations} <= allowed
        # exactly what exact search over the allowed chunks returns
        vector = engine.query_vectors(("What did the council report say about housing funding?",)).search
        rows = np.flatnonzero(scope.chunks)
        exact = rows[np.argsort(-(index.chunk_vectors_at(rows) @ vector), kind="stable")[:10]]
        top = index.dense_top(vector, 10, scope.chunks)
        assert set(top) == set(exact.tolist())
        assert len(answer.passages) == min(10, int(scope.chunks.sum()))  # a narrow filter still fills k


def test_no_matching_article_is_said_plainly(stand_in):
    engine, _ = stand_in
    answer = engine.ask("What about the budget?", filter={"since": "2030"})
    assert answer.abstained and answer.message.startswith("No article matches this filter (from 2030)")
    assert answer.filter["matching_articles"] == 0 and not answer.passages


def test_a_filter_past_the_approximate_threshold_still_returns_exact_results(tmp_path, monkeypatch):
    """Broad filters search the HNSW graph with a selector; narrow ones search their rows exactly."""
    import qa.index.segment

    monkeypatch.setattr(qa.index.segment, "APPROX_ABOVE", 50)
    engine, _ = synthetic_engine(tmp_path, synthetic(200))  # a chunk an article: one HNSW segment
    index = engine.index
    assert index.segments[0].hnsw is not None
    vector = engine.query_vectors(("Which police report was rated?",)).search
    for fields in ({"sources": ["Herald"]}, {"articles": ["a00001", "a00002", "a00003"]}):
        scope = engine.retriever.scope(Filter.of(fields))
        rows = np.flatnonzero(scope.chunks)
        exact = set(rows[np.argsort(-(index.chunk_vectors_at(rows) @ vector))[:10]].tolist())
        found = set(index.dense_top(vector, 10, scope.chunks))
        assert found <= set(rows.tolist()) and len(found) == min(10, len(rows))
        assert found == exact if len(rows) <= 50 else len(found & exact) >= 9  # HNSW: approximate, filtered


def test_a_follow_up_keeps_the_conversations_filter_in_a_questions_file(stand_in, tmp_path):
    from qa.evaluate import evaluate
    from qa.testset import load_questions

    engine, _ = stand_in
    path = tmp_path / "q.jsonl"
    path.write_text(json.dumps({"id": "f1", "question": "And the police?", "type": "followup", "expected": [],
                                "articles": [], "answerable": False, "history": ["What did the council say?"],
                                "filter": {"sources": ["Herald"]}}) + "\n", "utf-8")
    questions = load_questions(path)
    assert questions[0].filter["sources"] == ["Herald"]
    asked = []
    ask = engine.ask

    class Recording:
        articles = engine.articles

        def ask(self, *a, **kw):
            asked.append(kw.get("filter"))
            return ask(*a, **kw)

    evaluate(Recording(), questions, methods=("hybrid",), progress=False)
    assert len(asked) == 2 and all(f and f["sources"] == ["Herald"] for f in asked)
    path.write_text(json.dumps({"id": "f2", "question": "Q?", "type": "x", "expected": [], "articles": [],
                                "answerable": False, "filter": {"since": "soon"}}) + "\n", "utf-8")
    with pytest.raises(UsageError, match="line 1: field 'filter': since 'soon' is not a date"):
        load_questions(path)


# ---------------------------------------------------------------- the CLI, on the real corpus


@pytest.mark.model
def test_qa_ask_takes_the_filter_flags_and_echoes_the_filter(engine, capsys):
    corpus, index = str(engine.settings.corpus_dir), str(engine.settings.index_dir)
    code = main(["ask", "How did Ofsted rate Havering's children's services?", "--json", "--since", "2018",
                 "--until", "2018", "--corpus", corpus, "--index", index])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["filter"]["since"] == "2018" and out["filter"]["matching_articles"] == 1
    assert {c["date"] for c in out["citations"]} == {"2018"} and {p["date"] for p in out["passages"]} == {"2018"}
    code = main(["ask", "What rating did Ofsted give?", "--source", "romford recorder", "--json",
                 "--corpus", corpus, "--index", index])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and {p["article_id"] for p in out["passages"]} == {"havering-rated-inadequate"}
    code = main(["ask", "What rating?", "--since", "last year", "--corpus", corpus, "--index", index])
    err = capsys.readouterr().err
    assert code == 2 and "YYYY, YYYY-MM or YYYY-MM-DD" in err and len(err.strip().splitlines()) == 1
    code = main(["ask", "What rating?", "--until", "2009", "--corpus", corpus, "--index", index])
    assert code == 0 and "No article matches this filter (until 2009)" in capsys.readouterr().out
    undated = replace(Filter(since="2011"), undated=True)
    assert engine.ask("What rating did Ofsted give?", filter=undated).filter["matching_articles"] == 4
