"""The Gradio Blocks of the chat page: Chat, Articles and Evaluation tabs, and the /ask endpoint."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from qa.answer import ABSTAIN_MESSAGE
from qa.errors import QAError, UsageError
from qa.web.assets import PLACEHOLDER, SCROLL_END_JS, SCROLL_JS
from qa.web.catalog import Catalog
from qa.web.gate import EngineGate
from qa.web.history import checked_text, normalize_history
from qa.web.limits import (ARTICLES_PAGE_SIZE, MAX_CHAT_LOG_MESSAGES, MAX_HISTORY_MESSAGES,
                           MAX_REQUEST_QUESTION_CHARS)
from qa.web.render import answer_html, articles_html, error_html, header_html, user_message_html

log = logging.getLogger(__name__)

DEFAULT_TITLE = "News articles"
EMPTY_QUESTION = "Type a question first."
FAILED = "Something went wrong while answering; the details are in the server log."
# The answer event through Gradio's queue (its event stream, its concurrency limit) or straight to
# the server (POST /gradio_api/run/predict), bounded by the EngineGate alone: see
# benchmarks/chat_queue.md for the measured difference.
ANSWER_QUEUE = True
TRIMMED_NOTE = ('<div class="qa-answer"><p class="qa-notice">Older messages were removed from this page to '
                f"keep it fast: it shows the last {MAX_CHAT_LOG_MESSAGES // 2} questions and answers. "
                "Follow-up questions work as before.</p></div>")


def theme():
    """The page's theme: Gradio's Soft in indigo, system fonts only (nothing fetched)."""
    import gradio as gr

    return gr.themes.Soft(
        primary_hue="indigo",
        font=[gr.themes.Font("system-ui"), gr.themes.Font("-apple-system"), gr.themes.Font("Segoe UI"),
              "Roboto", "sans-serif"],
        font_mono=[gr.themes.Font("ui-monospace"), "SFMono-Regular", "Menlo", "monospace"],
    )


def appended(chat_log: list | None, *messages: dict[str, str]) -> list[dict[str, str]]:
    """The chat log with ``messages`` added, cut to MAX_CHAT_LOG_MESSAGES (a note says so when cut).

    The log lives in the session's server-side state, never in a request: however long the
    conversation, each question sends only its own text.
    """
    log_ = [m for m in (chat_log or []) if m.get("content") != TRIMMED_NOTE] + list(messages)
    if len(log_) <= MAX_CHAT_LOG_MESSAGES:
        return log_
    kept = log_[-MAX_CHAT_LOG_MESSAGES:]
    if kept and kept[0].get("role") == "assistant":  # start at a question
        kept = kept[1:]
    return [{"role": "assistant", "content": TRIMMED_NOTE}, *kept]


def chat_filter(since: Any, until: Any, sources: Any, undated: Any) -> dict | None:
    """The chat's filter controls as the engine's filter fields (None when they set nothing)."""
    flt = {"since": since.strip() if isinstance(since, str) and since.strip() else None,
           "until": until.strip() if isinstance(until, str) and until.strip() else None,
           "sources": [s for s in (sources or []) if isinstance(s, str)] if isinstance(sources, list) else [],
           "undated": bool(undated)}
    return flt if flt["since"] or flt["until"] or flt["sources"] else None


def build_blocks(engine: Any, gate: EngineGate, catalog: Catalog, examples: Sequence[str], *, title: str,
                 concurrency: int, evaluation: Any = None):
    """The chat page as a ``gr.Blocks`` (not yet mounted).

    Args:
        engine: an opened ``qa.pipeline.Engine``.
        gate: the shared way to the engine (bounded pool).
        catalog: the article listing (header count, Articles tab).
        examples: example questions shown as buttons.
        title: the collection's name in the header.
        concurrency: questions answered at once (the chat events' concurrency limit).
        evaluation: (uploads, runner) for the Evaluation tab, or None to leave the tab out.
    """
    import gradio as gr

    def ask(question: str, history: list[dict[str, str]] | str | None,
            filter: dict[str, Any] | None = None) -> dict[str, Any]:
        """Answer a question from the articles with exact quotes and their sources.

        Args:
            question: the question.
            history: earlier turns, a list of {"role": "user"|"assistant", "content": str} or its JSON
                text; [] when there are none.
            filter: which articles to answer from: {"since", "until", "sources", "articles", "title",
                "undated"} (all optional); null for all of them.

        Returns:
            The answer as JSON (question, answer, abstained, message, filter, citations, passages, ...),
            or {"error": message} for an unusable question.
        """
        try:
            text = (question or "").strip() if isinstance(question, str) else ""
            if not text:
                raise UsageError(EMPTY_QUESTION)
            if filter is not None and not isinstance(filter, Mapping):
                raise UsageError("filter must be an object such as {\"since\": \"2019\"}, or null.")
            return gate.ask(checked_text(text[:MAX_REQUEST_QUESTION_CHARS]), normalize_history(history),
                            filter=dict(filter) if filter else None)
        except QAError as exc:
            return {"error": str(exc)}
        except Exception:
            log.exception("ask failed")
            return {"error": FAILED}

    def add_question(question: str, chat_log: list) -> tuple[list, list, str, str]:
        text = (question or "").strip()[:MAX_REQUEST_QUESTION_CHARS] if isinstance(question, str) else ""
        if not text:
            gr.Info(EMPTY_QUESTION)
            return gr.skip(), chat_log, "", ""
        try:
            checked_text(text)
        except UsageError as exc:
            chat_log = appended(chat_log, {"role": "assistant", "content": error_html(str(exc))})
            return chat_log, chat_log, "", ""
        chat_log = appended(chat_log, {"role": "user", "content": user_message_html(text)})
        return chat_log, chat_log, "", text

    def add_example(chat_log: list, event: gr.SelectData) -> tuple[list, list, str, str]:
        value = event.value if isinstance(event.value, Mapping) else {}
        return add_question(str(value.get("text") or ""), chat_log)

    # Gradio finds the event-data parameter by its type; with postponed annotations it
    # would see the string "gr.SelectData", as gradio is imported in this function only.
    add_example.__annotations__["event"] = gr.SelectData

    def answer(pending: str, chat_log: list, history: list, since: str, until: str, sources: list,
               undated: bool) -> tuple[list, list, list]:
        if not pending:  # nothing was asked: no search
            return gr.skip(), chat_log, history
        history = list(history or [])
        try:
            result = gate.ask(pending, history[-MAX_HISTORY_MESSAGES:],
                              filter=chat_filter(since, until, sources, undated))
            reply = answer_html(result, engine.articles, anchor=f"qa-src-{uuid.uuid4().hex[:8]}")
            spoken = result.get("answer") or result.get("message") or ABSTAIN_MESSAGE
            history = [*history, {"role": "user", "content": pending},
                       {"role": "assistant", "content": spoken}][-MAX_HISTORY_MESSAGES:]
        except QAError as exc:  # Busy included: said in the chat, the conversation stays
            reply = error_html(str(exc))
        except Exception:
            log.exception("answer failed")
            reply = error_html(FAILED)
        chat_log = appended(chat_log, {"role": "assistant", "content": reply})
        return chat_log, chat_log, history

    def show_collection() -> tuple:
        """At each page load: the header, the Articles tab and the filter's publishers from the index in
        use now."""
        publishers = engine.index.publishers() if hasattr(engine.index, "publishers") else []
        return (header_html(title, catalog.summary()), *list_articles("", 0),
                gr.update(choices=publishers, interactive=bool(publishers)))

    def list_articles(query: str, offset: int) -> tuple[str, int, Any, Any]:
        query = query if isinstance(query, str) else ""
        offset = offset if isinstance(offset, int) else 0
        page = catalog.page(query=query[:200], offset=offset, limit=ARTICLES_PAGE_SIZE)
        if page.offset and page.offset >= page.total:  # the collection shrank under the reader
            page = catalog.page(query=query[:200], offset=0, limit=ARTICLES_PAGE_SIZE)
        return (articles_html(page), page.offset,
                gr.update(interactive=page.offset > 0),
                gr.update(interactive=page.offset + len(page.articles) < page.total))

    with gr.Blocks(title=title, analytics_enabled=False) as blocks:
        header = gr.HTML(header_html(title, catalog.summary()), elem_id="qa-header")
        with gr.Tabs(elem_id="qa-tabs"):
            with gr.Tab("Chat", id="chat"):
                # Per browser session, on the server: what the page shows, and the plain
                # {"role","content"} turns the engine reads for follow-ups.
                chat_log = gr.State([])
                history = gr.State([])
                pending = gr.State("")
                chatbot = gr.Chatbot(
                    elem_id="qa-chat",
                    show_label=False,
                    height="64vh",
                    min_height=380,
                    autoscroll=False,  # SCROLL_JS shows the start of each answer instead of its end
                    buttons=[],  # "copy" would copy the message's HTML source
                    feedback_options=None,
                    group_consecutive_messages=False,
                    sanitize_html=True,
                    allow_tags=False,
                    latex_delimiters=[],  # an article's "$$\rule{80em}{40em}$$" is text, never maths
                    placeholder=PLACEHOLDER,
                    examples=[{"text": q} for q in examples] or None,
                )
                question = gr.Textbox(
                    show_label=False,
                    placeholder="Ask a question about the articles…",
                    lines=1,
                    max_lines=4,
                    max_length=MAX_REQUEST_QUESTION_CHARS,
                    submit_btn="Ask",
                    autofocus=True,
                    elem_id="qa-question",
                )
                with gr.Accordion("Filter: answer only from some articles", open=False, elem_id="qa-filter"):
                    with gr.Row():
                        since = gr.Textbox(label="From", placeholder="YYYY, YYYY-MM or YYYY-MM-DD", max_length=10,
                                           elem_id="qa-since", scale=1)
                        until = gr.Textbox(label="Until", placeholder="YYYY, YYYY-MM or YYYY-MM-DD", max_length=10,
                                           elem_id="qa-until", scale=1)
                        undated = gr.Checkbox(label="Undated articles too", value=False, elem_id="qa-undated",
                                              scale=1)
                    publishers = engine.index.publishers() if hasattr(engine.index, "publishers") else []
                    sources = gr.Dropdown(label="Publishers", choices=publishers, multiselect=True, value=[],
                                          allow_custom_value=False, interactive=bool(publishers),
                                          elem_id="qa-sources")
                with gr.Row(elem_id="qa-actions"):
                    gr.HTML(
                        '<p class="qa-hint">Follow-up questions use the conversation so far (and the filter, '
                        "until you change it). Each quote links to its place in the article.</p>",
                        elem_id="qa-hint",
                    )
                    clear = gr.Button("Clear chat", size="sm", variant="secondary", elem_id="qa-clear",
                                      scale=0, min_width=110)
            with gr.Tab("Articles", id="articles"):
                search = gr.Textbox(show_label=False, placeholder="Find articles by title, id or publisher…",
                                    lines=1, max_lines=1, max_length=200, elem_id="qa-articles-search")
                listing = gr.HTML("", elem_id="qa-articles")
                offset = gr.State(0)
                with gr.Row(elem_id="qa-articles-pager"):
                    newer = gr.Button("← Newer", size="sm", variant="secondary", interactive=False,
                                      elem_id="qa-articles-newer", scale=0, min_width=110)
                    older = gr.Button("Older →", size="sm", variant="secondary", interactive=False,
                                      elem_id="qa-articles-older", scale=0, min_width=110)
            if evaluation is not None:
                from qa.web.eval_tab import add_eval_tab

                uploads, runner = evaluation
                add_eval_tab(engine, uploads, runner)  # the "Evaluation" tab (id="evaluation")

        private = dict(api_visibility="private", queue=False)
        blocks.load(show_collection, None, [header, listing, offset, newer, older, sources], **private)
        pager = [listing, offset, newer, older]
        search.change(lambda q: list_articles(q, 0), [search], pager, **private)
        newer.click(lambda q, o: list_articles(q, max(0, o - ARTICLES_PAGE_SIZE)), [search, offset], pager,
                    **private)
        older.click(lambda q, o: list_articles(q, o + ARTICLES_PAGE_SIZE), [search, offset], pager, **private)

        answer_event = dict(
            fn=answer, inputs=[pending, chat_log, history, since, until, sources, undated],
            outputs=[chatbot, chat_log, history],
            api_visibility="private", queue=ANSWER_QUEUE,
            **(dict(concurrency_id="engine", concurrency_limit=concurrency) if ANSWER_QUEUE else {}),
        )
        question.submit(
            add_question, [question, chat_log], [chatbot, chat_log, question, pending], **private,
        ).then(None, js=SCROLL_END_JS, api_visibility="private").then(**answer_event).then(
            None, js=SCROLL_JS, api_visibility="private")
        chatbot.example_select(
            add_example, [chat_log], [chatbot, chat_log, question, pending], **private,
        ).then(None, js=SCROLL_END_JS, api_visibility="private").then(**answer_event).then(
            None, js=SCROLL_JS, api_visibility="private")
        # Both the button and the chatbot's own trash icon forget the session's conversation.
        clear.click(lambda: ([], [], [], ""), None, [chatbot, chat_log, history, pending], **private)
        chatbot.clear(lambda: ([], [], ""), None, [chat_log, history, pending], **private)

        gr.api(ask, api_name="ask", concurrency_id="engine", concurrency_limit=concurrency)
    return blocks
