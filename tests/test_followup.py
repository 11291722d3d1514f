"""Follow-up questions: what is searched with them, and the cache of recent question vectors (pure)."""

from __future__ import annotations

import numpy as np

from qa.embedding import RecentVectors
from qa.conversation import followup_parts

HISTORY = [{"role": "user", "content": "What did the 2018 inspection say about care leavers?"},
           {"role": "assistant", "content": "“Care leavers are well supported,” the report said."}]


def test_a_question_without_history_is_searched_alone():
    assert followup_parts("Who led the inspection?", []) == ("Who led the inspection?",)


def test_a_question_that_stands_alone_ignores_the_history():
    q = "Which council department runs the fostering service for the borough?"
    assert followup_parts(q, HISTORY) == (q,)


def test_a_short_follow_up_brings_the_previous_question_and_its_year_gives_way():
    parts = followup_parts("And in 2011?", HISTORY)
    assert parts == ("And in 2011?", "What did the inspection say about care leavers?")


def test_who_said_that_also_brings_the_previous_answers_words():
    parts = followup_parts("Who said that?", HISTORY)
    assert len(parts) == 3 and parts[2] == "Care leavers are well supported the report said"


def test_recent_vectors_keeps_the_newest_and_forgets_the_oldest():
    recent = RecentVectors(2)
    recent.put("a", np.ones(3))
    recent.put("b", np.zeros(3))
    assert recent.get("a") is not None  # "a" is now the most recently used
    recent.put("c", np.ones(3))
    assert recent.get("b") is None and recent.get("a") is not None and recent.get("c") is not None
    assert len(recent) == 2


def test_a_follow_up_naming_another_occasion_replaces_the_earlier_one():
    from qa.conversation import OCCASION_FOLLOWUP_RE

    history = [{"role": "user", "content": "What did the 2018 Ofsted report say about the hub, according to inspectors?"},
               {"role": "assistant", "content": "It was praised."}]
    parts = followup_parts("What about in the report that rated the council inadequate?", history)
    assert parts == ("What about in the report that rated the council inadequate?",
                     "What did the Ofsted report say about the hub?")
    assert OCCASION_FOLLOWUP_RE.search("What about in the report that rated it inadequate?")
    assert OCCASION_FOLLOWUP_RE.search("And in 2019?")
    assert not OCCASION_FOLLOWUP_RE.search("What about the staff?")
