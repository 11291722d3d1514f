"""Who introduces a quotation that runs over several paragraphs (pure: no model, no index)."""

from __future__ import annotations

from qa.chunking import article_sentences
from qa.quotes import speakers
from qa.types import Article


def ordinals(text: str) -> tuple[dict[int, int], list[str]]:
    article = Article(id="a", title="T", date=None, source=None, url=None, text=text, sha256="x")
    sentences = article_sentences(article)
    return speakers(text, sentences), [s.text for s in sentences]


def test_a_run_of_quotation_paragraphs_is_introduced_by_the_colon_sentence_before_it():
    text = ("The council published an update.\n\nCllr Jane Smith, the cabinet member, said:\n\n"
            "\"We have hired ten social workers.\n\n\"Caseloads are down. Staff are happier.\n\n"
            "The report is online.\n")
    found, sentences = ordinals(text)
    intro = sentences.index("Cllr Jane Smith, the cabinet member, said:")
    quoted = [i for i, s in enumerate(sentences) if s.startswith("\"") or s == "Staff are happier."]
    assert found == {i: intro for i in quoted}
    assert sentences.index("The report is online.") not in found


def test_a_quotation_opened_in_the_paragraph_before_the_run_is_introduced_there():
    text = ("Cllr Jane Smith said: “I am proud of our staff. They work hard.\n\n"
            "“We were given £2 million. It paid for foster carers.\n\n"
            "“Children are safer,” she added.\n\nOther news followed.\n")
    found, sentences = ordinals(text)
    intro = next(i for i, s in enumerate(sentences) if s.startswith("Cllr Jane Smith said"))
    assert found[sentences.index("It paid for foster carers.")] == intro
    assert sentences.index("Other news followed.") not in found


def test_without_an_introduction_the_runs_first_paragraph_names_the_speaker():
    text = ("Intro text here.\n\n“We are sorry for the delay,” Cllr Ford said. “It will not happen again.\n\n"
            "“We have a plan.”\n")
    found, sentences = ordinals(text)
    last_of_first = sentences.index("“It will not happen again.")
    assert found[sentences.index("“We have a plan.”")] == last_of_first


def test_plain_paragraphs_have_no_speaker():
    found, _ = ordinals("One paragraph. Another sentence.\n\nA second paragraph with “a short quote” inside.\n")
    assert found == {}
