"""BM25 saved with the index scores exactly as bm25s does (oracle test, no model)."""

from __future__ import annotations

import random

import numpy as np
from hypothesis import given, settings, strategies as st

from qa.lexical import BM25
from qa.text import terms

DOCS = [
    "Ofsted rated the council's services adequate after an unannounced inspection.",
    "Inspectors praised social workers for acting quickly when children are not safe.",
    "The council apologised for long waits and outlined an improvement plan.",
    "Funding of eleven million pounds was allocated to children's services.",
    "Caseloads have been brought down to more manageable levels.",
    "",
]


def test_scores_equal_bm25s_get_scores(tmp_path):
    import bm25s
    from bm25s.tokenization import Tokenized

    ours = BM25.build(DOCS)
    ours.save(tmp_path)
    loaded = BM25.load(tmp_path)
    vocab: dict[str, int] = {}
    ids = [[vocab.setdefault(t, len(vocab)) for t in terms(d)] for d in DOCS]
    ref = bm25s.BM25()
    ref.index(Tokenized(ids=ids, vocab=dict(vocab)), show_progress=False, create_empty_token=False)
    rng = random.Random(0)
    words = sorted(vocab)
    for _ in range(50):
        q = rng.sample(words, rng.randint(1, 4))
        expected = ref.get_scores([vocab[t] for t in q])
        assert np.allclose(loaded.scores(q), expected, atol=1e-6)
    assert not loaded.scores(["zebra"]).any()
    assert loaded.scores(terms("inspection inspection")).max() == 2 * loaded.scores(terms("inspection")).max()


def test_idf_is_higher_for_rarer_terms():
    idf = BM25.build(DOCS).idf()
    assert idf[terms("caseloads")[0]] > idf[terms("council")[0]]


@settings(max_examples=30, deadline=None)
@given(st.lists(st.text(max_size=60), max_size=8), st.text(max_size=40))
def test_any_corpus_and_query_give_one_finite_score_per_document(docs, query):
    scores = BM25.build(docs).scores(terms(query))
    assert scores.shape == (len(docs),) and np.isfinite(scores).all() and (scores >= 0).all()
