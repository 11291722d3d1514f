"""Web chat: a Gradio UI and an article page over pipeline.Engine."""

from __future__ import annotations

import html
import json
import logging
import re
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote, urlencode

from qa.article_page import (
    CONTENT_SECURITY_POLICY,
    format_date,
    parse_spans,
    render_article_page,
    render_not_found,
)
from qa.config import int_from_env
from qa.errors import QAError, UsageError
from qa.types import Article

log = logging.getLogger(__name__)

ABSTAIN_MESSAGE = "I couldn't find this in the articles."
DEFAULT_TITLE = "News articles"
MAX_HISTORY_MESSAGES = 20  # older turns do not help a follow-up and only slow the query
MAX_QUESTION_CHARS = 10_000  # bounds the request only: the engine cuts longer questions and says so
PASSAGE_CONTEXT_CHARS = 260  # text shown either side of a cited sentence in a source card
RELOAD_INTERVAL_S = 5.0  # how often, at most, a question checks the index on disk
MAX_REQUEST_BYTES = 1024 * 1024  # uvicorn and Gradio read any body whole; the chat resends its log (~6 KB a turn)
CONCURRENCY_ENV = "QA_CONCURRENCY"  # questions answered at once
DEFAULT_CONCURRENCY = 2  # chosen from benchmarks/load.md: best throughput of 1, 2, 4 on two cores
# Gradio keeps ~0.1 MB per session (its copy of the page's block config), and every API call
# without a session (README's curl) is a new one; its default cap of 10,000 sessions is ~1 GB.
SESSIONS_ENV = "QA_SESSIONS"
DEFAULT_SESSIONS = 500
EMPTY_QUESTION = "Type a question first."

# Gradio scopes the custom css under ".gradio-container .contain", which leaves the page
# container itself out of reach; these two rules go into <head> unchanged.
_HEAD = """<style>
.gradio-container { max-width: 980px !important; min-width: 0 !important; margin: 0 auto !important; }
@media (max-width: 640px) { .gradio-container > .main { padding-left: 10px !important; padding-right: 10px !important; } }
</style>"""

_CSS = """
#qa-header { padding: 0.5rem 0.25rem 0; }
#qa-header h1 { font-size: 1.55rem; line-height: 1.2; margin: 0 0 0.3rem; font-weight: 700; letter-spacing: -0.01em; }
#qa-header .qa-sub { display: flex; flex-wrap: wrap; gap: 0.2rem 0.9rem; margin: 0; font-size: 0.92rem;
  color: var(--body-text-color-subdued); }
#qa-header .qa-count { color: var(--body-text-color); font-weight: 600; }
#qa-actions { align-items: center; flex-wrap: nowrap; gap: 0.75rem; }
#qa-hint { padding: 0 0.25rem; }
#qa-hint .qa-hint { margin: 0; font-size: 0.82rem; color: var(--body-text-color-subdued); }
.qa-user { margin: 0; }
#qa-chat .placeholder-content { justify-content: center; gap: 1.25rem; }
#qa-chat .placeholder { font-size: 1rem; max-width: 36rem; margin: 0 auto; text-align: center; }
#qa-chat .examples {
  max-width: 44rem; margin: 0 auto; width: 100%;
  grid-template-columns: repeat(auto-fit, minmax(min(100%, 220px), 1fr)) !important;
}
#qa-chat .examples .example {
  border: 1px solid var(--border-color-primary); border-radius: 12px; background: var(--background-fill-secondary);
  text-align: left; transition: border-color 0.15s; min-width: 0 !important; width: auto !important;
  max-width: none !important;
}
#qa-chat .examples .example:hover { border-color: var(--color-accent); }
#qa-chat .message-row.bot-row { margin-left: 8px; margin-right: 8px; max-width: calc(100% - 16px); }
.qa-answer { display: flex; flex-direction: column; gap: 0.6rem; padding: 0.4rem 0.1rem 0.2rem; }
.qa-quote {
  margin: 0 !important; padding: 0.15rem 0 0.15rem 0.85rem; border-left: 3px solid var(--color-accent);
  font-size: 1.02rem; line-height: 1.55;
}
.qa-quote strong { background: var(--color-accent-soft); border-radius: 3px; padding: 0 0.15em; }
.qa-ref {
  display: inline-block; font-size: 0.75rem; font-weight: 600; line-height: 1; vertical-align: 0.2em;
  color: var(--color-accent); margin-left: 0.2rem; text-decoration: none;
}
.qa-note, .qa-notice {
  margin: 0; font-size: 0.85rem; color: var(--body-text-color-subdued);
}
.qa-notice::before { content: "ⓘ "; }
.qa-abstain-msg { margin: 0; font-weight: 600; font-size: 1.02rem; }
.qa-error { margin: 0; color: var(--error-text-color, #b42318); font-weight: 600; }
.qa-sources-h {
  font-size: 0.72rem; letter-spacing: 0.06em; text-transform: uppercase; font-weight: 700;
  color: var(--body-text-color-subdued); margin: 0.4rem 0 0;
}
.qa-card {
  border: 1px solid var(--border-color-primary); border-radius: 10px; padding: 0.7rem 0.85rem;
  background: var(--background-fill-primary); display: flex; flex-direction: column; gap: 0.35rem;
}
.qa-card-h { display: flex; gap: 0.5rem; align-items: baseline; }
.qa-num {
  flex: none; min-width: 1.4rem; height: 1.4rem; border-radius: 999px; font-size: 0.75rem; font-weight: 700;
  display: inline-flex; align-items: center; justify-content: center;
  background: var(--color-accent); color: white;
}
.qa-num.qa-near { background: var(--neutral-400); }
.qa-title { font-weight: 650; line-height: 1.3; }
.qa-meta { font-size: 0.8rem; color: var(--body-text-color-subdued); display: flex; flex-wrap: wrap; gap: 0.1rem 0.7rem; }
.qa-passage { font-size: 0.88rem; line-height: 1.5; color: var(--body-text-color); }
.qa-passage mark {
  background: #fff0a6; color: #1f2328; border-radius: 3px; padding: 0 0.1em;
}
.qa-scores { font-size: 0.75rem; color: var(--body-text-color-subdued); font-variant-numeric: tabular-nums; }
.qa-open { font-size: 0.85rem; font-weight: 600; align-self: flex-start; color: var(--color-accent); }
.qa-label {
  font-size: 0.7rem; font-weight: 700; text-transform: uppercase; letter-spacing: 0.05em;
  color: var(--body-text-color-subdued); border: 1px dashed var(--border-color-primary);
  border-radius: 999px; padding: 0 0.45rem; align-self: flex-start;
}
.qa-answer details > summary { cursor: pointer; font-size: 0.85rem; color: var(--body-text-color-subdued); }
.qa-answer details[open] > summary { margin-bottom: 0.5rem; }
.qa-answer details .qa-card { margin-bottom: 0.5rem; }
#qa-articles .qa-list { display: flex; flex-direction: column; gap: 0.6rem; padding-top: 0.5rem; }
#qa-articles .qa-card a { font-weight: 650; font-size: 1rem; text-decoration: none; color: var(--body-text-color);
  text-align: left; align-self: flex-start; }
#qa-articles .qa-card a:hover { color: var(--color-accent); text-decoration: underline; }
footer { opacity: 0.7; }
@media (max-width: 640px) {
  #qa-header h1 { font-size: 1.2rem; }
  #qa-header .qa-sub { font-size: 0.82rem; }
  #qa-header .qa-tag, #qa-hint { display: none; }
  .qa-card { padding: 0.6rem 0.65rem; }
}
"""


_PLACEHOLDER = (
    "**Ask about the articles.** Answers are quoted word for word, "
    "each with its source and a link to the passage."
)

# Scroll only the chat's own log (never the page): to the end once a question is added,
# then to the newest question so its answer reads from the top; the chatbot's
# autoscroll would leave the reader at the end of the source cards.
_SCROLL_END_JS = """() => {
  const log = document.querySelector('#qa-chat [role=log]');
  if (log) { log.scrollTop = log.scrollHeight; }
}"""
_SCROLL_JS = """() => {
  const log = document.querySelector('#qa-chat [role=log]');
  const rows = document.querySelectorAll('#qa-chat .message-row.user-row');
  const last = rows[rows.length - 1];
  if (log && last) {
    const top = log.scrollTop + last.getBoundingClientRect().top - log.getBoundingClientRect().top - 8;
    log.scrollTo({top: top, behavior: 'smooth'});
  }
}"""

# ---------------------------------------------------------------- pure rendering


_MARKDOWN_MARK = re.compile(r"[\\`*_\[\]~|#]")
_MARKDOWN_LIST = re.compile(r"^(\d+)(?=[.)])|^(?=[+\-=])")


def _esc(text: object) -> str:
    """Escape for HTML and keep each message one block: a blank line would end the
    raw-HTML block and let the chatbot's Markdown renderer reinterpret the rest."""
    return html.escape(str(text)).replace("\r", "").replace("\n", " ")


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


def collection_summary(articles: Mapping[str, Article]) -> str:
    """ "5 articles · approx. 2010 – approx. December 2024" (plain text)."""
    count = len(articles)
    noun = "article" if count == 1 else "articles"
    dated = sorted((a.date, a.date_approximate) for a in articles.values() if a.date)
    if not dated:
        return f"{count} {noun}"
    first, last = dated[0], dated[-1]
    if first == last:
        return f"{count} {noun} · {format_date(*first)}"
    return f"{count} {noun} · {format_date(*first)} – {format_date(*last)}"


def default_examples(articles: Mapping[str, Article], limit: int = 3) -> list[str]:
    """Example questions built from the newest titles, e.g. 'What does “<title>” report?'."""
    newest = sorted(articles.values(), key=lambda a: (a.date or "", a.id), reverse=True)
    return [f"What does “{a.title}” report?" for a in newest[:limit]]


def header_html(title: str, articles: Mapping[str, Article]) -> str:
    return (
        f"<h1>{_esc(title)}</h1>"
        f'<p class="qa-sub"><span class="qa-count">{_esc(collection_summary(articles))}</span>'
        '<span class="qa-tag">Answers quote the articles word for word, with their sources.</span></p>'
    )


def articles_html(articles: Mapping[str, Article]) -> str:
    """The collection as a list of links, newest first."""
    items = []
    for a in sorted(articles.values(), key=lambda a: (a.date or "", a.id), reverse=True):
        meta = [format_date(a.date, a.date_approximate)]
        if a.source:
            meta.append(a.source)
        items.append(
            '<div class="qa-card">'
            f'<a href="{_esc(article_link(a.id))}" target="_blank" rel="noopener">{_esc(a.title)}</a>'
            f'<div class="qa-meta">{"".join(f"<span>{_esc(m)}</span>" for m in meta)}</div>'
            "</div>"
        )
    return f'<div class="qa-list">{"".join(items)}</div>'


def user_message_html(question: str) -> str:
    """The user's words as literal text: HTML-escaped, and Markdown's marks backslash-escaped
    (not wrapped in a tag, so screen readers and the copy button get the words themselves)."""
    plain = html.escape(question, quote=False).replace("\r", "").replace("\n", " ").strip()
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
        f'<a class="qa-open" href="{_esc(article_link(citation.get("article_id", ""), start, end))}" '
        'target="_blank" rel="noopener">Open in article ↗</a>'
        "</div>"
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
        f'<a class="qa-open" href="{_esc(article_link(passage.get("article_id", ""), start, end))}" '
        'target="_blank" rel="noopener">Open in article ↗</a>'
        "</div>"
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


def normalize_history(history: Any) -> list[dict[str, str]]:
    """History from the API (a list or its JSON text) as [{"role", "content"}], newest last.

    Raises:
        UsageError: when it is neither a list nor a JSON list.
    """
    if history is None or history == "":
        return []
    if isinstance(history, (str, bytes)):
        try:
            history = json.loads(history)
        except ValueError as exc:
            raise UsageError(f"history must be a JSON list of {{role, content}} objects: {exc}") from None
    if not isinstance(history, Sequence) or isinstance(history, (str, bytes)):
        raise UsageError("history must be a list of {role, content} objects.")
    out = []
    for item in history:
        if not isinstance(item, Mapping):
            continue
        role, content = item.get("role"), item.get("content")
        if role in ("user", "assistant") and isinstance(content, str):
            out.append({"role": role, "content": content[:MAX_QUESTION_CHARS]})  # follow-ups search it
    return out[-MAX_HISTORY_MESSAGES:]


# ---------------------------------------------------------------- the engine, shared


def sessions_from_env() -> int:
    """Sessions whose state (chat history) the server keeps, from $QA_SESSIONS; the least
    recently used is dropped beyond it, so memory stays bounded (~0.1 MB each)."""
    return int_from_env(SESSIONS_ENV, DEFAULT_SESSIONS, 10, 100_000)


def concurrency_from_env() -> int:
    """Questions answered at once, from $QA_CONCURRENCY (default DEFAULT_CONCURRENCY)."""
    return int_from_env(CONCURRENCY_ENV, DEFAULT_CONCURRENCY, 1, 16)


class _EngineGate:
    """Lets ``concurrency`` questions at a time reach the engine and re-reads the index when it
    changed; a reload waits until no question is being answered."""

    def __init__(self, engine: Any, reload_interval: float = RELOAD_INTERVAL_S, concurrency: int = 1):
        self.engine = engine
        self.reload_interval = reload_interval
        self.concurrency = concurrency
        self._slots = threading.BoundedSemaphore(concurrency)
        self._reload_lock = threading.Lock()
        self._checked = time.monotonic()

    def _maybe_reload(self) -> None:
        if not hasattr(self.engine, "reload") or time.monotonic() - self._checked < self.reload_interval:
            return
        with self._reload_lock:
            if time.monotonic() - self._checked < self.reload_interval:
                return
            self._checked = time.monotonic()
            for _ in range(self.concurrency):  # all slots: no question sees half a swap
                self._slots.acquire()
            try:
                reasons = self.engine.reload()
            except QAError as exc:  # e.g. an index being rebuilt: keep answering from the loaded one
                log.warning("index not reloaded: %s", exc)
                return
            finally:
                for _ in range(self.concurrency):
                    self._slots.release()
        if reasons:
            log.info("index check: %s", "; ".join(reasons))

    def ask(self, question: str, history: list[dict[str, str]]) -> dict[str, Any]:
        self._maybe_reload()
        with self._slots:
            return self.engine.ask(question, history=history).to_dict()


class BodyLimit:
    """ASGI middleware: refuses a request body over ``limit`` bytes with 413, by its
    Content-Length or, for a chunked body, as soon as the bytes read pass the limit."""

    def __init__(self, app: Any, limit: int = MAX_REQUEST_BYTES):
        self.app = app
        self.limit = limit

    async def _refuse(self, send: Any) -> None:
        body = f"request body over {self.limit} bytes\n".encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                                (b"content-length", str(len(body)).encode()), (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        for name, value in scope.get("headers") or ():
            if name == b"content-length":
                if not value.strip().isdigit() or int(value) > self.limit:
                    return await self._refuse(send)
        received = 0
        started = False

        async def limited_receive() -> Any:
            nonlocal received
            message = await receive()
            if message.get("type") == "http.request":
                received += len(message.get("body") or b"")
                if received > self.limit:
                    from starlette.exceptions import HTTPException

                    raise HTTPException(413, f"request body over {self.limit} bytes")
            return message

        async def tracking_send(message: Any) -> None:
            nonlocal started
            started = started or message.get("type") == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except Exception as exc:
            if getattr(exc, "status_code", None) != 413 or started:
                raise
            await self._refuse(send)


# ---------------------------------------------------------------- the app


class _NoBackendSwitch:
    """Stands in for gradio.utils.MatplotlibBackendMananger (sic), which imports matplotlib
    around *every* event to switch it to the agg backend: 26 MB and ~0.9 s on the first
    answer, for events that draw nothing. The one plot here (the Evaluation tab's) draws on
    its own Agg canvas without pyplot, so no backend switch is needed."""

    def __enter__(self) -> "_NoBackendSwitch":
        return self

    def __exit__(self, *exc: object) -> bool:
        return False


def _skip_matplotlib_backend_switch() -> None:
    import gradio.utils

    if hasattr(gradio.utils, "MatplotlibBackendMananger"):
        gradio.utils.MatplotlibBackendMananger = _NoBackendSwitch


def build_app(engine: Any, examples: Sequence[str] | None = None, *, title: str | None = None,
              reload_interval: float = RELOAD_INTERVAL_S):
    """The FastAPI app: ``GET /articles/{id}`` and the Gradio chat mounted at "/".

    Args:
        engine: an opened ``qa.pipeline.Engine`` (anything with ``ask``, ``articles``, ``reload``).
        examples: example questions shown as buttons; default: built from article titles.
        title: the collection's name in the header.
        reload_interval: seconds between checks for a rebuilt index.

    Returns:
        A ``fastapi.FastAPI`` app to run with uvicorn.

    Usage example:
        app = build_app(Engine.open(Settings()), examples=["Who was rated inadequate?"])
        uvicorn.run(app, port=7860)
    """
    import gradio as gr
    from fastapi import FastAPI
    from fastapi.responses import HTMLResponse

    _skip_matplotlib_backend_switch()
    concurrency = concurrency_from_env()
    sessions = sessions_from_env()
    gate = _EngineGate(engine, reload_interval, concurrency)
    title = title or DEFAULT_TITLE
    example_questions = [q for q in (examples if examples is not None else default_examples(engine.articles)) if q]

    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(BodyLimit, limit=MAX_REQUEST_BYTES)
    page_headers = {
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }

    # ":path" so that ids holding "/" (or "%2F") still reach the dictionary lookup and
    # get the 404 page rather than falling through to the Gradio app. A plain Starlette
    # route: the handler takes the request and nothing is read from its annotations.
    def article_page(request: Any) -> HTMLResponse:
        article_id = request.path_params.get("article_id", "")
        article = engine.articles.get(article_id)  # only ids of the collection; no file access
        if article is None:
            return HTMLResponse(render_not_found(article_id), status_code=404, headers=page_headers)
        spans = parse_spans(request.query_params, len(article.text))
        return HTMLResponse(render_article_page(article, spans), headers=page_headers)

    app.add_route("/articles/{article_id:path}", article_page, methods=["GET"], include_in_schema=False)

    def ask(question: str, history: list[dict[str, str]] | str | None = None) -> dict[str, Any]:
        """Answer a question from the articles with exact quotes and their sources.

        Args:
            question: the question.
            history: earlier turns, a list of {"role": "user"|"assistant", "content": str} or its JSON text.

        Returns:
            The answer as JSON (question, answer, abstained, message, citations, passages, ...),
            or {"error": message} for an unusable question.
        """
        try:
            text = (question or "").strip() if isinstance(question, str) else ""
            if not text:
                raise UsageError(EMPTY_QUESTION)
            return gate.ask(text[:MAX_QUESTION_CHARS], normalize_history(history))
        except QAError as exc:
            return {"error": str(exc)}
        except Exception:
            log.exception("ask failed")
            return {"error": "Something went wrong while answering; the details are in the server log."}

    def add_question(question: str, chat: list) -> tuple[list, str, str]:
        text = (question or "").strip()[:MAX_QUESTION_CHARS]
        if not text:
            gr.Info(EMPTY_QUESTION)
            return chat, "", ""
        return [*(chat or []), {"role": "user", "content": user_message_html(text)}], "", text

    def add_example(chat: list, event: gr.SelectData) -> tuple[list, str, str]:
        value = event.value if isinstance(event.value, Mapping) else {}
        return add_question(str(value.get("text") or ""), chat)

    # Gradio finds the event-data parameter by its type; with postponed annotations it
    # would see the string "gr.SelectData", as gradio is imported in this function only.
    add_example.__annotations__["event"] = gr.SelectData

    def answer(pending: str, chat: list, history: list) -> tuple[list, list]:
        if not pending:  # nothing was asked: no search
            return chat, history
        history = list(history or [])
        try:
            result = gate.ask(pending, history[-MAX_HISTORY_MESSAGES:])
            reply = answer_html(result, engine.articles, anchor=f"qa-src-{len(chat or [])}")
            spoken = result.get("answer") or result.get("message") or ABSTAIN_MESSAGE
            history += [{"role": "user", "content": pending}, {"role": "assistant", "content": spoken}]
        except QAError as exc:
            reply = error_html(str(exc))
        except Exception:
            log.exception("answer failed")
            reply = error_html("Something went wrong while answering; the details are in the server log.")
        return [*(chat or []), {"role": "assistant", "content": reply}], history

    theme = gr.themes.Soft(
        primary_hue="indigo",
        font=[gr.themes.Font("system-ui"), gr.themes.Font("-apple-system"), gr.themes.Font("Segoe UI"),
              "Roboto", "sans-serif"],
        font_mono=[gr.themes.Font("ui-monospace"), "SFMono-Regular", "Menlo", "monospace"],
    )

    with gr.Blocks(title=title, analytics_enabled=False) as blocks:
        gr.HTML(header_html(title, engine.articles), elem_id="qa-header")
        with gr.Tabs(elem_id="qa-tabs"):
            with gr.Tab("Chat", id="chat"):
                history = gr.State([])  # per browser session: plain {"role","content"} for the engine
                pending = gr.State("")
                chatbot = gr.Chatbot(
                    elem_id="qa-chat",
                    show_label=False,
                    height="64vh",
                    min_height=380,
                    autoscroll=False,  # _SCROLL_JS shows the start of each answer instead of its end
                    buttons=[],  # "copy" would copy the message's HTML source
                    feedback_options=None,
                    group_consecutive_messages=False,
                    sanitize_html=True,
                    allow_tags=False,
                    placeholder=_PLACEHOLDER,
                    examples=[{"text": q} for q in example_questions] or None,
                )
                question = gr.Textbox(
                    show_label=False,
                    placeholder="Ask a question about the articles…",
                    lines=1,
                    max_lines=4,
                    max_length=MAX_QUESTION_CHARS,
                    submit_btn="Ask",
                    autofocus=True,
                    elem_id="qa-question",
                )
                with gr.Row(elem_id="qa-actions"):
                    gr.HTML(
                        '<p class="qa-hint">Follow-up questions use the conversation so far. '
                        "Each quote links to its place in the article.</p>",
                        elem_id="qa-hint",
                    )
                    clear = gr.Button("Clear chat", size="sm", variant="secondary", elem_id="qa-clear",
                                      scale=0, min_width=110)
            with gr.Tab("Articles", id="articles"):
                gr.HTML(articles_html(engine.articles), elem_id="qa-articles")
            from qa.eval_tab import add_eval_tab
            add_eval_tab(engine)  # the "Evaluation" tab (id="evaluation")

        answer_event = dict(
            fn=answer, inputs=[pending, chatbot, history], outputs=[chatbot, history],
            api_visibility="private", concurrency_id="engine", concurrency_limit=concurrency,
        )
        question.submit(
            add_question, [question, chatbot], [chatbot, question, pending],
            api_visibility="private", queue=False,
        ).then(None, js=_SCROLL_END_JS, api_visibility="private").then(**answer_event).then(None, js=_SCROLL_JS, api_visibility="private")
        chatbot.example_select(
            add_example, [chatbot], [chatbot, question, pending], api_visibility="private", queue=False,
        ).then(None, js=_SCROLL_END_JS, api_visibility="private").then(**answer_event).then(None, js=_SCROLL_JS, api_visibility="private")
        # Both the button and the chatbot's own trash icon forget the session's history.
        clear.click(lambda: ([], [], ""), None, [chatbot, history, pending],
                    api_visibility="private", queue=False)
        chatbot.clear(lambda: ([], ""), None, [history, pending], api_visibility="private", queue=False)

        gr.api(ask, api_name="ask", concurrency_id="engine", concurrency_limit=concurrency)

    blocks.queue(max_size=64)
    blocks.state_session_capacity = sessions
    return gr.mount_gradio_app(
        app, blocks, path="/",
        theme=theme, css=_CSS, head=_HEAD,
        footer_links=["api"], run_history=False, pwa=False, mcp_server=False,
        ssr_mode=False, show_error=False,
    )


def _drop_shutdown_cancellations(record: logging.LogRecord) -> bool:
    """Hide the traceback of each open chat stream that Ctrl+C cancels: it is expected."""
    import asyncio

    exc = record.exc_info[1] if record.exc_info else None
    return not isinstance(exc, asyncio.CancelledError)


def serve(settings: Any, host: str = "127.0.0.1", port: int = 7860,
          examples: Sequence[str] | None = None, title: str | None = None) -> None:
    """Open the engine (building the index if needed) and serve the chat until interrupted.

    Raises:
        QAError: when the index cannot be opened or the port cannot be used.
    """
    import uvicorn

    from qa.pipeline import Engine

    engine = Engine.open(settings)
    if hasattr(engine, "warm_up"):
        engine.warm_up()  # load the query encoder now, not on the first visitor's question
    app = build_app(engine, examples=examples, title=title)
    shown_host = f"[{host}]" if ":" in host else host
    url = f"http://{shown_host}:{port}/"

    class _Server(uvicorn.Server):
        async def startup(self, sockets: Any = None) -> None:
            await super().startup(sockets=sockets)
            if self.started:
                print(f"Serving {len(engine.articles)} articles at {url}  (Ctrl+C to stop)", flush=True)

    logging.getLogger("uvicorn.error").addFilter(_drop_shutdown_cancellations)
    # Open chat tabs hold a server-sent-events stream: without a limit Ctrl+C waits for them.
    server = _Server(uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False,
                                    timeout_graceful_shutdown=3))
    try:
        server.run()
    except SystemExit:  # uvicorn exits when it cannot bind
        server.started = False
    if not server.started:
        raise QAError(f"could not listen on {host}:{port}; is another server using it? Try --port {port + 1}.")
    sys.stdout.flush()
