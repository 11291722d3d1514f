"""BM25 scored at query time from postings equals bm25s bit for bit (oracle test), and an index of several
segments with deleted chunks scores like one built from scratch over the live chunks (no model)."""

from __future__ import annotations

import random

import numpy as np
from hypothesis import given, settings, strategies as st

from qa.lexical import LexicalIndex, PostingsBuilder, SegmentPostings
from qa.text import terms

DOCS = [
    "Ofsted rated the council's services adequate after an unannounced inspection.",
    "Inspectors praised social workers for acting quickly when children are not safe.",
    "The council apologised for long waits and outlined an improvement plan.",
    "Funding of eleven million pounds was allocated to children's services.",
    "Caseloads have been brought down to more manageable levels.",
    "",
    "The council said the inspection found the council's children's services had improved.",
]


def segment(docs: list[str], offset: int = 0, live=None) -> SegmentPostings:
    builder = PostingsBuilder()
    for d in docs:
        builder.add(d)
    vocab, indptr, ids, tf, doc_len = builder.postings()
    return SegmentPostings(indptr, ids, tf, doc_len, lambda ws: {w: vocab[w] for w in ws if w in vocab}, offset,
                           None if live is None else np.asarray(live, dtype=bool))


def lexical(docs: list[str]) -> LexicalIndex:
    return LexicalIndex([segment(docs)], len(docs))


def test_scores_equal_bm25s_bit_for_bit():
    import bm25s
    from bm25s.tokenization import Tokenized

    ours = lexical(DOCS)
    vocab: dict[str, int] = {}
    ids = [[vocab.setdefault(t, len(vocab)) for t in terms(d)] for d in DOCS]
    ref = bm25s.BM25()
    ref.index(Tokenized(ids=ids, vocab=dict(vocab)), show_progress=False, create_empty_token=False)
    rng = random.Random(0)
    words = sorted(vocab)
    for _ in range(100):
        q = rng.sample(words, rng.randint(1, 5))
        assert np.array_equal(ours.scores(q), ref.get_scores([vocab[t] for t in q]).astype(np.float32)), q
    assert not ours.scores(["zebra"]).any()
    assert ours.scores(terms("inspection inspection")).max() == 2 * ours.scores(terms("inspection")).max()


def test_idf_is_higher_for_rarer_terms():
    ours = lexical(DOCS)
    df = ours.doc_freqs(terms("caseloads council"))
    assert ours.idf(df[terms("caseloads")[0]]) > ours.idf(df[terms("council")[0]])
    assert ours.doc_freqs(["zebra"]) == {"zebra": 0}


def test_segments_with_deleted_chunks_score_like_a_fresh_build_of_the_live_chunks():
    rng = random.Random(1)
    words = sorted({t for d in DOCS for t in terms(d)})
    for _ in range(30):
        docs = [" ".join(rng.choices(words, k=rng.randint(0, 12))) for _ in range(rng.randint(2, 14))]
        cut = rng.randint(1, len(docs) - 1)
        live = [rng.random() > 0.3 for _ in docs]
        parts = LexicalIndex([segment(docs[:cut], 0, live[:cut]), segment(docs[cut:], cut, live[cut:])], len(docs))
        fresh_docs = [d for d, ok in zip(docs, live) if ok]
        fresh = lexical(fresh_docs)
        for _ in range(10):
            q = rng.sample(words, rng.randint(1, 4))
            assert np.array_equal(parts.scores(q)[np.array(live)], fresh.scores(q)), (docs, live, q)
            assert not parts.scores(q)[~np.array(live)].any()
            assert parts.doc_freqs(q) == fresh.doc_freqs(q)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.text(max_size=60), max_size=8), st.text(max_size=40))
def test_any_corpus_and_query_give_one_finite_score_per_document(docs, query):
    scores = LexicalIndex([segment(docs)], len(docs)).scores(terms(query))
    assert scores.shape == (len(docs),) and np.isfinite(scores).all() and (scores >= 0).all()
