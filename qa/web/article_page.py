"""Article page: one article as a standalone HTML page with its cited spans highlighted (pure)."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable, Mapping
from typing import Any

from qa.types import Article
from qa.web.escape import escape_text

MAX_SPANS = 32  # more marks than this is no longer a citation; the rest are dropped
MAX_OFFSET_DIGITS = 9  # "start=99999999999999999999" is dropped before int() sees it

# Scrolls the first highlight into view even when the URL lacks "#cite" (or the browser
# restored an old scroll position); the CSP below allows this exact script and no other.
_SCROLL_SCRIPT = (
    "window.addEventListener('load',function(){"
    "var m=document.getElementById('cite');"
    "if(m){m.scrollIntoView({block:'center'});}"
    "});"
)
_SCRIPT_HASH = base64.b64encode(hashlib.sha256(_SCROLL_SCRIPT.encode()).digest()).decode()

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; "
    "style-src 'unsafe-inline'; "
    f"script-src 'sha256-{_SCRIPT_HASH}'; "
    "img-src 'none'; "
    "base-uri 'none'; "
    "form-action 'none'; "
    "frame-ancestors 'self'"
)
"""Header to send with both pages: inline styles, the one scroll script, nothing fetched."""

_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")
_PARAGRAPH_BREAK = re.compile(r"\n[ \t\r\f\v]*\n")
_DIGITS = re.compile(r"[0-9]{1,%d}" % MAX_OFFSET_DIGITS)

_CSS = """
:root {
  color-scheme: light dark;
  --bg: #f6f5f1; --paper: #ffffff; --ink: #1f2328; --muted: #5f6670;
  --rule: #e3e1da; --accent: #3b5bdb; --mark: #fff0a6; --mark-edge: #e6c229;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #16181c; --paper: #1e2127; --ink: #e6e6e3; --muted: #a0a6ae;
    --rule: #30343b; --accent: #8ea2ff; --mark: #6b5a12; --mark-edge: #c9a227;
  }
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body {
  margin: 0; background: var(--bg); color: var(--ink);
  font: 18px/1.65 Georgia, "Iowan Old Style", "Times New Roman", serif;
}
.bar {
  font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  max-width: 46rem; margin: 0 auto; padding: 1rem 1.25rem 0;
}
.bar a { color: var(--accent); text-decoration: none; }
.bar a:hover { text-decoration: underline; }
article {
  max-width: 46rem; margin: 0.75rem auto 3rem; padding: 2rem 2.25rem 2.5rem;
  background: var(--paper); border: 1px solid var(--rule); border-radius: 12px;
}
h1 { font-size: 1.75rem; line-height: 1.25; margin: 0 0 0.75rem; }
.meta {
  font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color: var(--muted); display: flex; flex-wrap: wrap; gap: 0.25rem 1rem;
  padding-bottom: 1rem; margin-bottom: 1.5rem; border-bottom: 1px solid var(--rule);
}
.meta a { color: var(--accent); }
.meta .note { flex-basis: 100%; font-style: italic; }
.cites {
  font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  margin: -0.5rem 0 1.5rem; color: var(--muted);
}
.cites a { color: var(--accent); margin-left: 0.35rem; }
p { margin: 0 0 1.1em; overflow-wrap: anywhere; }
mark {
  background: var(--mark); color: inherit; padding: 0.05em 0.1em; border-radius: 3px;
  box-shadow: 0 0 0 1px var(--mark-edge); scroll-margin: 35vh 0;
}
.missing { text-align: center; }
.missing code { overflow-wrap: anywhere; }
@media (max-width: 600px) {
  body { font-size: 17px; }
  article { margin: 0.5rem 0 2rem; padding: 1.25rem 1.1rem 1.5rem; border-radius: 0;
            border-left: 0; border-right: 0; }
  h1 { font-size: 1.4rem; }
}
"""


def format_date(date: str | None, approximate: bool = False) -> str:
    """Readable form of an ISO date as precise as known: "2024" / "January 2024" / "15 January 2024".

    Args:
        date: "YYYY", "YYYY-MM" or "YYYY-MM-DD"; anything else is shown as given.
        approximate: prefix "approx." (the date was inferred, not printed).

    Returns:
        The text, or "date unknown" when there is no date.
    """
    if not date:
        return "date unknown"
    text = date
    match = re.fullmatch(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?", date)
    if match:
        year, month, day = match.groups()
        if month and 1 <= int(month) <= 12:
            text = f"{_MONTHS[int(month) - 1]} {year}"
            if day and 1 <= int(day) <= 31:
                text = f"{int(day)} {text}"
        else:
            text = year
    return f"approx. {text}" if approximate else text


def safe_url(url: str | None) -> str | None:
    """The URL when it is http(s), else None: never a javascript: or data: link."""
    if not url:
        return None
    url = url.strip()
    if re.match(r"(?i)https?://[^\s/]", url) and not any(ord(c) < 32 for c in url):
        return url
    return None


def _param_values(query_params: Any, name: str) -> list[str]:
    """All values of one query parameter from a Starlette QueryParams, a dict or pairs."""
    try:
        if query_params is None:
            return []
        if hasattr(query_params, "getlist"):
            values = query_params.getlist(name)
        elif isinstance(query_params, Mapping):
            values = query_params.get(name, [])
            if isinstance(values, (str, bytes, int)):
                values = [values]
        else:
            values = [v for k, v in query_params if k == name]
        out = []
        for v in list(values)[: MAX_SPANS * 4]:
            if isinstance(v, bytes):
                v = v.decode("utf-8", "replace")
            out.append(str(v))
        return out
    except Exception:  # a query string is user input: never fail on its shape
        return []


def _to_offset(value: str) -> int | None:
    value = value.strip()
    if _DIGITS.fullmatch(value):
        return int(value)
    return None


def merge_spans(spans: Iterable[tuple[int, int]], text_length: int | None = None) -> list[tuple[int, int]]:
    """Drop invalid spans, sort, and merge overlapping ones.

    Args:
        spans: (start, end) character offsets.
        text_length: when given, spans reaching past it are dropped.

    Returns:
        Non-empty, non-overlapping spans in order, at most ``MAX_SPANS``.
    """
    valid = []
    for span in spans:
        try:
            start, end = span
        except (TypeError, ValueError):
            continue
        if type(start) is not int or type(end) is not int:
            continue
        if start < 0 or end <= start:
            continue
        if text_length is not None and end > text_length:
            continue
        valid.append((start, end))
    merged: list[tuple[int, int]] = []
    for start, end in sorted(valid):
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged[:MAX_SPANS]


def parse_spans(query_params: Any, text_length: int | None = None) -> list[tuple[int, int]]:
    """Spans to highlight, from ``start``/``end`` (repeatable, paired in order) and ``spans=10-20,30-40``.

    Malformed, negative, reversed, empty, out-of-range and huge values are dropped
    silently: this never raises.

    Args:
        query_params: Starlette ``request.query_params``, a dict (values str or list) or (key, value) pairs.
        text_length: length of the article text; spans reaching past it are dropped.

    Returns:
        Sorted, merged (start, end) spans.

    Usage example:
        parse_spans({"start": "10", "end": "20", "spans": "30-40"})  # [(10, 20), (30, 40)]
    """
    spans: list[tuple[int, int]] = []
    starts = _param_values(query_params, "start")
    ends = _param_values(query_params, "end")
    for start, end in zip(starts, ends):
        s, e = _to_offset(start), _to_offset(end)
        if s is not None and e is not None:
            spans.append((s, e))
    for value in _param_values(query_params, "spans"):
        for part in value.split(",")[: MAX_SPANS * 2]:
            bounds = part.split("-")
            if len(bounds) != 2:
                continue
            s, e = _to_offset(bounds[0]), _to_offset(bounds[1])
            if s is not None and e is not None:
                spans.append((s, e))
    return merge_spans(spans, text_length)


def _paragraphs(text: str) -> list[tuple[int, int]]:
    """(start, end) of each paragraph: runs of text between blank lines, edges trimmed."""
    out = []
    pos = 0
    for match in [*_PARAGRAPH_BREAK.finditer(text), None]:
        stop = match.start() if match else len(text)
        chunk = text[pos:stop]
        lead = len(chunk) - len(chunk.lstrip())
        trail = len(chunk.rstrip())
        if trail > lead:
            out.append((pos + lead, pos + trail))
        if match:
            pos = match.end()
    return out


def _escape_lines(text: str) -> str:
    return "<br>".join(escape_text(line) for line in text.split("\n"))


def mark_id(n: int) -> str:
    """Anchor id of the n-th highlight (1-based): "cite", "cite-2", ..."""
    return "cite" if n == 1 else f"cite-{n}"


def render_text(text: str, spans: list[tuple[int, int]]) -> tuple[str, int]:
    """Article text as escaped ``<p>`` paragraphs with ``<mark>`` around the spans.

    A span crossing a paragraph break is marked in each paragraph; only its first
    piece carries the id.

    Returns:
        (HTML, number of spans that produced a visible mark).
    """
    spans = merge_spans(spans, len(text))
    parts: list[str] = []
    shown = 0
    seen: set[int] = set()
    for p_start, p_end in _paragraphs(text):
        parts.append("<p>")
        pos = p_start
        for index, (s, e) in enumerate(spans):
            s, e = max(s, p_start), min(e, p_end)
            if e <= s or s < pos:
                continue
            parts.append(_escape_lines(text[pos:s]))
            attrs = ""
            if index not in seen:
                seen.add(index)
                shown += 1
                attrs = f' id="{mark_id(shown)}"'
            parts.append(f'<mark{attrs}>{_escape_lines(text[s:e])}</mark>')
            pos = e
        parts.append(_escape_lines(text[pos:p_end]))
        parts.append("</p>\n")
    return "".join(parts), shown


def _page(title: str, body: str, script: bool = False) -> str:
    tail = f"<script>{_SCROLL_SCRIPT}</script>" if script else ""
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        "<meta name=\"referrer\" content=\"no-referrer\">\n"
        f"<title>{escape_text(title)}</title>\n<style>{_CSS}</style>\n</head>\n"
        f"<body>\n{body}\n{tail}</body>\n</html>\n"
    )


def render_article_page(article: Article, spans: list[tuple[int, int]]) -> str:
    """The full HTML page of one article, cited spans highlighted and the first scrolled into view.

    Every piece of article text is HTML-escaped. Spans outside the text are ignored.

    Args:
        article: the article to show.
        spans: (start, end) offsets into ``article.text``, e.g. from ``parse_spans``.

    Returns:
        A complete HTML document (serve it with ``CONTENT_SECURITY_POLICY``).
    """
    body_html, shown = render_text(article.text, spans)
    meta = [f'<span class="date">{escape_text(format_date(article.date, article.date_approximate))}</span>']
    if article.source:
        meta.append(f'<span class="source">{escape_text(article.source)}</span>')
    url = safe_url(article.url)
    if url:
        meta.append(
            f'<a class="original" href="{escape_text(url, quote=True)}" rel="noopener noreferrer" '
            'target="_blank">Original article ↗</a>'
        )
    if article.date_note and article.date_approximate:
        meta.append(f'<span class="note">{escape_text(article.date_note)}</span>')
    cites = ""
    if shown:
        links = "".join(
            f'<a href="#{mark_id(n)}">{n}</a>' for n in range(1, shown + 1)
        ) if shown > 1 else ""
        label = "1 cited passage highlighted" if shown == 1 else f"{shown} cited passages highlighted:"
        cites = f'<div class="cites">{label}{links}</div>'
    body = (
        '<nav class="bar"><a href="/">← Back to the chat</a></nav>\n'
        "<article>\n"
        f"<h1>{escape_text(article.title)}</h1>\n"
        f'<div class="meta">{"".join(meta)}</div>\n'
        f"{cites}\n<div class=\"text\">\n{body_html}</div>\n"
        "</article>"
    )
    return _page(article.title, body, script=shown > 0)


def render_not_found(article_id: str) -> str:
    """The 404 page for an id that is not in the collection (the id is escaped)."""
    shown_id = article_id if len(article_id) <= 200 else article_id[:200] + "…"
    body = (
        '<nav class="bar"><a href="/">← Back to the chat</a></nav>\n'
        '<article class="missing">\n<h1>Article not found</h1>\n'
        f"<p>There is no article with the id <code>{escape_text(shown_id)}</code> in this collection.</p>\n"
        '<p><a href="/">Ask a question</a> to find the articles that are.</p>\n'
        "</article>"
    )
    return _page("Article not found", body)
