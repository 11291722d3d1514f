"""Small text utilities shared by retrieval and answering (pure)."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

YEAR_RE = re.compile(r"\b(1[89]\d\d|20\d\d)\b")
WORD_RE = re.compile(r"[\w'’]+", re.UNICODE)
CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2064\ufeff]")

STOPWORDS = frozenset("""
a about above after again against all am an and any are as at be because been before being below
between both but by can could did do does doing down during each few for from further had has have
having he her here hers herself him himself his how i if in into is it its itself just me more most my
myself no nor not now of off on once only or other our ours ourselves out over own same she should so
some such than that the their theirs them themselves then there these they this those through to too
under until up very was we were what when where which while who whom why will with would you your
yours yourself yourselves s t don shall may might must also said says say tell told give given
""".split())


SURROGATE_RE = re.compile(r"[\ud800-\udfff]")
# What a terminal would act on rather than show: C0 and C1 controls (but tab and newline), DEL, and the
# bidirectional overrides that make text read differently from how it is stored.
TERMINAL_UNSAFE_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def clean_question(text: str) -> str:
    """Control and invisible characters become spaces; whitespace is collapsed. A lone surrogate (bytes
    that were not UTF-8, read with surrogateescape, or a "\\ud800" in JSON) becomes U+FFFD, which the
    tokenizer can read."""
    text = SURROGATE_RE.sub("\ufffd", text)
    text = unicodedata.normalize("NFC", text)
    text = CONTROL_RE.sub(" ", text)
    return re.sub(r"\s+", " ", text).strip()


def printable(text: str) -> str:
    """``text`` safe to print on a terminal: each control character shown as its escape (``\\x1b``), so
    an article cannot recolour, beep at or rewrite the user's terminal. Offsets still refer to the
    stored text (``qa show --json`` prints it exactly)."""
    return TERMINAL_UNSAFE_RE.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100
                                  else f"\\u{ord(m.group()):04x}", SURROGATE_RE.sub("\ufffd", text))


def json_safe(line: str) -> str:
    """A JSON text whose characters are all safe on a terminal: json.dumps escapes C0 controls but
    leaves C1 controls and bidirectional overrides raw; they become \\u escapes (the same JSON value)."""
    return TERMINAL_UNSAFE_RE.sub(lambda m: f"\\u{ord(m.group()):04x}", SURROGATE_RE.sub("\ufffd", line))


@lru_cache(maxsize=1)
def _stemmer():
    try:
        import Stemmer

        return Stemmer.Stemmer("english")
    except ImportError:  # pragma: no cover - PyStemmer is a dependency
        return None


def stem(word: str) -> str:
    s = _stemmer()
    return s.stemWord(word) if s else word


def terms(text: str) -> list[str]:
    """Lower-cased, stemmed content words (the vocabulary of lexical overlap)."""
    out = []
    for w in WORD_RE.findall(text.lower().replace("’", "'")):
        w = w.strip("'")
        if w.endswith("'s"):
            w = w[:-2]
        if w and w not in STOPWORDS:
            out.append(stem(w))
    return out


def salient_names(question: str) -> list[str]:
    """Words of the question that name something: capitalised (not first) or numbers.

    These must appear somewhere in the collection for it to be able to answer.
    """
    words = WORD_RE.findall(question)
    names = []
    for i, w in enumerate(words):
        w = w.strip("'’")
        if w.lower().endswith(("'s", "’s")):
            w = w[:-2]
        if not w or w.lower() in STOPWORDS:
            continue
        if (i > 0 and w[0].isupper() and len(w) > 1) or w.isdigit():
            names.append(w)
    return names


# "… since the previous inspection in 2016": a year the text measures from, not one it reports on.
SINCE_YEAR_RE = re.compile(rf"\bsince\b(?:[^.,;:!?\d]{{0,40}}?)?{YEAR_RE.pattern}", re.I)


# "2025-26", "2024/25", "2018-2023": a financial or other period, named by its first and last year.
YEAR_RANGE_RE = re.compile(r"\b((?:1[89]|20)\d\d)\s*[-–/]\s*(\d{4}|\d{2})\b")


def year_ranges(text: str) -> frozenset[tuple[int, int]]:
    """The periods ``text`` names as a pair of years ("2025-26" -> (2025, 2026))."""
    out = set()
    for m in YEAR_RANGE_RE.finditer(text):
        start, end = int(m.group(1)), m.group(2)
        last = int(end) if len(end) == 4 else start // 100 * 100 + int(end)
        if start < last <= start + 20:
            out.add((start, last))
    return frozenset(out)


def years(text: str) -> list[str]:
    return YEAR_RE.findall(text)


def reported_years(text: str) -> list[str]:
    """The years ``text`` names, leaving out those it only counts from ("since 2016")."""
    return years(SINCE_YEAR_RE.sub(" ", text))
