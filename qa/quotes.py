"""Who is speaking: the sentence that introduces a quotation running over several paragraphs (pure).

News prints a long quotation as paragraphs that each open with a quotation mark, the last one alone
closing it, and names the speaker once, just before the run ("Councillor Jane Smith said:") or in its
first paragraph ("“…,” Cllr Smith said."). A sentence deep in the run names nobody, so "who said…?"
needs the sentence that introduces it.
"""

from __future__ import annotations

from typing import Sequence

from qa.types import Sentence

OPENING_QUOTES = "\"“‘'«„"


def _paragraph_start(text: str, pos: int) -> int:
    return text.rfind("\n", 0, pos) + 1


def _opens_with_quote(text: str, paragraph_start: int) -> bool:
    rest = text[paragraph_start:paragraph_start + 8].lstrip(" \t>")
    return bool(rest) and rest[0] in OPENING_QUOTES


def _unclosed(text: str) -> bool:
    """The text opens a quotation it does not close."""
    return text.count("“") > text.count("”") or text.count('"') % 2 == 1


def _introduction(text: str, sentences: Sequence[Sentence], i: int, paragraph: int) -> int:
    """The ordinal of the sentence introducing the run of quotation paragraphs that starts at sentences[i]."""
    previous = _paragraph_start(text, sentences[i - 1].start) if i > 0 else -1
    k = i
    while k > 0 and _paragraph_start(text, sentences[k - 1].start) == previous:
        k -= 1
    before = list(sentences[k:i])  # the paragraph before the run
    if before and before[-1].text.rstrip().endswith(":"):
        return before[-1].ordinal  # "Councillor Jane Smith said:"
    if before and _unclosed(text[previous:paragraph]):
        # the paragraph before opened the quotation: "Cllr Smith said: “I am proud…"
        return next(t.ordinal for t in before if any(q in t.text for q in OPENING_QUOTES[:3]))
    k = i
    while k + 1 < len(sentences) and _paragraph_start(text, sentences[k + 1].start) == paragraph:
        k += 1
    return sentences[k].ordinal  # the last of the run's first paragraph: "“…,” Cllr Smith said."


def speakers(text: str, sentences: Sequence[Sentence]) -> dict[int, int]:
    """For each sentence (by ordinal) inside a run of quotation paragraphs, the ordinal of the sentence
    that introduces the run: the one just before it when it ends in a colon, the one that opens the
    quotation in the paragraph before, else the last sentence of the run's first paragraph (where
    "“…,” X said." goes). Sentences outside a run are left out.

    ``sentences`` are one article's, in reading order, with offsets into ``text``.
    """
    out: dict[int, int] = {}
    previous_paragraph = -1
    intro: int | None = None  # of the run the current paragraph is in; None outside a run
    for i, s in enumerate(sentences):
        p = _paragraph_start(text, s.start)
        if p != previous_paragraph:  # a new paragraph
            previous_paragraph = p
            if not _opens_with_quote(text, p):
                intro = None
            elif intro is None:  # the first paragraph of a run
                intro = _introduction(text, sentences, i, p)
        if intro is not None and intro != s.ordinal:
            out[s.ordinal] = intro
    return out
