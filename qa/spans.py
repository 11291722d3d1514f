"""Answer spans: dates, numbers, amounts, percentages, persons, places and contacts in a text (pure).

The question stage asks for a kind ("how many" -> number); the answer stage looks for spans of that
kind in candidate sentences and marks the one that answers.
"""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING

from qa.text import WORD_RE

if TYPE_CHECKING:
    from qa.question import QuestionInfo

SPAN_CACHE = 16384  # (sentence, kind) pairs kept by find_spans: a few MB of keys,
SPAN_CACHE_CHARS = 1000  # and only sentences up to this long (≤ 16 MB of Latin text, however odd the corpus)

MONTHS = ("January|February|March|April|May|June|July|August|September|October|November|December|"
          "Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec")


NUMBER_WORDS = ("one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|"
                "sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|"
                "hundred|thousand|million|billion|dozen|half|third|quarter|once|twice|thrice")


# "Cllr Ford", "Dr Jane Smith": after a title one capitalised word names a person; without one, two do.
PERSON_TITLE = r"(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Sir|Dame|Lord|Lady|Cllr|Councillor|President|Judge|Rev)\.?\s+"


PERSON_NAME = r"[A-Z][a-z]+(?:['’][A-Za-z][a-z]+)?"


PERSON_MORE = rf"(?:[- ](?:[A-Z]\.|{PERSON_NAME}|de|van|von|der|da|di|le|la|bin|al))"


# Capitalised at the start of a sentence, not because they name someone.
NOT_A_NAME = (r"(?!(?:The|A|An|This|That|These|Those|In|On|At|Of|For|And|But|It|Its|Our|Their|His|Her|We|They|"
              r"He|She|If|When|While|Whilst|After|Before|Since|As|Under|Over|From|With|By|Both|All|Each|Every|Some|Many|"
              r"Most|Several|Other|Such|Another|Further|Also|Yet|Although|However|Because|Despite|During|"
              r"Following|Only|Now|Today|Yesterday|Last|Next|January|February|March|April|May|June|"
              r"July|August|September|October|November|December)\b)")


# "How many…?" answered in words: "the overwhelming majority", "a small number of children".
VAGUE_QUANTITIES = (r"(?:(?:overwhelming|vast|large|small|slim|narrow)\s+)?(?:majority|minority)|handful|"
                    r"(?:a\s+)?(?:small|large|growing|significant|increasing|high|low|rising)\s+number\s+of|"
                    r"(?:dozens|hundreds|thousands|millions)\s+of")


SPAN_PATTERNS: dict[str, re.Pattern] = {
    "date": re.compile(
        rf"\b(?:(?:early|mid|late)[- ])?(?:\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?)?(?:{MONTHS})\b\.?"
        rf"(?:\s+\d{{1,2}}(?:st|nd|rd|th)?\b(?:\s*(?:to|-|–|and)\s*\d{{1,2}}(?:st|nd|rd|th)?\b)?)?(?:,?\s+\d{{4}})?"
        r"|\b(?:1[5-9]|20)\d\d(?:\s*[-–/]\s*(?:\d{4}|\d{2}))?(?:s\b)?\b"
    ),
    "amount": re.compile(
        r"[£$€¥]\s?\d[\d,]{0,40}(?:\.\d+)?(?:\s?(?:million|billion|trillion|bn|m|k)\b)?"
        r"|\b\d[\d,]{0,40}(?:\.\d+)?\s?(?:million|billion|trillion)?\s?(?:pounds|dollars|euros|yen|pence|cents)\b",
        re.I,
    ),
    "percent": re.compile(
        r"\b\d[\d,]{0,40}(?:\.\d+)?\s?(?:%|per ?cent\b|percent\b)|%\s?\d[\d,]{0,40}(?:\.\d+)?"
        r"|\b(?:half|a third|a quarter|two[- ]thirds|three[- ]quarters)\b",
        re.I,
    ),
    "number": re.compile(
        rf"\b\d[\d,]{{0,40}}(?:\.\d+)?(?:\s?(?:%|per ?cent|percent))?(?:\s(?:million|billion|thousand|hundred))?"
        rf"|\b(?:{NUMBER_WORDS})(?:[- ](?:{NUMBER_WORDS}))*(?:\s+out\s+of\s+(?:{NUMBER_WORDS}|\d+))?\b"
        rf"|\b(?:{VAGUE_QUANTITIES})\b",
        re.I,
    ),
    "person": re.compile(
        rf"\b(?:{PERSON_TITLE}{PERSON_NAME}{PERSON_MORE}{{0,3}}|{NOT_A_NAME}{PERSON_NAME}{PERSON_MORE}{{1,3}})\b"
    ),
    "place": re.compile(r"(?:(?<=\bin )|(?<=\bat )|(?<=\bfrom )|(?<=\bnear )|(?<=\bto )|(?<=\bof ))[A-Z][\w'’-]+(?:\s+[A-Z][\w'’-]+){0,3}"),
    "phone": re.compile(r"(?<!\w)(?:\+?\d[\d ()-]{7,}\d)(?!\w)"),
    "email": re.compile(r"\b[\w.+-]{1,64}@[\w-]+\.[\w.-]+\b"),  # 64: the longest local part
    "url": re.compile(r"\bhttps?://\S+|\bwww\.[\w-]+\.\S+", re.I),
}


# "Springfield Children’s Services": a capitalised phrase that runs on past a possessive names a thing.
POSSESSIVE_NAME_RE = re.compile(r"['’]s\s+[A-Z]")


# Words that mark a capitalised phrase as an organisation or a thing, not a person.
NOT_PERSON_RE = re.compile(
    r"\b(Council|Fund|Department|Board|Services?|Agency|Authority|Committee|Ministry|University|College|"
    r"School|Hospital|Trust|Group|Team|Office|Government|Education|Court|Party|Company|Corporation|"
    r"Association|Society|Institute|Centre|Center|Bank|Club|Street|Road|Park|Station|Report|Plan|Act|"
    r"Scheme|Programme|Program|Panel|Review|Partnership|Network|Foundation|Commission|Parliament|Police|"
    r"Church|Museum|River|Island|Mountain|North|South|East|West|Cabinet|Member|Minister|Secretary|Officer|"
    r"Executive|Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)\b")


CURRENCY = "£$€¥"


YEAR_ONLY_RE = re.compile(r"(?:1[5-9]|20)\d\d")


VAGUE_RE = re.compile(rf"(?:a\s+|the\s+)?(?:{VAGUE_QUANTITIES})", re.I)


# "One year on…": a number that measures time counts nothing else ("how many inspectors…").
TIME_UNITS = r"(?:years?|months?|weeks?|days?|hours?|minutes?|seconds?|decades?|centuries|century)"


# (?<!\s): a match starts where a run of spaces does (a span never ends in one), so a search over a
# long run of spaces is not quadratic
TIME_SPAN_RE = re.compile(rf"(?<!\s)\s*(?:-\s*)?{TIME_UNITS}\b", re.I)


WEEKDAYS = "Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday"


DATE_GRAIN_PATTERNS: dict[str, re.Pattern] = {
    "year": re.compile(rf"\b{YEAR_ONLY_RE.pattern}(?:s|['’]s)?\b"),  # a decade ("the 1950s") is as precise
    "month": re.compile(rf"\b(?:{MONTHS})\b"),
    "day": re.compile(rf"\b\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?(?:{MONTHS})\b|\b(?:{MONTHS})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?\b"
                      rf"|\b\d{{1,2}}[/.]\d{{1,2}}[/.]\d{{2,4}}\b|\b(?:{WEEKDAYS})\b"),
}


def answer_spans(text: str, info: "QuestionInfo", precise: bool = True) -> list[tuple[int, int]]:
    """The spans of ``text`` of the type ``info`` asks for that the question does not already say
    ("how much of the £2m…" is not answered by "£2m"). When ``precise``: a date as precise as asked
    ("on what date" needs a day) and, unless time is counted, no number of years or days for "how many"."""
    if not info.kind:
        return []
    spans = [(a, b) for a, b in find_spans(text, info.kind)
             if not {w.lower() for w in WORD_RE.findall(text[a:b])} <= info.words]
    if precise and info.date_grain:
        pattern = DATE_GRAIN_PATTERNS[info.date_grain]
        spans = [(a, b) for a, b in spans if pattern.search(text[a:b])]
    if precise and info.kind == "number" and info.exact:
        spans = [(a, b) for a, b in spans if not VAGUE_RE.fullmatch(text[a:b])]
    if precise and info.kind == "number" and not info.counts_time:
        spans = [(a, b) for a, b in spans if not TIME_SPAN_RE.match(text, b)]
    return spans


def holding(texts: list[str], info: "QuestionInfo", precise: bool = True) -> list[bool]:
    """For each text, whether it holds a span of the type ``info`` asks for (see answer_spans)."""
    if not info.kind:
        return [False] * len(texts)
    return [bool(answer_spans(t, info, precise)) for t in texts]


def find_spans(text: str, kind: str) -> list[tuple[int, int]]:
    """The spans of ``kind`` in ``text`` (a person's name, a number, a date, …). Those of the sentences
    asked about lately are kept: the same candidates come back question after question, and these
    patterns are the answer stage's largest cost on a small collection."""
    return list(_cached_spans(text, kind) if len(text) <= SPAN_CACHE_CHARS else _spans(text, kind))


def _spans(text: str, kind: str) -> tuple[tuple[int, int], ...]:
    pattern = SPAN_PATTERNS.get(kind)
    if pattern is None:
        return ()
    spans = []
    for m in pattern.finditer(text):
        a, b = m.start(), m.end()
        if kind == "person" and (NOT_PERSON_RE.search(m.group()) or POSSESSIVE_NAME_RE.match(text, m.end())):
            continue
        if kind == "number" and YEAR_ONLY_RE.fullmatch(m.group().strip(" ,.;:")):
            continue  # "in 2019" dates something; it does not count anything
        if kind == "number" and a > 0 and text[a - 1] in CURRENCY:
            continue  # "£2.2 million" is an amount of money: "how many" does not ask for one
        while b > a and text[b - 1] in " ,.;:":
            b -= 1
        if b > a:
            spans.append((a, b))
    return tuple(spans)


_cached_spans = functools.lru_cache(maxsize=SPAN_CACHE)(_spans)
