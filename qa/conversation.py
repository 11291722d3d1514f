"""The chat so far: its turns, whether a question follows up on them, and what a follow-up searches (pure)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum, auto
from typing import Iterable, Mapping, Sequence

from qa.question import QuestionInfo, analyze, context_words
from qa.text import WORD_RE, YEAR_RE, clean_question, terms, years

FOLLOWUP_START_RE = re.compile(r"^\s*(and|but|also|so|then|what about|how about|what of|and what|and who|same)\b", re.I)


ANAPHORA_RE = re.compile(r"\b(he|she|they|it|that|this|those|these|him|her|them|his|their|its|there|then)\b", re.I)


# "Who said that?": the previous answer is what is being asked about.
REFERS_TO_ANSWER_RE = re.compile(
    r"^\s*(?:and\s+)?(?:who|whom|which \w+|where|when|why)\s+(?:\w+\s+)?"
    r"(?:said|say|says|wrote|write|stated|state|claimed|made|announced|found|reported|mean|meant|gave|give|"
    r"gives|provided|quoted|mentioned|described|told)\s+(?:that|this|it)\b",
    re.I)


TAG_RE = re.compile(r"<[^<>]+>")  # not [^>]: a text of many "<" would be read to its end from each


HISTORY_TURN_CHARS = 2000


# "What about in the 2023 report?", "And at the hearing?": a follow-up that only names another occasion
# asks the previous question again.
OCCASION_FOLLOWUP_RE = re.compile(
    r"^\s*(?:(?:and|but|so)\s+)?(?:(?:what|how)\s+about\s+)?(?:in|at|during|after|before|for|from|since|by)\s+"
    r"(?:the|its|their|that|this|his|her|\d{4}\b)", re.I)


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
        previous = re.sub(r"(?<!\s)\s*,\s*(?=[?.!]|$)", "", " ".join(YEAR_RE.sub(" ", previous).split()))
    parts = [question, previous]
    answers = [t for r, t in turns if r == "assistant"]
    if answers and REFERS_TO_ANSWER_RE.search(question):
        last = clean_question(TAG_RE.sub(" ", answers[-1]))
        words = WORD_RE.findall(last)[:60]
        parts.append(" ".join(words))
    return tuple(p for p in parts if p)


class FollowUp(Enum):
    """How a question depends on the chat before it."""

    NONE = auto()  # a question of its own, or the first of the chat
    ATTRIBUTION = auto()  # "Who said that?": it asks about the previous answer itself
    OCCASION = auto()  # "What about in 2018?": the previous question, at another time or occasion
    FOCUSED = auto()  # a follow-up with words of its own, which weigh more than the earlier turn's
    CONTINUATION = auto()  # a follow-up with hardly a word of its own ("And then?")


def followup_kind(question: str, parts: tuple[str, ...]) -> FollowUp:
    """The kind of follow-up ``question`` is, given what it is searched with (``followup_parts``)."""
    if len(parts) < 2:
        return FollowUp.NONE
    if REFERS_TO_ANSWER_RE.search(question):
        return FollowUp.ATTRIBUTION
    if OCCASION_FOLLOWUP_RE.search(question):
        return FollowUp.OCCASION
    return FollowUp.FOCUSED if len(set(terms(question))) >= 2 else FollowUp.CONTINUATION


@dataclass(frozen=True)
class Question:
    """One turn of the chat, read: what it asks and what is searched for it.

    Usage example:
        q = read_question("And in 2011?", [{"role": "user", "content": "What did the 2018 report say?"}])
        q.followup  # FollowUp.OCCASION
        q.query     # "And in 2011? What did the report say?"
    """

    text: str  # the question, cleaned
    cues: QuestionInfo  # its answer type, time cues, speaker or role (qa.question.analyze)
    parts: tuple[str, ...]  # what is searched: the question, then, for a follow-up, its earlier turn(s)
    followup: FollowUp = FollowUp.NONE
    previous_answer: str = ""  # the chat's last answer, as plain text

    @property
    def query(self) -> str:
        return " ".join(self.parts)


def read_question(text: str, history: Iterable = ()) -> Question:
    """Read a (cleaned) question in the light of the chat before it."""
    parts = followup_parts(text, history)
    previous = next((t for r, t in reversed(messages(history)) if r == "assistant"), "")
    return Question(text, analyze(text), parts, followup_kind(text, parts), previous)
