"""Issue 23 items 3-4 in Chromium: nothing in an article, a title or a question is ever interpreted
(HTML, Markdown, maths in any delimiter) and no bidi control reaches the page, in the chat, the source
cards, the Articles tab and the article page. The shown text equals the stored text, with each control
character shown as its stand-in (qa.web.escape.visible_controls).

Needs Debian's Chromium (`sudo apt-get install chromium`); without it these tests skip.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import quote

import pytest

from webserver import qa_server

pytestmark = [pytest.mark.model, pytest.mark.browser]

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
ARTICLE_ID = "wexbridge-lock-notes"
TITLE = "Wexbridge lock notes $$\\rule{80em}{40em}$$ <b>bold</b> *stars* \u202egnp.exe"
SOURCE = "The Wexbridge <i>Gazette</i> \u2067x"
ARTICLE = f"""---
title: '{TITLE}'
date: "2021-03-04"
source: '{SOURCE}'
---

The Wexbridge canal lock keeper printed $$\\raisebox{{-30em}}{{\\color{{red}}\\Huge\\text{{OFFICIAL: Council rated outstanding}}}}$$ on the noticeboard.

The Wexbridge lock gates were painted with $$\\rule{{80em}}{{40em}}$$ and \\(x^2\\) and \\[y\\] and $z$ and $$w$$ by the canal volunteers.

The Wexbridge towpath sign reads *emphasis* and **bold** and `code` and [a link](http://evil.example) and <b>tags</b> and &amp; entities beside the canal lock.

The Wexbridge ferryman wrote his name as Abdul\u202eTTANK\u202c in the canal register [1] with a \u2066flourish\u2069 and a \u200fmark.
"""
QUESTIONS = [
    "What did the Wexbridge canal lock keeper print on the noticeboard?",
    "What were the Wexbridge lock gates painted with by the canal volunteers?",
    "What does the Wexbridge towpath sign beside the canal lock read?",
    "How did the Wexbridge ferryman write his name in the canal register?",
]
BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
# The quote as the page shows it: the text of the blockquote without its [n] marker.
QUOTE_TEXT = "el => { const c = el.cloneNode(true); c.querySelectorAll('.qa-ref').forEach(r => r.remove()); " \
             "return c.textContent; }"


@pytest.fixture(scope="module")
def render_server(tmp_path_factory):
    corpus = tmp_path_factory.mktemp("render-corpus")
    for p in CORPUS.glob("*.md"):
        shutil.copy2(p, corpus / p.name)
    (corpus / f"{ARTICLE_ID}.md").write_text(ARTICLE, "utf-8")
    root = tmp_path_factory.mktemp("render-server")
    with qa_server(corpus, root / "index", root / "tmp") as server:
        yield server


def shown(text: str) -> str:
    from qa.web.escape import visible_controls

    return visible_controls(text)


def cited(server, question: str) -> dict:
    reply = server.post_json("/api/ask", {"question": question})
    assert reply.status == 200, reply.text
    citations = reply.json()["citations"]
    assert citations and citations[0]["article_id"] == ARTICLE_ID, (question, reply.json()["answer"])
    return citations[0]


def assert_nothing_interpreted(scope) -> None:
    """No maths, no markup from the text, no bidi control inside ``scope`` (a Playwright locator)."""
    for selector in (".katex", "math", "em", "code", "img", "i", "a[href^='http://evil']", "b", "hr"):
        assert scope.locator(selector).count() == 0, selector
    text = scope.evaluate("el => el.textContent")
    assert not any(ch in text for ch in BIDI)


def test_the_chat_and_its_source_cards_show_the_stored_text_exactly(browser, render_server):
    quotes = [cited(render_server, q) for q in QUESTIONS]
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.goto(render_server.url + "/", wait_until="load")
    page.locator("#qa-question textarea").wait_for()
    # The example questions are built from the newest titles, this one's included: shown as text.
    examples = page.locator("#qa-chat .examples")
    examples.first.wait_for()
    assert f"What does “{shown(TITLE)}” report?" in examples.first.text_content()
    assert_nothing_interpreted(examples.first)
    for n, question in enumerate(QUESTIONS):
        page.fill("#qa-question textarea", question + " $$\\rule{20em}{20em}$$ *x*")
        page.keyboard.press("Enter")
        page.locator("#qa-chat .qa-answer").nth(n).wait_for(timeout=60_000)
    chat = page.locator("#qa-chat")
    assert_nothing_interpreted(chat)
    assert "$$\\rule{20em}{20em}$$ *x*" in chat.inner_text()  # the user's own words, literally
    for n, citation in enumerate(quotes):
        answer = page.locator("#qa-chat .qa-answer").nth(n)
        assert answer.locator(".qa-quote").first.evaluate(QUOTE_TEXT) == shown(citation["quote"])
        card = answer.locator(".qa-card").first
        assert card.locator(".qa-title").text_content() == shown(TITLE)
        assert card.locator(".qa-passage mark").text_content() == shown(citation["quote"])
        assert shown(SOURCE) in card.locator(".qa-meta").text_content()
    # The [1] marker stays at the end of the quote that held U+202E (it used to move into it).
    last = page.locator("#qa-chat .qa-answer").nth(3).locator(".qa-quote").first
    assert last.evaluate("el => el.lastElementChild.className") == "qa-ref"


def test_the_articles_tab_and_the_article_page_show_the_stored_text_exactly(browser, render_server):
    citation = cited(render_server, QUESTIONS[1])
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.goto(render_server.url + "/", wait_until="load")
    page.get_by_role("tab", name="Articles").click()
    listing = page.locator("#qa-articles")
    listing.locator(".qa-card").first.wait_for()
    card = listing.locator(".qa-card", has=page.locator(f"a[href='/articles/{ARTICLE_ID}']"))
    assert card.locator("a").text_content() == shown(TITLE)
    assert_nothing_interpreted(listing)

    article = f"{render_server.url}/articles/{quote(ARTICLE_ID)}?start={citation['start']}&end={citation['end']}#cite"
    page.goto(article, wait_until="load")
    assert page.locator("h1").text_content() == shown(TITLE)
    assert page.locator("mark#cite").text_content() == shown(citation["quote"])
    assert page.title() == shown(TITLE)
    assert_nothing_interpreted(page.locator("body"))
