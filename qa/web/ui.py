"""The Gradio Blocks of the chat page: Chat, Articles and Evaluation tabs. The page's events call the
methods of ``ChatPage``; programs use the JSON API (/api/, reference at /api/docs), not Gradio's."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from qa.answer import ABSTAIN_MESSAGE
from qa.errors import QAError
from qa.web.assets import PLACEHOLDER, SCROLL_END_JS, SCROLL_JS
from qa.web.catalog import Catalog
from qa.web.escape import checked_text
from qa.web.gate import EngineGate, WebEngine
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


API_LINK = ('<a href="/api/docs" target="_blank" rel="noopener">Use via API</a>: the JSON API at /api/ '
            "answers as the chat does.")


@dataclass(frozen=True)
class ChatPage:
    """What the page's events run: one method per event, bound to the engine they share.

    Usage example:
        page = ChatPage(engine, EngineGate(engine), Catalog(engine), "News articles")
        chat_log, _, _, pending = page.add_question("Who led the inspection?", [])
    """

    engine: WebEngine
    gate: EngineGate
    catalog: Catalog
    title: str

    def add_question(self, question: str, chat_log: list) -> tuple:
        """The question shown in the chat at once; its answer comes from ``answer`` (``pending``)."""
        import gradio as gr

        text = (question or "").strip()[:MAX_REQUEST_QUESTION_CHARS] if isinstance(question, str) else ""
        if not text:
            gr.Info(EMPTY_QUESTION)
            return gr.skip(), chat_log, "", ""
        try:
            checked_text(text)
        except QAError as exc:
            chat_log = appended(chat_log, {"role": "assistant", "content": error_html(str(exc))})
            return chat_log, chat_log, "", ""
        chat_log = appended(chat_log, {"role": "user", "content": user_message_html(text)})
        return chat_log, chat_log, "", text

    def add_example(self, chat_log: list, event: Any) -> tuple:  # event: gr.SelectData (see build_blocks)
        value = event.value if isinstance(event.value, Mapping) else {}
        return self.add_question(str(value.get("text") or ""), chat_log)

    def answer(self, pending: str, chat_log: list, history: list, since: str, until: str, sources: list,
               undated: bool) -> tuple:
        import gradio as gr

        if not pending:  # nothing was asked: no search
            return gr.skip(), chat_log, history
        history = list(history or [])
        try:
            result = self.gate.ask(pending, history[-MAX_HISTORY_MESSAGES:],
                                   filter=chat_filter(since, until, sources, undated))
            reply = answer_html(result, self.engine.articles, anchor=f"qa-src-{uuid.uuid4().hex[:8]}")
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

    def show_collection(self) -> tuple:
        """At each page load: the header, the Articles tab and the filter's publishers from the index in
        use now."""
        import gradio as gr

        publishers = self.engine.index.publishers()
        return (header_html(self.title, self.catalog.summary()), *self.list_articles("", 0),
                gr.update(choices=publishers, interactive=bool(publishers)))

    def list_articles(self, query: str, offset: int) -> tuple:
        import gradio as gr

        query = query[:200] if isinstance(query, str) else ""
        offset = offset if isinstance(offset, int) else 0
        page = self.catalog.page(query=query, offset=offset, limit=ARTICLES_PAGE_SIZE)
        if page.offset and page.offset >= page.total:  # the collection shrank under the reader
            page = self.catalog.page(query=query, offset=0, limit=ARTICLES_PAGE_SIZE)
        return (articles_html(page), page.offset,
                gr.update(interactive=page.offset > 0),
                gr.update(interactive=page.offset + len(page.articles) < page.total))

    def newer(self, query: str, offset: int) -> tuple:
        return self.list_articles(query, max(0, offset - ARTICLES_PAGE_SIZE))

    def older(self, query: str, offset: int) -> tuple:
        return self.list_articles(query, offset + ARTICLES_PAGE_SIZE)

    def searched(self, query: str) -> tuple:
        return self.list_articles(query, 0)


def clear_chat() -> tuple:
    return [], [], [], ""


def _chat_tab(page: ChatPage, examples: Sequence[str]) -> dict[str, Any]:
    """The Chat tab's components, by name."""
    import gradio as gr

    c: dict[str, Any] = {}
    # Per browser session, on the server: what the page shows, and the plain {"role","content"}
    # turns the engine reads for follow-ups.
    c["chat_log"], c["history"], c["pending"] = gr.State([]), gr.State([]), gr.State("")
    c["chatbot"] = gr.Chatbot(
        elem_id="qa-chat", show_label=False, height="64vh", min_height=380,
        autoscroll=False,  # SCROLL_JS shows the start of each answer instead of its end
        buttons=[],  # "copy" would copy the message's HTML source
        feedback_options=None, group_consecutive_messages=False,
        sanitize_html=True, allow_tags=False,
        latex_delimiters=[],  # an article's "$$\rule{80em}{40em}$$" is text, never maths
        placeholder=PLACEHOLDER, examples=[{"text": q} for q in examples] or None,
    )
    c["question"] = gr.Textbox(show_label=False, placeholder="Ask a question about the articles…", lines=1,
                               max_lines=4, max_length=MAX_REQUEST_QUESTION_CHARS, submit_btn="Ask",
                               autofocus=True, elem_id="qa-question")
    with gr.Accordion("Filter: answer only from some articles", open=False, elem_id="qa-filter"):
        with gr.Row():
            c["since"] = gr.Textbox(label="From", placeholder="YYYY, YYYY-MM or YYYY-MM-DD", max_length=10,
                                    elem_id="qa-since", scale=1)
            c["until"] = gr.Textbox(label="Until", placeholder="YYYY, YYYY-MM or YYYY-MM-DD", max_length=10,
                                    elem_id="qa-until", scale=1)
            c["undated"] = gr.Checkbox(label="Undated articles too", value=False, elem_id="qa-undated", scale=1)
        publishers = page.engine.index.publishers()
        c["sources"] = gr.Dropdown(label="Publishers", choices=publishers, multiselect=True, value=[],
                                   allow_custom_value=False, interactive=bool(publishers), elem_id="qa-sources")
    with gr.Row(elem_id="qa-actions"):
        gr.HTML('<p class="qa-hint">Follow-up questions use the conversation so far (and the filter, until you '
                f"change it). Each quote links to its place in the article. {API_LINK}</p>", elem_id="qa-hint")
        c["clear"] = gr.Button("Clear chat", size="sm", variant="secondary", elem_id="qa-clear", scale=0,
                               min_width=110)
    return c


def _articles_tab() -> dict[str, Any]:
    import gradio as gr

    c: dict[str, Any] = {}
    c["search"] = gr.Textbox(show_label=False, placeholder="Find articles by title, id or publisher…", lines=1,
                             max_lines=1, max_length=200, elem_id="qa-articles-search")
    c["listing"] = gr.HTML("", elem_id="qa-articles")
    c["offset"] = gr.State(0)
    with gr.Row(elem_id="qa-articles-pager"):
        c["newer"] = gr.Button("← Newer", size="sm", variant="secondary", interactive=False,
                               elem_id="qa-articles-newer", scale=0, min_width=110)
        c["older"] = gr.Button("Older →", size="sm", variant="secondary", interactive=False,
                               elem_id="qa-articles-older", scale=0, min_width=110)
    return c


def _wire(blocks: Any, page: ChatPage, c: dict[str, Any], concurrency: int) -> None:
    """Every event of the page: all private (no Gradio API endpoint), the answer on the engine's queue."""
    private = dict(api_visibility="private", queue=False)
    pager = [c["listing"], c["offset"], c["newer"], c["older"]]
    blocks.load(page.show_collection, None, [c["header"], *pager, c["sources"]], **private)
    c["search"].change(page.searched, [c["search"]], pager, **private)
    c["newer"].click(page.newer, [c["search"], c["offset"]], pager, **private)
    c["older"].click(page.older, [c["search"], c["offset"]], pager, **private)

    answer_event = dict(
        fn=page.answer, outputs=[c["chatbot"], c["chat_log"], c["history"]],
        inputs=[c["pending"], c["chat_log"], c["history"], c["since"], c["until"], c["sources"], c["undated"]],
        api_visibility="private", queue=ANSWER_QUEUE,
        **(dict(concurrency_id="engine", concurrency_limit=concurrency) if ANSWER_QUEUE else {}),
    )
    shown = [c["chatbot"], c["chat_log"], c["question"], c["pending"]]
    for trigger, fn, inputs in ((c["question"].submit, page.add_question, [c["question"], c["chat_log"]]),
                                (c["chatbot"].example_select, page.add_example, [c["chat_log"]])):
        trigger(fn, inputs, shown, **private).then(None, js=SCROLL_END_JS, api_visibility="private").then(
            **answer_event).then(None, js=SCROLL_JS, api_visibility="private")
    # Both the button and the chatbot's own trash icon forget the session's conversation.
    c["clear"].click(clear_chat, None, [c["chatbot"], c["chat_log"], c["history"], c["pending"]], **private)
    c["chatbot"].clear(lambda: clear_chat()[1:], None, [c["chat_log"], c["history"], c["pending"]], **private)


def build_blocks(page: ChatPage, examples: Sequence[str], *, concurrency: int, evaluation: Any = None):
    """The chat page as a ``gr.Blocks`` (not yet mounted).

    Args:
        page: the events' callbacks (engine, answer pool, article listing, title).
        examples: example questions shown as buttons.
        concurrency: questions answered at once (the chat events' concurrency limit).
        evaluation: (uploads, runner) for the Evaluation tab, or None to leave the tab out.
    """
    import gradio as gr

    # Gradio finds the event-data parameter by its type; with postponed annotations it would see
    # a string, as gradio is imported inside functions only.
    ChatPage.add_example.__annotations__["event"] = gr.SelectData
    with gr.Blocks(title=page.title, analytics_enabled=False) as blocks:
        header = gr.HTML(header_html(page.title, page.catalog.summary()), elem_id="qa-header")
        with gr.Tabs(elem_id="qa-tabs"):
            with gr.Tab("Chat", id="chat"):
                components = _chat_tab(page, examples)
            with gr.Tab("Articles", id="articles"):
                components.update(_articles_tab())
            if evaluation is not None:
                from qa.web.eval_tab import add_eval_tab

                uploads, runner = evaluation
                add_eval_tab(page.engine, uploads, runner)  # the "Evaluation" tab (id="evaluation")
        components["header"] = header
        _wire(blocks, page, components, concurrency)
    return blocks
