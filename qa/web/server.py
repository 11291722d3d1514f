"""The web server: the FastAPI app (article pages, the Gradio chat, the JSON API) and `qa serve`."""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from qa.config import setting
from qa.errors import QAError
from qa.web.article_page import CONTENT_SECURITY_POLICY, parse_spans, render_article_page, render_not_found
from qa.web.assets import CSS, HEAD
from qa.web.catalog import Catalog
from qa.web.escape import visible_controls
from qa.web.gate import EngineGate, ReloadWatcher, WebEngine
from qa.web.gradio_routes import GradioChecks, gradio_routes
from qa.web.hosts import allowed_host_names, is_loopback, reachable_urls
from qa.web.limits import MAX_REQUEST_BYTES, RELOAD_INTERVAL_S
from qa.web.middleware import Guard, Policy, Route
from qa.web.render import default_examples
from qa.web.ui import DEFAULT_TITLE, ChatPage, build_blocks, theme

log = logging.getLogger(__name__)

GRADIO_QUEUE_SIZE = 64  # chat events waiting in Gradio's queue; more get "Queue is full"


@dataclass(frozen=True)
class Site:
    """Where the server listens and who may reach it.

    Args:
        host: the address the server is bound to (which Host names it answers to; see qa.web.hosts).
        port: its port (for the addresses printed and named in errors).
        allowed_hosts: more Host names to answer to (``qa serve --allowed-host``).
        evaluation: include the Evaluation tab (and uploads); None: only when ``host`` is loopback.
    """

    host: str = "127.0.0.1"
    port: int = 7860
    allowed_hosts: Sequence[str] = ()
    evaluation: bool | None = None

    @property
    def with_evaluation(self) -> bool:
        return is_loopback(self.host) if self.evaluation is None else self.evaluation


@dataclass(frozen=True)
class WebState:
    """What one app shares between its routes (``app.state.qa``); routes and tests reach it there."""

    engine: WebEngine
    gate: EngineGate
    watcher: ReloadWatcher
    catalog: Catalog
    uploads: Any  # qa.web.uploads.UploadStore, or None without the Evaluation tab
    runner: Any  # qa.web.eval_tab.EvaluationRunner, or None

    @classmethod
    def open(cls, engine: WebEngine, reload_interval: float, evaluation: bool) -> "WebState":
        uploads = runner = None
        if evaluation:
            from qa.web.eval_tab import EvaluationRunner
            from qa.web.uploads import UploadStore

            uploads, runner = UploadStore(), EvaluationRunner(engine)
        gate = EngineGate(engine, setting("QA_CONCURRENCY"), setting("QA_QUEUE"))
        return cls(engine, gate, ReloadWatcher(engine, reload_interval), Catalog(engine), uploads, runner)


@contextlib.asynccontextmanager
async def lifespan(app: Any):
    """The background reload check runs, and the upload folder exists, while the app does."""
    state: WebState = app.state.qa
    state.watcher.start()
    try:
        yield
    finally:
        state.watcher.stop()
        state.gate.close()
        if state.uploads is not None:
            state.uploads.close()


def article_page(request: Any):
    """GET /articles/{id}: one article of the collection (a dictionary lookup, no file access), the
    cited spans highlighted. A plain Starlette route: nothing is read from its annotations."""
    from fastapi.responses import HTMLResponse

    article_id = request.path_params.get("article_id", "")
    article = request.app.state.qa.engine.articles.get(article_id)
    headers = {"Content-Security-Policy": CONTENT_SECURITY_POLICY}
    if article is None:
        return HTMLResponse(render_not_found(article_id), status_code=404, headers=headers)
    spans = parse_spans(request.query_params, len(article.text))
    return HTMLResponse(render_article_page(article, spans), headers=headers)


def _skip_matplotlib_backend_switch() -> None:
    """gradio.utils.MatplotlibBackendMananger (sic) imports matplotlib around *every* event to switch it
    to the agg backend: 26 MB and ~0.9 s on the first answer. The one plot here (the Evaluation tab's)
    draws on its own Agg canvas without pyplot, so no switch is needed."""
    import gradio.utils

    gradio.utils.MatplotlibBackendMananger = contextlib.nullcontext


def build_app(engine: WebEngine, examples: Sequence[str] | None = None, *, title: str | None = None,
              reload_interval: float = RELOAD_INTERVAL_S, site: Site = Site()):
    """The FastAPI app: ``GET /articles/{id}``, the JSON API under ``/api/`` and the Gradio chat at "/",
    every route behind one ``Guard`` middleware.

    Args:
        engine: an opened ``qa.pipeline.Engine`` (see ``qa.web.gate.WebEngine``).
        examples: example questions shown as buttons; default: built from article titles.
        title: the collection's name in the header.
        reload_interval: seconds between background checks for a newer index.
        site: where it listens and who may reach it.

    Returns:
        A ``fastapi.FastAPI`` app to run with uvicorn; the background reload check and the upload
        folder live as long as its lifespan.

    Usage example:
        app = build_app(Engine.open(Settings()), examples=["Who was rated inadequate?"])
        uvicorn.run(app, port=7860)
    """
    import gradio as gr
    from fastapi import FastAPI

    from qa.web.api import API_PREFIX, add_api, api_checks

    _skip_matplotlib_backend_switch()
    state = WebState.open(engine, reload_interval, site.with_evaluation)
    if examples is None:
        examples = default_examples(state.catalog.page(limit=3).articles)
    example_questions = [visible_controls(q) for q in examples if q]  # Gradio shows them as they are

    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=f"{API_PREFIX}/openapi.json", lifespan=lifespan,
                  title="qa", summary="Extractive question answering over a folder of news articles.")
    app.state.qa = state
    add_api(app)
    # ":path" so that ids holding "/" (or "%2F") still reach the dictionary lookup and get the 404
    # page rather than falling through to the Gradio app.
    app.add_route("/articles/{article_id:path}", article_page, methods=["GET"], include_in_schema=False)
    if state.uploads is not None:
        from qa.web.uploads import upload_route

        # In front of Gradio's own /gradio_api/upload (routes of this app are matched before the mount).
        app.add_route("/gradio_api/upload", upload_route, methods=["POST"], include_in_schema=False)

    page = ChatPage(engine, state.gate, state.catalog, title or DEFAULT_TITLE)
    blocks = build_blocks(page, example_questions, concurrency=state.gate.concurrency,
                          evaluation=(state.uploads, state.runner) if state.uploads is not None else None)
    blocks.queue(max_size=GRADIO_QUEUE_SIZE)
    blocks.state_session_capacity = setting("QA_SESSIONS")
    app.add_middleware(Guard, policy=Policy(
        allowed_hosts=allowed_host_names(site.host, site.allowed_hosts),
        routes=(Route.of("GET", r"/articles/.*"), Route.of("GET POST", rf"{API_PREFIX}/.*"),
                *gradio_routes(uploads=state.uploads is not None)),
        checks=(*GradioChecks(blocks).checks(), *api_checks(state.gate)),
        max_body_bytes=MAX_REQUEST_BYTES,
        shown_address=reachable_urls(site.host, site.port)[0],
    ))
    # No Gradio footer: its "Use via API" would describe Gradio's API, which this app does not offer;
    # the page links /api/docs instead (qa.web.ui.API_LINK).
    return gr.mount_gradio_app(
        app, blocks, path="/",
        theme=theme(), css=CSS, head=HEAD,
        footer_links=[], run_history=False, pwa=False, mcp_server=False,
        ssr_mode=False, show_error=False,
    )


def _drop_shutdown_cancellations(record: logging.LogRecord) -> bool:
    """Hide the traceback of each open chat stream that Ctrl+C cancels: it is expected."""
    import asyncio

    exc = record.exc_info[1] if record.exc_info else None
    return not isinstance(exc, asyncio.CancelledError)


def startup_lines(count: int, host: str, port: int) -> list[str]:
    """What `qa serve` prints once it listens: where, and a warning when others can reach it."""
    urls = reachable_urls(host, port)
    lines = [f"Serving {count} articles at {'  '.join(urls)}  (Ctrl+C to stop)"]
    if not is_loopback(host):
        lines.append(f"Warning: the server listens on {host or 'all interfaces'}, so the whole collection is "
                     f"readable by anyone who can reach this machine on port {port}: there is no login and "
                     "no TLS. Use --host 127.0.0.1 to keep it to this machine (docs/SAFETY.md).")
    return lines


def serve(settings: Any, site: Site = Site(), examples: Sequence[str] | None = None, title: str | None = None) -> None:
    """Open the engine (building the index if needed) and serve the chat until interrupted.

    Raises:
        QAError: when the index cannot be opened or the port cannot be used.
    """
    import uvicorn

    from qa.pipeline import Engine

    engine = Engine.open(settings)
    engine.warm_up()  # load the query encoder now, not on the first visitor's question
    app = build_app(engine, examples=examples, title=title, site=site)
    host, port = site.host, site.port

    class _Server(uvicorn.Server):
        async def startup(self, sockets: Any = None) -> None:
            await super().startup(sockets=sockets)
            if self.started:
                print("\n".join(startup_lines(len(engine.articles), host, port)), flush=True)

    logging.getLogger("uvicorn.error").addFilter(_drop_shutdown_cancellations)
    # Open chat tabs hold a server-sent-events stream: without a limit Ctrl+C waits for them.
    from qa.web.protocol import BoundedHttpToolsProtocol

    server = _Server(uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False,
                                    timeout_graceful_shutdown=3, http=BoundedHttpToolsProtocol))
    try:
        server.run()
    except SystemExit:  # uvicorn exits when it cannot bind
        server.started = False
    if not server.started:
        raise QAError(f"could not listen on {host}:{port}; is another server using it? Try --port {port + 1}.")
    sys.stdout.flush()
