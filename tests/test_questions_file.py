"""corpus/questions.jsonl: well-formed, large enough, and every expected phrase is in its article."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from qa.testset import load_questions
from qa.metrics import contains_any

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
QUESTIONS = CORPUS / "questions.jsonl"
MIN_PER_TYPE = {
    "fact": 10, "paraphrase": 6, "date": 4, "number": 4, "person": 4,
    "current": 4, "year": 5, "followup": 5, "unanswerable": 10,
}


def _body(path: Path) -> str:
    """The article text: everything after the second line that is just ``---``."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    fences = [i for i, line in enumerate(lines) if line.strip() == "---"]
    assert len(fences) >= 2 and fences[0] == 0, f"{path.name} has no front matter"
    return "".join(lines[fences[1] + 1:])


def _squash(text: str) -> str:
    return " ".join(text.split()).casefold()


@pytest.fixture(scope="module")
def articles() -> dict[str, str]:
    return {p.stem: _body(p) for p in sorted(CORPUS.glob("*.md"))}


@pytest.fixture(scope="module")
def questions():
    return load_questions(QUESTIONS)


def test_every_line_is_an_object_with_the_documented_fields():
    for lineno, line in enumerate(QUESTIONS.read_text(encoding="utf-8").splitlines(), 1):
        obj = json.loads(line)
        for field in ("id", "question", "type", "expected", "articles", "history",
                      "answerable", "current"):
            assert field in obj, f"line {lineno} lacks {field!r}"


def test_size_and_type_mix(questions):
    assert len(questions) >= 60
    counts = Counter(q.type for q in questions)
    for t, n in MIN_PER_TYPE.items():
        assert counts[t] >= n, f"only {counts[t]} {t!r} questions, want {n}"
    assert set(counts) == set(MIN_PER_TYPE), f"unexpected types {set(counts) - set(MIN_PER_TYPE)}"
    assert sum(1 for q in questions if not q.answerable) >= 10


def test_ids_and_questions_unique(questions):
    assert len({q.id for q in questions}) == len(questions)
    assert all(re.fullmatch(r"q\d{3}", q.id) for q in questions)
    assert len({q.question.casefold() for q in questions if not q.history}) == sum(
        1 for q in questions if not q.history)


def test_gold_articles_exist(questions, articles):
    for q in questions:
        for a in q.articles:
            assert a in articles, f"{q.id}: no article {a!r} in corpus/"


def test_expected_phrases_occur_verbatim_in_a_gold_article(questions, articles):
    for q in questions:
        for phrase in q.expected:
            texts = [articles[a] for a in q.articles]
            assert any(_squash(phrase) in _squash(t) for t in texts), (
                f"{q.id}: {phrase!r} is not in {', '.join(q.articles)}")
            # and the scorer finds it there too (normalised, whole words)
            assert any(contains_any(t, [phrase]) for t in texts), f"{q.id}: {phrase!r}"


def test_gold_offsets_when_given(questions, articles):
    for q in questions:
        for g in q.gold:
            assert g.article_id in q.articles
            assert 0 <= g.start < g.end <= len(articles[g.article_id])


def test_type_rules(questions, articles):
    for q in questions:
        if q.type == "unanswerable":
            assert not q.answerable and q.expected == () and q.articles == (), q.id
        else:
            assert q.answerable and q.expected and q.articles, q.id
        assert q.current == (q.type == "current"), q.id
        assert bool(q.history) == (q.type == "followup"), q.id
        if q.type == "year":
            assert re.search(r"\b(19|20)\d\d\b", q.question), q.id


def test_current_questions_include_the_newest_relevant_article(questions):
    newest = "havering-improvement-update"  # December 2024, the latest article
    for q in questions:
        if q.current:
            assert newest in q.articles, q.id


def test_unanswerable_mix_of_far_and_near():
    rows = [json.loads(line) for line in QUESTIONS.read_text(encoding="utf-8").splitlines()]
    kinds = Counter(r.get("subtype") for r in rows if not r["answerable"])
    assert kinds["far"] >= 5 and kinds["near"] >= 5
