"""The web server: the FastAPI app (article pages, the Gradio chat) and `qa serve`."""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from typing import Any

from qa.errors import QAError
from qa.web.article_page import CONTENT_SECURITY_POLICY, parse_spans, render_article_page, render_not_found
from qa.web.assets import CSS, HEAD
from qa.web.gate import EngineGate
from qa.web.gradio_patch import skip_matplotlib_backend_switch
from qa.web.limits import MAX_REQUEST_BYTES, RELOAD_INTERVAL_S, concurrency_from_env, sessions_from_env
from qa.web.middleware import BodyLimit
from qa.web.render import default_examples
from qa.web.ui import DEFAULT_TITLE, build_blocks, theme

log = logging.getLogger(__name__)


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

    skip_matplotlib_backend_switch()
    concurrency = concurrency_from_env()
    sessions = sessions_from_env()
    gate = EngineGate(engine, reload_interval, concurrency)
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

    blocks = build_blocks(engine, gate, example_questions, title=title, concurrency=concurrency)
    blocks.queue(max_size=64)
    blocks.state_session_capacity = sessions
    return gr.mount_gradio_app(
        app, blocks, path="/",
        theme=theme(), css=CSS, head=HEAD,
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
