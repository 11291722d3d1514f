"""What a question asks for: the answer type, time cues, the speaker or role asked about (pure).

Span patterns are in qa/spans.py; follow-ups and the chat history in qa/conversation.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from qa.spans import MONTHS, TIME_UNITS, find_spans
from qa.text import WORD_RE, YEAR_RE, reported_years, terms, year_ranges

# "Which cabinet member said…", "What official…": the question word asks for a person by role.
ROLES = (r"(?:member|official|spokes(?:man|woman|person)|chair(?:man|woman|person)?|leader|chief|councillor|mayor|"
         r"minister|director|inspector|manager|officer|executive|MP|person|man|woman|secretary|politician|judge|"
         r"boss|president|head|governor|commissioner|chancellor|founder|author|architect|coach|captain)s?")
ROLE_QUESTION = (
    r"^\s*(?:which|what)\s+(?:(?!(?:did|does|do|is|was|were|are|has|have|had|will|would|can|could|should|"
    rf"may|might|must)\b)[\w'’-]+\s+){{0,2}}{ROLES}\b"
)

KIND_CUES: tuple[tuple[str, re.Pattern], ...] = (
    ("phone", re.compile(r"\b(phone|telephone|tel|mobile|contact number|call)\b", re.I)),
    ("email", re.compile(r"\be-?mail\b", re.I)),
    ("url", re.compile(r"\b(website|web site|url|web address|link)\b", re.I)),
    ("amount", re.compile(r"\bhow much\b|\bwhat (?:was |is |were |are )?the (?:amount|sum|cost|price|budget|funding|fee)\b|\bwhat (?:salary|salaries|wage|wages|price|fee|fees)\b|\bhow many (?:pounds|dollars|euros)\b", re.I)),
    ("percent", re.compile(r"\bwhat (?:percentage|per ?cent|percent)\b|\bhow many (?:per ?cent|percent)\b", re.I)),
    ("number", re.compile(r"\bhow many\b|\bwhat (?:number|percentage|proportion|share|fraction)\b|\bhow (?:old|long|far|big|large)\b", re.I)),
    ("date", re.compile(r"^\s*when\b|\bwhat (?:year|date|month|day|time)s?\b|\bwhich (?:year|month|day|date)s?\b|\bin what year\b|\bsince when\b", re.I)),
    ("person", re.compile(rf"^\s*(?:who|whom|whose)\b|{ROLE_QUESTION}|\bwho\b", re.I)),
    ("place", re.compile(r"^\s*where\b|\bwhich (?:city|town|country|place|region|borough|state|county)\b|\bin what (?:city|town|country|place)\b", re.I)),
)
LATEST_RE = re.compile(
    r"\b(current(?:ly)?|latest|most recent(?:ly)?|recent(?:ly)?|now|today|these days|at present|presently|"
    r"newest|still|so far|to date|as of now|last|at the moment|right now|nowadays|as it stands|any more|anymore)\b",
    re.I)
# A question's months and years: they say when, not what.
DATE_WORD_RE = re.compile(rf"\b(?:{MONTHS})\b|{YEAR_RE.pattern}")
# A clause that says which occasion a question is about, not what it asks: "…, according to the 2023
# report", "… when Ofsted rated it good", "… in the December inspection". It picks the article; the
# answer sentence need not repeat it.
CONTEXT_CLAUSE_RE = re.compile(
    r"(?:,\s*|\s)(?:according to\b[^?]*"
    r"|(?:when|whenever|at the time|by the time)\s+(?:it|they|he|she|the|a|an|its|their|[A-Z]\w*)\b[^?]*"
    r"|(?:in|during|at|after|following|from)\s+(?:the|its|their|that|this|his|her)\s+"
    r"[^?,]{0,40}?\b(?:inspection|report|visit|review|rating|judgement|judgment|announcement|election|meeting|"
    r"hearing|interview|statement|speech|survey|study|season|match|game|trial|war|era|campaign)s?\b)",
)
# "Which inspector…", "Who was the chief executive…": a person by role or identity, not an agent that an
# organisation could also be ("Who praised…").
NAMED_PERSON_RE = re.compile(rf"{ROLE_QUESTION}|^\s*who\s+(?:is|was|are|were)\s+(?:the|a|an|its|their|[\w-]+['’]s)\s+"
                             rf"(?:[\w'’-]+\s+){{0,3}}?{ROLES}\b"
                             r"|^\s*who\s+(?:chair(?:s|ed)|head(?:s|ed)|captain(?:s|ed)|coach(?:es|ed))\b", re.I)
# "What did Jane Smith say about…?", "according to Cllr Smith": the answer must be that person's words.
SPEAKER_QUESTION_RE = re.compile(
    r"^\s*(?:what|how|why)\s+(?:did|does|do|has|had|have|would|will)\s+(?P<a>.+?)\s+(?:have\s+to\s+say|say|said|tell|told|add|added|"
    r"claim|claimed|argue|argued|write|wrote|think|thought|describe|described|mean|meant|call|called|admit|admitted|"
    r"explain|explained|warn|warned)\b|\baccording to\s+(?P<b>[^,?]+)", re.I)
EXACT_RE = re.compile(r"\b(?:exactly|precisely)\s+how\s+(?:many|much)\b|\b(?:exact|precise)\s+(?:number|figure|amount|count)\b",
                      re.I)
TIME_COUNT_RE = re.compile(rf"\bhow (?:many|few)\s+(?:\w+\s+)?{TIME_UNITS}\b|\bhow (?:long|old|soon|often)\b", re.I)
# How precise a date the question asks for: "in what year…" needs a year, "on what date…" a day.
DATE_GRAIN_CUES: tuple[tuple[str, re.Pattern], ...] = (
    ("day", re.compile(r"\b(?:on )?(?:what|which) (?:exact )?(?:date|day)\b|\bon what\b", re.I)),
    ("month", re.compile(r"\b(?:what|which) month\b", re.I)),
    ("year", re.compile(r"\b(?:what|which) year\b", re.I)),
)
# "When will…?": asks when something is to happen, which only a sentence speaking of the future answers.
# ("What will oxygen speed up?" is often timeless, so only "when" questions count.)
FUTURE_QUESTION_RE = re.compile(r"^\s*when\s+(?:will|shall|is\b[^?]*\b(?:due|expected|scheduled|planned|set)\b)", re.I)


@dataclass(frozen=True)
class QuestionInfo:
    kind: str | None  # date, amount, percent, number, person, place, phone, email, url
    latest: bool
    years: tuple[str, ...]
    person_by_role: bool = False  # "which inspector…", "who was the director…": only a person answers
    date_grain: str | None = None  # "day", "month" or "year": the date asked for must name one
    future: bool = False  # "when will…": the answer must speak of the future
    counts_time: bool = False  # "how many years…", "how long…": a number of years or days answers it
    exact: bool = False  # "exactly how many…", "the exact number…": a quantity in words does not answer
    periods: frozenset[tuple[int, int]] = frozenset()  # "the 2025-26 settlement": (2025, 2026)
    words: frozenset[str] = frozenset()  # the question's words, lower-cased: a span it already says answers nothing
    speaker: str | None = None  # "What did Jane Smith say…": the surname the answer must be attributed to
    speaker_terms: frozenset[str] = frozenset()  # that person's name as index terms ("jane", "smith")
    role: str | None = None  # "who was the director…": the role as an index term ("director")


# Roles too general to look for in the answer ("which official…" is answered by "Cllr Smith, cabinet member"),
# and one that is mostly a title, often shortened ("Cllr Ford").
GENERAL_ROLES = frozenset({"member", "official", "person", "man", "woman", "politician", "head", "boss", "leader",
                           "councillor"})


def asked_role(question: str) -> str | None:
    """The specific role a "who was the director…" question names, as an index term."""
    m = NAMED_PERSON_RE.search(question)
    role = m and re.search(rf"\b{ROLES}\b", m.group(), re.I)
    if not role or role.group().lower().rstrip("s") in GENERAL_ROLES:
        return None
    found = terms(role.group())
    return found[0] if found else None


def analyze(question: str) -> QuestionInfo:
    kind = next((k for k, pattern in KIND_CUES if pattern.search(question)), None)
    grain = next((g for g, pattern in DATE_GRAIN_CUES if pattern.search(question)), None) if kind == "date" else None
    return QuestionInfo(kind=kind, latest=bool(LATEST_RE.search(question)), years=tuple(reported_years(question)),
                        person_by_role=kind == "person" and bool(NAMED_PERSON_RE.search(question)),
                        date_grain=grain, future=bool(FUTURE_QUESTION_RE.search(question)),
                        counts_time=bool(TIME_COUNT_RE.search(question)),
                        exact=bool(EXACT_RE.search(question)), periods=year_ranges(question),
                        words=frozenset(w.lower() for w in WORD_RE.findall(question)),
                        speaker=(who := asked_speaker(question)) and WORD_RE.findall(who)[-1],
                        speaker_terms=frozenset(terms(who or "")),
                        role=asked_role(question) if kind == "person" else None)


def asked_speaker(question: str) -> str | None:
    """The name of the person whose words the question asks for ("What did Cllr Jane Smith say…")."""
    m = SPEAKER_QUESTION_RE.search(question)
    if not m:
        return None
    who = (m.group("a") or m.group("b") or "").strip()
    spans = find_spans(who, "person")
    if len(spans) != 1 or spans[0] != (0, len(who)):
        return None  # not just a person's name ("the report", "Ofsted inspectors")
    return who


def date_words(text: str) -> list[str]:
    """The month names and years in ``text`` ("December", "2023")."""
    return [m.group() for m in DATE_WORD_RE.finditer(text)]


def context_words(question: str, after_words: int = 3) -> list[str]:
    """The clauses of ``question`` that say which occasion it is about ("… when it was rated good").

    Only after the question's first ``after_words`` words: "When did…" asks for a date, it is no clause.
    """
    out = []
    for m in CONTEXT_CLAUSE_RE.finditer(question):
        if len(WORD_RE.findall(question[: m.start()])) >= after_words:
            out.append(m.group().strip(" ,"))
    return out
