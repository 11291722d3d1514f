"""Pure HTML of the chat: answers with their source cards, the header, the article list (no gradio)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote, urlencode

from qa.answer import ABSTAIN_MESSAGE
from qa.types import Article
from qa.web.catalog import ArticlePage
from qa.web.article_page import format_date
from qa.web.escape import escape_text

PASSAGE_CONTEXT_CHARS = 260  # text shown either side of a cited sentence in a source card


_MARKDOWN_MARK = re.compile(r"[\\`*_\[\]~|#]")
_MARKDOWN_LIST = re.compile(r"^(\d+)(?=[.)])|^(?=[+\-=])")


def _esc(text: object) -> str:
    """Escape for HTML and keep each message one block: a blank line would end the
    raw-HTML block and let the chatbot's Markdown renderer reinterpret the rest."""
    return escape_text(text).replace("\r", "").replace("\n", " ")


def _fmt(value: Any) -> str:
    try:
        return f"{float(value):.3f}"
    except (TypeError, ValueError):
        return "–"


def article_link(article_id: str, start: int | None = None, end: int | None = None) -> str:
    """Address of the article page, the span highlighted and scrolled to."""
    path = "/articles/" + quote(str(article_id), safe="")
    if start is None or end is None:
        return path
    return f"{path}?{urlencode({'start': int(start), 'end': int(end)})}#cite"


def default_examples(newest: Sequence[Article]) -> list[str]:
    """Example questions built from titles (the newest: ``Catalog.page(limit=3).articles``),
    e.g. 'What does “<title>” report?'."""
    return [f"What does “{a.title}” report?" for a in newest]


def header_html(title: str, summary: str) -> str:
    """The page header: the collection's name and ``Catalog.summary()``."""
    return (
        f"<h1>{_esc(title)}</h1>"
        f'<p class="qa-sub"><span class="qa-count">{_esc(summary)}</span>'
        '<span class="qa-tag">Answers quote the articles word for word, with their sources.</span></p>'
    )


def article_card_html(article: Article) -> str:
    return (
        '<div class="qa-card">'
        f'<a href="{_esc(article_link(article.id))}" target="_blank" rel="noopener">{_esc(article.title)}</a>'
        f"{_meta_html(article.date, article.date_approximate, article.source)}</div>"
    )


def articles_html(page: ArticlePage) -> str:
    """One page of the collection as a list of links, with where it is in the whole."""
    if not page.articles:
        found = f" match “{_esc(page.query)}”" if page.query else " here"
        return f'<div class="qa-list"><p class="qa-pages">No articles{found}.</p></div>'
    first, last = page.offset + 1, page.offset + len(page.articles)
    matching = f" matching “{_esc(page.query)}”" if page.query else ""
    noun = "article" if page.total == 1 else "articles"
    where = f'<p class="qa-pages">{first}–{last} of {page.total} {noun}{matching}, newest first</p>'
    return f'<div class="qa-list">{where}{"".join(article_card_html(a) for a in page.articles)}</div>'


def user_message_html(question: str) -> str:
    """The user's words as literal text: HTML-escaped, and Markdown's marks backslash-escaped
    (not wrapped in a tag, so screen readers and the copy button get the words themselves)."""
    plain = escape_text(question, quote=False).replace("\r", "").replace("\n", " ").strip()
    text = _MARKDOWN_MARK.sub(r"\\\g<0>", plain)
    return _MARKDOWN_LIST.sub(lambda m: (m.group(1) or "") + "\\", text, count=1)


def error_html(message: str) -> str:
    return f'<div class="qa-answer"><p class="qa-error">{_esc(message)}</p></div>'


def _window(text: str, start: int, end: int, context: int = PASSAGE_CONTEXT_CHARS) -> tuple[int, int]:
    """Bounds of ``text`` around [start, end), widened by ``context`` and snapped to spaces."""
    lo = max(0, start - context)
    hi = min(len(text), end + context)
    if lo > 0:
        space = text.find(" ", lo, start)
        lo = space + 1 if space != -1 else lo
    if hi < len(text):
        space = text.rfind(" ", end, hi)
        hi = space if space != -1 else hi
    return lo, hi


def _passage_html(text: str, start: int | None = None, end: int | None = None) -> str:
    """A passage, trimmed around the cited sentence (marked) when there is one."""
    if start is None or end is None or not 0 <= start < end <= len(text):
        lo, hi = 0, len(text)
        if hi > 2 * PASSAGE_CONTEXT_CHARS:
            _, hi = _window(text, 0, 2 * PASSAGE_CONTEXT_CHARS, 0)
        body = _esc(text[lo:hi].strip())
    else:
        lo, hi = _window(text, start, end)
        body = (
            _esc(text[lo:start]) + "<mark>" + _esc(text[start:end]) + "</mark>" + _esc(text[end:hi])
        )
    before = "… " if lo > 0 else ""
    after = " …" if hi < len(text) else ""
    return f'<div class="qa-passage">{before}{body}{after}</div>'


def _scores_html(passage: Mapping[str, Any] | None, score: Any) -> str:
    parts = (passage or {}).get("scores") or {}
    bits = [f"score {_fmt(score)}"]
    bits += [f"{name} {_fmt(parts[name])}" for name in ("dense", "sentence", "lexical", "date") if name in parts]
    return f'<div class="qa-scores">{" · ".join(bits)}</div>'


def _meta_html(date: str | None, approximate: bool, source: str | None) -> str:
    meta = [format_date(date, approximate)]
    if source:
        meta.append(source)
    return f'<div class="qa-meta">{"".join(f"<span>{_esc(m)}</span>" for m in meta)}</div>'


def _open_html(article_id: str, start: int, end: int) -> str:
    """The card's link to the article page, the span highlighted."""
    return (f'<a class="qa-open" href="{_esc(article_link(article_id, start, end))}" target="_blank" '
            'rel="noopener">Open in article ↗</a>')


def _quote_html(citation: Mapping[str, Any], anchor: str) -> str:
    """The quote with its short answer (if any) in bold, then its marker."""
    quote_text = str(citation.get("quote", ""))
    start = citation.get("start", 0)
    short = citation.get("short_answer") or None
    body = _esc(quote_text)
    if isinstance(short, Mapping):
        s, e = short.get("start"), short.get("end")
        if isinstance(s, int) and isinstance(e, int) and start <= s < e <= start + len(quote_text):
            a, b = s - start, e - start
            body = f"{_esc(quote_text[:a])}<strong>{_esc(quote_text[a:b])}</strong>{_esc(quote_text[b:])}"
    number = int(citation.get("number", 0))
    return (
        f'<blockquote class="qa-quote">{body}'
        f'<a class="qa-ref" href="#{anchor}-{number}" title="source {number}">[{number}]</a></blockquote>'
    )


def _citation_card(citation: Mapping[str, Any], passage: Mapping[str, Any] | None,
                   article: Article | None, anchor: str) -> str:
    number = int(citation.get("number", 0))
    start, end = int(citation.get("start", 0)), int(citation.get("end", 0))
    if passage is not None and "text" in passage:
        p_start = int(passage.get("start", 0))
        excerpt = _passage_html(str(passage["text"]), start - p_start, end - p_start)
    elif article is not None:
        excerpt = _passage_html(article.text, start, end)
    else:
        excerpt = _passage_html(str(citation.get("quote", "")), 0, len(str(citation.get("quote", ""))))
    source = citation.get("source") or (article.source if article else None)
    return (
        f'<div class="qa-card" id="{anchor}-{number}">'
        f'<div class="qa-card-h"><span class="qa-num">{number}</span>'
        f'<span class="qa-title">{_esc(citation.get("title", ""))}</span></div>'
        f'{_meta_html(citation.get("date"), bool(citation.get("date_approximate")), source)}'
        f"{excerpt}"
        f'{_scores_html(passage, citation.get("score"))}'
        f'{_open_html(citation.get("article_id", ""), start, end)}</div>'
    )


def _passage_card(passage: Mapping[str, Any], article: Article | None, label: str | None) -> str:
    rank = int(passage.get("rank", 0))
    start, end = int(passage.get("start", 0)), int(passage.get("end", 0))
    title = passage.get("title") or (article.title if article else passage.get("article_id", ""))
    approximate = article.date_approximate if article else False
    source = article.source if article else None
    tag = f'<span class="qa-label">{_esc(label)}</span>' if label else ""
    return (
        '<div class="qa-card qa-closest">'
        f'<div class="qa-card-h"><span class="qa-num qa-near">{rank}</span>'
        f'<span class="qa-title">{_esc(title)}</span></div>'
        f"{tag}"
        f'{_meta_html(passage.get("date"), approximate, source)}'
        f'{_passage_html(str(passage.get("text", "")))}'
        f'{_scores_html(passage, passage.get("score"))}'
        f'{_open_html(passage.get("article_id", ""), start, end)}</div>'
    )


def answer_html(answer: Mapping[str, Any], articles: Mapping[str, Article] | None = None,
                anchor: str = "qa-src") -> str:
    """One assistant message: quotes with [n] markers, notices, then the source cards.

    Works on ``Answer.to_dict()`` so the web API and the UI show the same thing. Every
    piece of text is escaped; the result is one HTML block without blank lines.

    Args:
        answer: ``Answer.to_dict()``.
        articles: the collection, for publishers and dates of passages.
        anchor: prefix of the source cards' ids, unique per message ("[1]" links to "<anchor>-1").
    """
    articles = articles or {}
    anchor = _esc(anchor)
    passages = list(answer.get("passages") or [])
    by_chunk = {p.get("chunk_id"): p for p in passages}
    parts = ['<div class="qa-answer">']
    scope = answer.get("filter")
    if isinstance(scope, Mapping) and scope.get("summary"):  # the filter it was answered within
        parts.append(f'<p class="qa-scope">{_esc(str(scope["summary"]).capitalize())}</p>')
    if answer.get("abstained"):
        parts.append(f'<p class="qa-abstain-msg">{_esc(answer.get("message") or ABSTAIN_MESSAGE)}</p>')
    else:
        if answer.get("dated"):
            parts.append(
                '<p class="qa-note">The sources differ over time, so the quotes are shown newest first.</p>'
            )
        parts.extend(_quote_html(c, anchor) for c in answer.get("citations") or [])
    parts.extend(f'<p class="qa-notice">{_esc(n)}</p>' for n in answer.get("notices") or [])

    citations = list(answer.get("citations") or [])
    if answer.get("abstained"):
        if passages:
            parts.append('<div class="qa-sources-h">Closest passages</div>')
            parts.extend(
                _passage_card(p, articles.get(p.get("article_id")), "closest, not an answer")
                for p in passages[:3]
            )
    elif citations:
        parts.append('<div class="qa-sources-h">Sources</div>')
        parts.extend(
            _citation_card(c, by_chunk.get(c.get("chunk_id")), articles.get(c.get("article_id")), anchor)
            for c in citations
        )
        cited = {c.get("chunk_id") for c in citations}
        others = [p for p in passages if p.get("chunk_id") not in cited]
        if others:
            parts.append(
                f"<details><summary>Other passages searched ({len(others)})</summary>"
                + "".join(_passage_card(p, articles.get(p.get("article_id")), None) for p in others)
                + "</details>"
            )
    parts.append("</div>")
    return "".join(parts)
