"""The Gradio Blocks of the chat page: Chat, Articles and Evaluation tabs, and the /ask endpoint."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from qa.answer import ABSTAIN_MESSAGE
from qa.errors import QAError, UsageError
from qa.web.assets import PLACEHOLDER, SCROLL_END_JS, SCROLL_JS
from qa.web.gate import EngineGate
from qa.web.history import normalize_history
from qa.web.limits import MAX_HISTORY_MESSAGES, MAX_REQUEST_QUESTION_CHARS
from qa.web.render import answer_html, articles_html, error_html, header_html, user_message_html

log = logging.getLogger(__name__)

DEFAULT_TITLE = "News articles"
EMPTY_QUESTION = "Type a question first."
FAILED = "Something went wrong while answering; the details are in the server log."


def theme():
    """The page's theme: Gradio's Soft in indigo, system fonts only (nothing fetched)."""
    import gradio as gr

    return gr.themes.Soft(
        primary_hue="indigo",
        font=[gr.themes.Font("system-ui"), gr.themes.Font("-apple-system"), gr.themes.Font("Segoe UI"),
              "Roboto", "sans-serif"],
        font_mono=[gr.themes.Font("ui-monospace"), "SFMono-Regular", "Menlo", "monospace"],
    )


def build_blocks(engine: Any, gate: EngineGate, examples: Sequence[str], *, title: str, concurrency: int):
    """The chat page as a ``gr.Blocks`` (not yet mounted).

    Args:
        engine: an opened ``qa.pipeline.Engine``.
        gate: the shared way to the engine (concurrency, reloads).
        examples: example questions shown as buttons.
        title: the collection's name in the header.
        concurrency: questions answered at once (the events' concurrency limit).
    """
    import gradio as gr

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
            return gate.ask(text[:MAX_REQUEST_QUESTION_CHARS], normalize_history(history))
        except QAError as exc:
            return {"error": str(exc)}
        except Exception:
            log.exception("ask failed")
            return {"error": FAILED}

    def add_question(question: str, chat: list) -> tuple[list, str, str]:
        text = (question or "").strip()[:MAX_REQUEST_QUESTION_CHARS]
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
            reply = error_html(FAILED)
        return [*(chat or []), {"role": "assistant", "content": reply}], history

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
                    autoscroll=False,  # SCROLL_JS shows the start of each answer instead of its end
                    buttons=[],  # "copy" would copy the message's HTML source
                    feedback_options=None,
                    group_consecutive_messages=False,
                    sanitize_html=True,
                    allow_tags=False,
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
            from qa.web.eval_tab import add_eval_tab
            add_eval_tab(engine)  # the "Evaluation" tab (id="evaluation")

        answer_event = dict(
            fn=answer, inputs=[pending, chatbot, history], outputs=[chatbot, history],
            api_visibility="private", concurrency_id="engine", concurrency_limit=concurrency,
        )
        question.submit(
            add_question, [question, chatbot], [chatbot, question, pending],
            api_visibility="private", queue=False,
        ).then(None, js=SCROLL_END_JS, api_visibility="private").then(**answer_event).then(
            None, js=SCROLL_JS, api_visibility="private")
        chatbot.example_select(
            add_example, [chatbot], [chatbot, question, pending], api_visibility="private", queue=False,
        ).then(None, js=SCROLL_END_JS, api_visibility="private").then(**answer_event).then(
            None, js=SCROLL_JS, api_visibility="private")
        # Both the button and the chatbot's own trash icon forget the session's history.
        clear.click(lambda: ([], [], ""), None, [chatbot, history, pending],
                    api_visibility="private", queue=False)
        chatbot.clear(lambda: ([], ""), None, [history, pending], api_visibility="private", queue=False)

        gr.api(ask, api_name="ask", concurrency_id="engine", concurrency_limit=concurrency)
    return blocks
