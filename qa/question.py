"""What a question asks for: answer type, time cues, follow-up context (pure)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

from qa.text import WORD_RE, YEAR_RE, clean_question, reported_years, terms, year_ranges, years

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
# "Which cabinet member said…", "What official…": the question word asks for a person by role.
ROLES = (r"(?:member|official|spokes(?:man|woman|person)|chair(?:man|woman|person)?|leader|chief|councillor|mayor|"
         r"minister|director|inspector|manager|officer|executive|MP|person|man|woman|secretary|politician|judge|"
         r"boss|president|head|governor|commissioner|chancellor|founder|author|architect|coach|captain)s?")
ROLE_QUESTION = (
    r"^\s*(?:which|what)\s+(?:(?!(?:did|does|do|is|was|were|are|has|have|had|will|would|can|could|should|"
    rf"may|might|must)\b)[\w'’-]+\s+){{0,2}}{ROLES}\b"
)

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
        r"[£$€¥]\s?\d[\d,]*(?:\.\d+)?(?:\s?(?:million|billion|trillion|bn|m|k)\b)?"
        r"|\b\d[\d,]*(?:\.\d+)?\s?(?:million|billion|trillion)?\s?(?:pounds|dollars|euros|yen|pence|cents)\b",
        re.I,
    ),
    "percent": re.compile(
        r"\b\d[\d,]*(?:\.\d+)?\s?(?:%|per ?cent\b|percent\b)|%\s?\d[\d,]*(?:\.\d+)?"
        r"|\b(?:half|a third|a quarter|two[- ]thirds|three[- ]quarters)\b",
        re.I,
    ),
    "number": re.compile(
        rf"\b\d[\d,]*(?:\.\d+)?(?:\s?(?:%|per ?cent|percent))?(?:\s(?:million|billion|thousand|hundred))?"
        rf"|\b(?:{NUMBER_WORDS})(?:[- ](?:{NUMBER_WORDS}))*(?:\s+out\s+of\s+(?:{NUMBER_WORDS}|\d+))?\b"
        rf"|\b(?:{VAGUE_QUANTITIES})\b",
        re.I,
    ),
    "person": re.compile(
        rf"\b(?:{PERSON_TITLE}{PERSON_NAME}{PERSON_MORE}{{0,3}}|{NOT_A_NAME}{PERSON_NAME}{PERSON_MORE}{{1,3}})\b"
    ),
    "place": re.compile(r"(?:(?<=\bin )|(?<=\bat )|(?<=\bfrom )|(?<=\bnear )|(?<=\bto )|(?<=\bof ))[A-Z][\w'’-]+(?:\s+[A-Z][\w'’-]+){0,3}"),
    "phone": re.compile(r"(?<!\w)(?:\+?\d[\d ()-]{7,}\d)(?!\w)"),
    "email": re.compile(r"\b[\w.+-]+@[\w-]+\.[\w.-]+\b"),
    "url": re.compile(r"\bhttps?://\S+|\bwww\.[\w-]+\.\S+", re.I),
}

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
# Strict kinds: an answer without such a span is no answer at all.
STRICT_KINDS = frozenset({"phone", "email", "url"})
LATEST_RE = re.compile(
    r"\b(current(?:ly)?|latest|most recent(?:ly)?|recent(?:ly)?|now|today|these days|at present|presently|"
    r"newest|still|so far|to date|as of now|last|at the moment|right now|nowadays|as it stands|any more|anymore)\b",
    re.I)
FOLLOWUP_START_RE = re.compile(r"^\s*(and|but|also|so|then|what about|how about|what of|and what|and who|same)\b", re.I)
ANAPHORA_RE = re.compile(r"\b(he|she|they|it|that|this|those|these|him|her|them|his|their|its|there|then)\b", re.I)
# "Who said that?": the previous answer is what is being asked about.
REFERS_TO_ANSWER_RE = re.compile(
    r"^\s*(?:and\s+)?(?:who|whom|which \w+|where|when|why)\s+(?:\w+\s+)?"
    r"(?:said|say|says|wrote|write|stated|state|claimed|made|announced|found|reported|mean|meant|gave|give|"
    r"gives|provided|quoted|mentioned|described|told)\s+(?:that|this|it)\b",
    re.I)
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
TAG_RE = re.compile(r"<[^>]+>")
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
CURRENCY = "£$€¥"
YEAR_ONLY_RE = re.compile(r"(?:1[5-9]|20)\d\d")
HISTORY_TURN_CHARS = 2000
# "What about in the 2023 report?", "And at the hearing?": a follow-up that only names another occasion
# asks the previous question again.
OCCASION_FOLLOWUP_RE = re.compile(
    r"^\s*(?:(?:and|but|so)\s+)?(?:(?:what|how)\s+about\s+)?(?:in|at|during|after|before|for|from|since|by)\s+"
    r"(?:the|its|their|that|this|his|her|\d{4}\b)", re.I)


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
VAGUE_RE = re.compile(rf"(?:a\s+|the\s+)?(?:{VAGUE_QUANTITIES})", re.I)
# "One year on…": a number that measures time counts nothing else ("how many inspectors…").
TIME_UNITS = r"(?:years?|months?|weeks?|days?|hours?|minutes?|seconds?|decades?|centuries|century)"
TIME_COUNT_RE = re.compile(rf"\bhow (?:many|few)\s+(?:\w+\s+)?{TIME_UNITS}\b|\bhow (?:long|old|soon|often)\b", re.I)
TIME_SPAN_RE = re.compile(rf"\s*(?:-\s*)?{TIME_UNITS}\b", re.I)


# How precise a date the question asks for: "in what year…" needs a year, "on what date…" a day.
DATE_GRAIN_CUES: tuple[tuple[str, re.Pattern], ...] = (
    ("day", re.compile(r"\b(?:on )?(?:what|which) (?:exact )?(?:date|day)\b|\bon what\b", re.I)),
    ("month", re.compile(r"\b(?:what|which) month\b", re.I)),
    ("year", re.compile(r"\b(?:what|which) year\b", re.I)),
)
WEEKDAYS = "Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday"
DATE_GRAIN_PATTERNS: dict[str, re.Pattern] = {
    "year": re.compile(rf"\b{YEAR_ONLY_RE.pattern}(?:s|['’]s)?\b"),  # a decade ("the 1950s") is as precise
    "month": re.compile(rf"\b(?:{MONTHS})\b"),
    "day": re.compile(rf"\b\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?(?:{MONTHS})\b|\b(?:{MONTHS})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?\b"
                      rf"|\b\d{{1,2}}[/.]\d{{1,2}}[/.]\d{{2,4}}\b|\b(?:{WEEKDAYS})\b"),
}


# "When will…?": asks when something is to happen, which only a sentence speaking of the future answers.
# ("What will oxygen speed up?" is often timeless, so only "when" questions count.)
FUTURE_QUESTION_RE = re.compile(r"^\s*when\s+(?:will|shall|is\b[^?]*\b(?:due|expected|scheduled|planned|set)\b)", re.I)
FUTURE_RE = re.compile(
    r"\b(?:will|won't|would|shall|going to|expected|expects?|due|plans?|planned|planning|schedul\w*|next|upcoming|"
    r"future|intends?|intended|aims?|set to|later|coming|forthcoming|from now|proposed|proposals?)\b", re.I)


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


def answer_spans(text: str, info: QuestionInfo, precise: bool = True) -> list[tuple[int, int]]:
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


def find_spans(text: str, kind: str) -> list[tuple[int, int]]:
    pattern = SPAN_PATTERNS.get(kind)
    if pattern is None:
        return []
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
    return spans


def messages(history: Iterable) -> list[tuple[str, str]]:
    """(role, text) pairs from Gradio-style dicts or (user, assistant) tuples."""
    out: list[tuple[str, str]] = []
    for turn in history or ():
        if isinstance(turn, Mapping):
            role, content = str(turn.get("role", "")), turn.get("content", "")
            if isinstance(content, list):  # Gradio 6 content blocks
                content = " ".join(str(c.get("text", "")) if isinstance(c, Mapping) else str(c) for c in content)
            out.append((role, str(content or "")))
        elif isinstance(turn, Sequence) and not isinstance(turn, str) and len(turn) == 2:
            if turn[0]:
                out.append(("user", str(turn[0])))
            if turn[1]:
                out.append(("assistant", str(turn[1])))
    return out


def followup_parts(question: str, history: Iterable) -> tuple[str, ...]:
    """The texts to search for ``question`` given the earlier turns: the question itself, then, for a
    follow-up, the previous question and sometimes the previous answer's words.

    A short question, one that starts like a continuation ("and in 2018?") or one that points back
    ("who said that?") is searched together with the previous question; when it points at the
    previous answer, that answer's words are added too. A year in the follow-up replaces the years
    of the previous question.
    """
    # Earlier turns are cut like questions are, so a huge history cannot slow a follow-up down.
    turns = [(r, t[:HISTORY_TURN_CHARS]) for r, t in messages(history)]
    users = [clean_question(t) for r, t in turns if r == "user" and clean_question(t)]
    if not users:
        return (question,)
    short = len(terms(question)) <= 3
    if not (short or FOLLOWUP_START_RE.search(question) or ANAPHORA_RE.search(question)):
        return (question,)
    previous = users[-1]
    if years(question) or context_words(" " + question, after_words=0):
        # "And in 2018?", "What about in the report that rated it inadequate?": a new time or occasion
        # replaces the earlier one
        for clause in context_words(previous):
            previous = previous.replace(clause, " ")
        previous = re.sub(r"\s*,\s*(?=[?.!]|$)", "", " ".join(YEAR_RE.sub(" ", previous).split()))
    parts = [question, previous]
    answers = [t for r, t in turns if r == "assistant"]
    if answers and REFERS_TO_ANSWER_RE.search(question):
        last = clean_question(TAG_RE.sub(" ", answers[-1]))
        words = WORD_RE.findall(last)[:60]
        parts.append(" ".join(words))
    return tuple(p for p in parts if p)
