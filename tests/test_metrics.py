"""Metrics against hand-computed cases; loaders on tiny files; evaluate() with a fake engine."""

from __future__ import annotations

import gzip
import json
import math

import pytest

from qa.errors import UsageError
from qa.evaluate import evaluate, format_summary, write_report
from qa.testset import GoldSpan, TestQuestion, load_questions
from qa.metrics import (
    abstention_scores,
    contains_any,
    mean,
    ndcg_at_k,
    normalize_answer,
    percentile,
    reciprocal_rank,
    recall_at_k,
    token_f1,
)
from qa.squad import load_squad, locate_answer, slugify
from qa.types import Answer, Article, Chunk, Citation, Passage

F, T = False, True


# ---------------------------------------------------------------- normalisation


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The Cat sat on a mat.", "cat sat on mat"),
        ("  An   apple,\tthe pear\n", "apple pear"),
        ("Havering's rating", "haverings rating"),
        ("Havering’s ‘Good’ rating", "haverings good rating"),  # curly quotes
        ("£2.2 million", "£22 million"),
        ("theatre and another", "theatre and another"),  # articles only as whole words
        ("", ""),
    ],
)
def test_normalize_answer(text, expected):
    assert normalize_answer(text) == expected


def test_contains_any_normalises_both_sides():
    answer = "Havering’s children’s services were rated ‘Inadequate’ by Ofsted."
    assert contains_any(answer, ["inadequate"])
    assert contains_any(answer, ["Havering's children's services"])
    assert contains_any("just over £11m was   allocated", ["just over £11m"])
    assert not contains_any(answer, ["good"])


def test_contains_any_whole_words_and_empty_phrases():
    assert not contains_any("the goods were delivered", ["good"])
    assert not contains_any("anything at all", ["the", ""])
    assert not contains_any("anything", [])
    assert contains_any("rated as Adequate.", ["nothing", "adequate"])


def test_contains_any_inside_possessives_ranges_and_hyphens():
    assert contains_any("such as William Tyndale's English Bible", ["William Tyndale"])
    assert contains_any("a son, Jochi (1185–1226), nine months later", ["1185"])
    assert contains_any("a review in mid-November", ["mid November"])
    assert contains_any("the multi-agency hub", ["multiagency hub"])
    assert not contains_any("in 11851", ["1185"])


def test_token_f1():
    assert token_f1("the cat sat", "cat sat") == 1.0
    # pred {cat, sat, down}, gold {cat, ran}: common 1, P = 1/3, R = 1/2, F1 = 0.4
    assert token_f1("cat sat down", "cat ran") == pytest.approx(0.4)
    assert token_f1("", "") == 1.0
    assert token_f1("the", "cat") == 0.0


# ---------------------------------------------------------------- ranking


def test_recall_at_k():
    assert recall_at_k([F, T, F], 1) == 0.0
    assert recall_at_k([F, T, F], 2) == 1.0
    assert recall_at_k([F, F, F], 3) == 0.0
    assert recall_at_k([], 5) == 0.0
    assert recall_at_k([T], 10) == 1.0  # k beyond the list
    with pytest.raises(ValueError):
        recall_at_k([T], 0)


def test_reciprocal_rank():
    assert reciprocal_rank([F, T, F]) == 0.5
    assert reciprocal_rank([T, T]) == 1.0
    assert reciprocal_rank([F, F, T], k=2) == 0.0
    assert reciprocal_rank([F, F, F, T]) == 0.25
    assert reciprocal_rank([]) == 0.0


def test_ndcg_single_hit_at_rank_two():
    # DCG = 1/log2(3); ideal with one relevant item = 1/log2(2) = 1
    assert ndcg_at_k([F, T, F], 3) == pytest.approx(1 / math.log2(3))
    assert ndcg_at_k([F, T, F], 3) == pytest.approx(0.6309297535714574)


def test_ndcg_two_hits():
    # DCG = 1 + 1/log2(4) = 1.5; IDCG = 1 + 1/log2(3) = 1.6309...
    assert ndcg_at_k([T, F, T], 3) == pytest.approx(1.5 / (1 + 1 / math.log2(3)))
    assert ndcg_at_k([T, T, F], 3) == pytest.approx(1.0)


def test_ndcg_with_n_relevant_and_cutoff():
    # 3 relevant exist, only 1 retrieved at rank 1: IDCG@3 = 1 + 1/log2 3 + 1/2
    ideal = 1 + 1 / math.log2(3) + 0.5
    assert ndcg_at_k([T, F, F], 3, n_relevant=3) == pytest.approx(1 / ideal)
    # ideal capped at k: 5 relevant, k = 2 -> IDCG = 1 + 1/log2 3
    assert ndcg_at_k([T, T], 2, n_relevant=5) == pytest.approx(1.0)
    # a hit beyond k gives nothing, but counts towards the ideal when it is in the list
    assert ndcg_at_k([F, F, T], 2) == 0.0


def test_ndcg_without_relevant_items():
    assert ndcg_at_k([F, F], 2) == 0.0
    assert ndcg_at_k([], 5, n_relevant=0) == 0.0
    with pytest.raises(ValueError):
        ndcg_at_k([T], 0)


# ---------------------------------------------------------------- abstention, mean


def test_abstention_scores():
    predicted = [T, T, F, F, T]
    should = [T, F, T, F, F]
    scores = abstention_scores(predicted, should)
    assert scores["precision"] == pytest.approx(1 / 3)  # 1 right of 3 abstentions
    assert scores["recall"] == pytest.approx(1 / 2)  # 1 of 2 unanswerable
    assert scores["false_abstention_rate"] == pytest.approx(2 / 3)  # 2 of 3 answerable


def test_abstention_scores_zero_denominators():
    never = abstention_scores([F, F], [F, F])
    assert never == {"precision": None, "recall": None, "false_abstention_rate": 0.0}
    all_unanswerable = abstention_scores([T, F], [T, T])
    assert all_unanswerable == {"precision": 1.0, "recall": 0.5, "false_abstention_rate": None}
    assert abstention_scores([], []) == {
        "precision": None, "recall": None, "false_abstention_rate": None
    }
    with pytest.raises(ValueError):
        abstention_scores([T], [T, F])


def test_mean_and_percentile():
    assert mean([1.0, None, 0.0]) == 0.5
    assert mean([None, None]) is None
    assert mean([]) is None
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert percentile([], 50) is None


# ---------------------------------------------------------------- load_questions


def _write(tmp_path, lines):
    path = tmp_path / "questions.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


GOOD = {
    "id": "q1", "question": "Who?", "type": "person", "expected": ["Oscar Ford"],
    "articles": ["a1"], "history": [], "answerable": True, "current": False,
}


def test_load_questions_parses(tmp_path):
    unanswerable = {**GOOD, "id": "q2", "type": "unanswerable", "expected": [], "articles": [],
                    "answerable": False}
    followup = {**GOOD, "id": "q3", "history": ["Who is it?"], "current": True,
                "gold": [{"article_id": "a1", "start": 0, "end": 4}]}
    minimal = {k: v for k, v in GOOD.items() if k not in ("history", "current")} | {"id": "q4"}
    path = _write(tmp_path, [json.dumps(GOOD), "", json.dumps(unanswerable),
                             json.dumps(followup), json.dumps(minimal)])
    qs = load_questions(path)
    assert [q.id for q in qs] == ["q1", "q2", "q3", "q4"]
    assert qs[0] == TestQuestion("q1", "Who?", "person", ("Oscar Ford",), ("a1",), (), True, False)
    assert not qs[1].answerable and qs[1].expected == ()
    assert qs[2].history == ("Who is it?",) and qs[2].current
    assert qs[2].gold == (GoldSpan("a1", 0, 4),)
    assert qs[3].history == () and not qs[3].current


def test_load_questions_bad_json_names_file_and_line(tmp_path):
    path = _write(tmp_path, [json.dumps(GOOD), '{"id": "q2", "question": '])
    with pytest.raises(UsageError, match=r"questions\.jsonl, line 2: not valid JSON") as e:
        load_questions(path)
    assert "one JSON object per line" in str(e.value)


def test_load_questions_missing_field(tmp_path):
    bad = {k: v for k, v in GOOD.items() if k not in ("expected", "articles")}
    path = _write(tmp_path, [json.dumps(bad)])
    with pytest.raises(UsageError, match=r"line 1: missing fields 'expected', 'articles'"):
        load_questions(path)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"expected": "Oscar Ford"}, "'expected' must be a list of strings"),
        ({"answerable": "yes"}, "'answerable' must be true or false"),
        ({"question": ""}, "'question' must be a non-empty string"),
        ({"expected": []}, "needs at least one expected phrase"),
        ({"answerable": False}, "unanswerable question has expected phrases"),
        ({"gold": [{"article_id": "a1", "start": 5}]}, "gold span"),
    ],
)
def test_load_questions_bad_fields(tmp_path, change, message):
    path = _write(tmp_path, [json.dumps({**GOOD, **change})])
    with pytest.raises(UsageError, match=message):
        load_questions(path)


def test_load_questions_duplicate_id_and_not_object(tmp_path):
    with pytest.raises(UsageError, match="line 2: id 'q1' is already used on line 1"):
        load_questions(_write(tmp_path, [json.dumps(GOOD), json.dumps(GOOD)]))
    with pytest.raises(UsageError, match="line 1: expected a JSON object"):
        load_questions(_write(tmp_path, ["[1, 2]"]))


def test_load_questions_missing_or_empty_file(tmp_path):
    with pytest.raises(UsageError, match="not found"):
        load_questions(tmp_path / "nope.jsonl")
    with pytest.raises(UsageError, match="holds no questions"):
        load_questions(_write(tmp_path, ["", "  "]))


# ---------------------------------------------------------------- load_squad

SQUAD_V2 = {
    "version": "v2.0",
    "data": [
        {
            "title": "Super_Bowl_50",
            "paragraphs": [
                {
                    "context": "Super Bowl 50 was played in Santa Clara.",
                    "qas": [
                        {"id": "a1", "question": "Where was Super Bowl 50 played?",
                         "answers": [{"text": "Santa Clara", "answer_start": 28},
                                     {"text": "Santa Clara", "answer_start": 28}],
                         "is_impossible": False},
                    ],
                },
                {
                    "context": "The Broncos beat the Panthers 24 to 10.",
                    "qas": [
                        {"id": "a2", "question": "Who beat the Panthers?",
                         # offset deliberately wrong, as in COVID-QA
                         "answers": [{"text": " The Broncos", "answer_start": 3}],
                         "is_impossible": False},
                        {"id": "a3", "question": "Who beat the Broncos?", "answers": [],
                         "is_impossible": True},
                    ],
                },
            ],
        },
        {
            "title": "Warsaw",
            "paragraphs": [
                {"context": "Warsaw is the capital of Poland.",
                 "qas": [{"id": "b1", "question": "What is the capital of Poland?",
                          "answers": [{"text": "Warsaw", "answer_start": 0}],
                          "is_impossible": False}]},
            ],
        },
    ],
}


def _check_squad(articles, questions):
    assert [a.id for a in articles] == ["super-bowl-50", "warsaw"]
    sb = articles[0]
    assert sb.title == "Super Bowl 50"
    assert sb.text == ("Super Bowl 50 was played in Santa Clara.\n\n"
                       "The Broncos beat the Panthers 24 to 10.")
    assert sb.date is None and sb.url is None and sb.source == "SQuAD v2.0"
    assert len(sb.sha256) == 64
    assert [q.id for q in questions] == ["a1", "a2", "a3", "b1"]
    a1, a2, a3, b1 = questions
    assert a1.expected == ("Santa Clara",) and a1.articles == ("super-bowl-50",)
    assert a1.answerable and a1.type == "answerable"
    (g,) = a1.gold
    assert sb.text[g.start:g.end] == "Santa Clara"
    assert a2.expected == ("The Broncos",)
    (g,) = a2.gold
    assert (g.start, sb.text[g.start:g.end]) == (42, "The Broncos")  # second paragraph offset
    assert not a3.answerable and a3.expected == () and a3.articles == () and a3.type == "unanswerable"
    assert b1.articles == ("warsaw",)


def test_load_squad_v2(tmp_path):
    path = tmp_path / "dev-v2.0.json"
    path.write_text(json.dumps(SQUAD_V2), encoding="utf-8")
    _check_squad(*load_squad(path))


def test_load_squad_gz(tmp_path):
    path = tmp_path / "dev-v2.0.json.gz"
    with gzip.open(path, "wt", encoding="utf-8") as f:
        json.dump(SQUAD_V2, f)
    _check_squad(*load_squad(path))


def test_load_squad_sample_keeps_all_articles_and_file_order(tmp_path):
    path = tmp_path / "squad.json"
    path.write_text(json.dumps(SQUAD_V2), encoding="utf-8")
    articles, questions = load_squad(path, sample=2, seed=1)
    assert len(articles) == 2  # distractors stay indexed
    order = ["a1", "a2", "a3", "b1"]
    ids = [q.id for q in questions]
    assert len(ids) == 2 and ids == sorted(ids, key=order.index)
    assert ids == [q.id for q in load_squad(path, sample=2, seed=1)[1]]  # reproducible
    assert len(load_squad(path, sample=10)[1]) == 4
    with pytest.raises(UsageError, match="sample must be at least 1"):
        load_squad(path, sample=0)


def test_load_squad_untitled_documents(tmp_path):
    covid = {"data": [
        {"paragraphs": [{"document_id": 630, "context": "Coronaviruses are enveloped.",
                         "qas": [{"id": 1, "question": "What are coronaviruses?",
                                  "answers": [{"text": "enveloped", "answer_start": 99}]}]}]},
        {"paragraphs": [{"context": "No id here.", "qas": []}]},
    ]}
    path = tmp_path / "covidQA.json"
    path.write_text(json.dumps(covid), encoding="utf-8")
    articles, questions = load_squad(path)
    assert [a.id for a in articles] == ["doc-630", "doc-2"]
    assert articles[0].source == "COVID-QA"
    (q,) = questions
    assert q.id == "1" and q.answerable  # no is_impossible field: answerable
    (g,) = q.gold
    assert articles[0].text[g.start:g.end] == "enveloped"


def test_load_squad_errors(tmp_path):
    with pytest.raises(UsageError, match="not found"):
        load_squad(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(UsageError, match="not readable JSON"):
        load_squad(bad)
    bad.write_text('{"version": "1.1"}', encoding="utf-8")
    with pytest.raises(UsageError, match='no "data" list'):
        load_squad(bad)


def test_slugify_and_locate_answer():
    assert slugify("Super_Bowl_50") == "super-bowl-50"
    assert slugify("Kraków (city)") == "krakow-city"
    assert slugify("???") == ""
    context = "one two one"
    assert locate_answer(context, "one", 8) == (8, 11)
    assert locate_answer(context, "one", 7) == (8, 11)  # nearest copy
    assert locate_answer(context, " two", 3) == (4, 7)  # leading space, offset at the word
    assert locate_answer(context, "three", 0) is None


# ---------------------------------------------------------------- evaluate, with a fake engine

OLD = Article("old", "Old", "2018", None, None, "Leaders are good. The rating was good.", "x")
NEW = Article("new", "New", "2024-12", None, None, "The rating is inadequate. Staff are busy.", "y")


def _passage(article: Article, start: int, end: int, rank: int) -> Passage:
    chunk = Chunk(f"{article.id}#{rank}", article.id, rank, start, end, article.text[start:end])
    return Passage(chunk, rank, 1.0 / rank, 0.5, 0.5)


def _answer(question: str, article: Article | None, start: int = 0, end: int = 0,
            passages: tuple[Passage, ...] = ()) -> Answer:
    if article is None:
        return Answer(question, "", True, (), passages, message="Not found.")
    cite = Citation(1, article.id, article.title, article.date, False, None, None, start, end,
                    article.text[start:end], f"{article.id}#1", 0.9)
    return Answer(question, cite.quote, False, (cite,), passages)


class FakeEngine:
    """Canned answers: enough of ``qa.pipeline.Engine`` for ``evaluate``."""

    def __init__(self):
        self.articles = {"old": OLD, "new": NEW}
        self.calls: list[tuple[str, list, str]] = []

    def ask(self, question, history=(), *, method="hybrid", top_k=5):
        self.calls.append((question, list(history), method))
        new_hit = _passage(NEW, 0, 25, 1)
        old_hit = _passage(OLD, 19, 38, 2)
        if question == "What is the current rating?":
            if method == "bm25":  # cites the old article: wrong for a current question
                return _answer(question, OLD, 19, 38, (old_hit, new_hit))
            return _answer(question, NEW, 0, 25, (new_hit, old_hit))
        if question == "And before?":
            return _answer(question, OLD, 19, 38, (new_hit, old_hit))
        if question == "What is the phone number?":
            if method == "hybrid":
                return _answer(question, None, passages=(new_hit,))
            return _answer(question, NEW, 26, 41, (new_hit,))
        raise AssertionError(question)


def _eval_questions():
    return [
        TestQuestion("c1", "What is the current rating?", "current", ("inadequate",),
                     ("new", "old"), (), True, True),
        TestQuestion("f1", "And before?", "followup", ("good",), ("old",),
                     ("What is the current rating?",), True, False),
        TestQuestion("u1", "What is the phone number?", "unanswerable", (), (), (), False, False),
    ]


def test_evaluate_with_fake_engine(tmp_path):
    engine = FakeEngine()
    result = evaluate(engine, _eval_questions(), methods=("bm25", "hybrid"), progress=False)
    assert result["questions"] == 3 and result["system"] == "hybrid"

    hybrid = result["methods"]["hybrid"]
    # c1: hit at rank 1; f1: hit at rank 2
    assert hybrid["recall@1"] == 0.5 and hybrid["recall@3"] == 1.0
    assert hybrid["mrr@10"] == pytest.approx(0.75)
    assert hybrid["ndcg@10"] == pytest.approx((1 + 1 / math.log2(3)) / 2)
    assert hybrid["answer@1"] == 1.0
    assert hybrid["exact_citation_slices"] == 1.0 and hybrid["citations"] == 2
    assert hybrid["abstain_precision"] == 1.0 and hybrid["abstain_recall"] == 1.0
    assert hybrid["false_abstention_rate"] == 0.0
    assert hybrid["current_newest"] == 1.0
    assert len(hybrid["recall_curve"]) == 10 and hybrid["latency_p50_ms"] is not None
    assert result["failures"] == []

    bm25 = result["methods"]["bm25"]
    assert bm25["answer@1"] == 0.5  # c1 cites "The rating was good." from the old article
    assert bm25["current_newest"] == 0.0
    assert bm25["abstain_precision"] is None and bm25["abstain_recall"] == 0.0

    # follow-up replays its history with the same method, the assistant turn being the answer
    replay = [c for c in engine.calls if c[2] == "hybrid"]
    assert [c[0] for c in replay] == ["What is the current rating?", "What is the current rating?",
                                      "And before?", "What is the phone number?"]
    assert replay[2][1] == [
        {"role": "user", "content": "What is the current rating?"},
        {"role": "assistant", "content": "The rating is inadequate."},
    ]

    by_type = result["by_type"]
    assert by_type["current"]["n"] == 1
    assert by_type["current"]["bm25"]["answer@1"] == 0.0
    assert by_type["unanswerable"]["hybrid"] == {"answer@1": None, "recall@5": None, "abstained": 1.0}

    md, png = tmp_path / "report" / "eval.md", tmp_path / "report" / "recall.png"
    md.parent.mkdir()  # the report goes into a folder that exists (the CLI checks it before running)
    write_report(result, md, png)
    text = md.read_text(encoding="utf-8")
    assert "| answer@1 | 0.500 | 1.000 |" in text and "![Recall@k](recall.png)" in text
    assert png.read_bytes().startswith(b"\x89PNG")
    assert "answer@1" in format_summary(result)


def test_evaluate_lists_failures_of_the_shipped_method():
    result = evaluate(FakeEngine(), _eval_questions(), methods=("bm25",), progress=False)
    assert result["system"] == "bm25"
    failures = {f["id"]: f for f in result["failures"]}
    assert set(failures) == {"c1", "u1"}
    assert failures["c1"]["reason"] == "no expected phrase in the answer"  # "old" is gold too
    assert failures["c1"]["cited"] == ["old"]
    assert failures["c1"]["top_passages"] == ["old#2", "new#1"]
    assert failures["u1"]["reason"] == "answered an unanswerable question"


def test_evaluate_rejects_unknown_method():
    with pytest.raises(UsageError, match="unknown method"):
        evaluate(FakeEngine(), _eval_questions(), methods=("tfidf",), progress=False)
