"""The plain HTTP JSON API under /api/ (issue 18): ask, ask in batches, list and read articles, health.

Every answer goes through the same bounded pool as the chat (``EngineGate``): QA_CONCURRENCY answer
at once, QA_QUEUE more wait, beyond that 503 with Retry-After at once. No Gradio queue on these
paths. The answer object is ``Answer.to_dict()``, the one ``qa ask --json`` prints, serialised on the
answer thread. The models below are the reference (``/api/openapi.json``); a request model is a
plain pydantic model, so new optional fields (e.g. filters) are one line each.
"""

from __future__ import annotations

import asyncio
import html
import json
import logging
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError, WithJsonSchema, field_validator
from starlette.requests import Request

from qa.conversation import HISTORY_TURN_CHARS
from qa.errors import QAError, UsageError
from qa.pipeline import MAX_QUESTION_CHARS
from qa.web.gate import BUSY_RETRY_AFTER_S, Busy
from qa.web.limits import MAX_ARTICLES_PAGE, MAX_HISTORY_MESSAGES, MAX_REQUEST_QUESTION_CHARS

log = logging.getLogger(__name__)

API_PREFIX = "/api"
MAX_TOP_K = 50  # passages an answer may list
MAX_BATCH = 100  # questions in one /api/ask/batch call
# The work one request may ask for, in words read (``words_read``), checked before any is done: 100
# short questions fit; 100 follow-ups of 4,000 characters (~100,000 words, 41 s here) do not.
MAX_REQUEST_WORDS = 3000
QUESTION_WORDS = 20  # what a question costs beyond its words (~28 ms, as much as ~20 words)
MAX_API_HISTORY = 100  # turns a request may carry; the last MAX_HISTORY_MESSAGES are used, as in the chat
METHODS = ("hybrid", "bm25", "dense")
ENGINE_FAULT = "the engine could not answer ({}); the server keeps serving: try again, or see its log."


# ---------------------------------------------------------------- request models


class Turn(BaseModel):
    """One earlier message of the conversation."""

    model_config = ConfigDict(extra="forbid")
    role: Literal["user", "assistant"]
    content: str = Field(max_length=MAX_REQUEST_QUESTION_CHARS)


class FilterIn(BaseModel):
    """Which articles to answer from (all of them when left out). Dates are inclusive."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"since": "2019", "until": "2021", "sources": ["The Local Herald"]}]})
    since: str | None = Field(None, max_length=10, description="Articles dated from then on: YYYY, YYYY-MM or YYYY-MM-DD")
    until: str | None = Field(None, max_length=10, description="Articles dated up to then, inclusive")
    sources: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        default_factory=list, max_length=1000, description="Publishers (any case); GET /api/articles lists them")
    articles: list[Annotated[str, Field(min_length=1, max_length=300)]] = Field(
        default_factory=list, max_length=1000, description="Article ids")
    title: str | None = Field(None, max_length=200, description="A part of the title (any case)")
    undated: bool = Field(False, description="With since/until: keep undated articles too")


class AskRequest(BaseModel):
    """A question, with the conversation before it for a follow-up."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"question": "What did the council decide about the library budget?"},
        {"question": "Who objected to it?", "history": [
            {"role": "user", "content": "What did the council decide about the library budget?"},
            {"role": "assistant", "content": "The council agreed to keep all five libraries open."}]},
    ]})
    question: str = Field(min_length=1, max_length=MAX_REQUEST_QUESTION_CHARS,
                          description="The question. Longer than the model reads, it is cut, with a notice.")
    history: list[Turn] = Field(default_factory=list, max_length=MAX_API_HISTORY,
                                description=f"Earlier turns, oldest first; the last {MAX_HISTORY_MESSAGES} "
                                            "are used, as in the chat.")
    top_k: int | None = Field(None, ge=1, le=MAX_TOP_K, description="Passages to list (default 5).")
    method: Literal["hybrid", "bm25", "dense"] = Field(
        "hybrid", description="Retrieval: hybrid (shipped) or one of the baselines.")
    filter: FilterIn | None = Field(None, description="Answer only from these articles; send the same filter with "
                                                      "each follow-up of a conversation to keep it.")

    @field_validator("question")
    @classmethod
    def _question(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the question is empty: send a question, e.g. \"Who carried out the inspection?\"")
        return value


BatchItem = Annotated[Any, WithJsonSchema({"anyOf": [{"type": "string"},
                                                     {"$ref": "#/components/schemas/AskRequest"}]})]


class BatchRequest(BaseModel):
    """Questions answered in order; each a string or an /api/ask body."""

    model_config = ConfigDict(extra="forbid")
    questions: list[BatchItem] = Field(min_length=1, max_length=MAX_BATCH,
                                       description=f"At most {MAX_BATCH}; a bad item gets its own error in place.")


# ---------------------------------------------------------------- response models (Answer.to_dict())


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ShortAnswer(_Strict):
    kind: str = Field(description="date, number, amount, person or place")
    start: int
    end: int
    text: str = Field(description="== article.text[start:end], inside the quote")


class Citation(_Strict):
    number: int = Field(description="The [n] marker in the answer, from 1")
    article_id: str
    title: str
    date: str | None = Field(description="ISO date as precise as known: YYYY, YYYY-MM or YYYY-MM-DD")
    date_approximate: bool
    source: str | None
    url: str | None
    start: int = Field(description="Offset of the quote in the article's text")
    end: int
    quote: str = Field(description="== article.text[start:end], exactly")
    chunk_id: str
    score: float
    short_answer: ShortAnswer | None


class PassageScores(_Strict):
    dense: float
    sentence: float
    lexical: float
    date: float


class Passage(_Strict):
    rank: int
    article_id: str
    chunk_id: str
    title: str | None
    date: str | None
    score: float
    scores: PassageScores
    start: int
    end: int
    text: str = Field(description="== article.text[start:end]")


class FilterOut(_Strict):
    since: str | None
    until: str | None
    sources: list[str]
    articles: list[str]
    title: str | None
    undated: bool
    matching_articles: int = Field(description="Articles the filter keeps")
    total_articles: int
    summary: str = Field(description="e.g. \"answered from 3 of 5 articles, 2019–2021\"")


class AnswerOut(_Strict):
    """The object `qa ask --json` prints for the same question and index."""

    question: str = Field(description="The question as answered (cleaned, perhaps cut)")
    answer: str = Field(description="The quoted sentences; \"\" when abstained")
    abstained: bool
    message: str = Field(description="Why there is no answer, when abstained; else \"\"")
    confidence: float
    dated: bool = Field(description="Quotes shown newest first because the sources differ over time")
    query: str = Field(description="What was searched (a follow-up includes its context)")
    notices: list[str]
    filter: FilterOut | None = Field(description="The filter the question was answered within; null without one")
    citations: list[Citation]
    passages: list[Passage]


class ErrorOut(_Strict):
    error: str = Field(description="What is wrong and how to fix it")


class ArticleSummary(_Strict):
    id: str
    title: str
    date: str | None
    date_approximate: bool
    source: str | None
    url: str | None
    sentences: int = Field(description="Sentences the article was split into")
    chunks: int = Field(description="Passages (chunks) it was indexed as")


class ArticleList(_Strict):
    total: int = Field(description="Articles matching (all of them without q)")
    offset: int
    limit: int
    query: str
    articles: list[ArticleSummary]


class ArticleOut(_Strict):
    """The object `qa show ID --json` prints."""

    id: str
    title: str
    date: str | None
    date_approximate: bool
    date_note: str | None
    source: str | None
    url: str | None
    text: str


class Counts(_Strict):
    articles: int
    chunks: int
    sentences: int


class Model(_Strict):
    name: str | None
    dim: int | None


class Health(_Strict):
    ready: bool = Field(description="The index is loaded and questions are answered")
    generation: str | None = Field(description="The index generation in use (index/<generation>)")
    created: str | None
    counts: Counts
    model: Model
    newer_index_on_disk: bool = Field(description="qa index published a generation not loaded yet "
                                                  "(it is, within seconds)")
    answering: int = Field(description="Questions being answered or waiting now")
    capacity: int = Field(description="Questions that may be answered or wait at once; more get 503")


# ---------------------------------------------------------------- errors


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def _not_found(path: str) -> JSONResponse:
    return error_response(404, f"there is nothing at {path[:200]!r}: the routes are listed at {API_PREFIX}/docs.")


def _not_allowed(method: str, path: str, allow: str) -> JSONResponse:
    return error_response(405, f"{method} is not accepted at {path[:200]!r}: use {allow}.",
                          {"Allow": allow} if allow else None)


def _is_json(content_type: str | None) -> bool:
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def _where(loc: tuple) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path")]
    out = ""
    for p in parts:
        out += f"[{p}]" if p.isdigit() else (f".{p}" if out else p)
    return out


_TYPE_WORDS = {
    "list_type": "a JSON list", "string_type": "text (a JSON string)", "int_type": "a whole number",
    "int_parsing": "a whole number", "int_from_float": "a whole number", "dict_type": "a JSON object",
    "model_type": "a JSON object", "model_attributes_type": "a JSON object", "bool_type": "true or false",
    "bool_parsing": "true or false", "none_required": "null",
    # pydantic refuses an unpaired surrogate ("\\ud800" in the JSON) before the engine could choke on it
    "string_unicode": "valid Unicode text (an unpaired surrogate such as \\ud800 is not)",
}


def describe(errors: list[dict]) -> str:
    """One line for pydantic's first error: where, what, and how to fix it."""
    first = errors[0]
    where, kind, ctx = _where(tuple(first.get("loc", ()))), first.get("type", ""), first.get("ctx") or {}
    if kind == "missing":
        what = "is missing"
    elif kind == "extra_forbidden":
        what = "is not a field here: remove it (the reference: /api/openapi.json)"
    elif kind == "literal_error":
        what = f"must be one of {ctx.get('expected', '')}"
    elif kind in ("too_long", "too_short"):  # lists
        limit = ctx.get("max_length", ctx.get("min_length"))
        what = f"must have {'at most' if kind == 'too_long' else 'at least'} {limit} items"
    elif kind == "string_too_short":
        what = "is empty: send some text"
    elif kind == "string_too_long":
        what = f"must have at most {ctx.get('max_length')} characters"
    elif kind == "value_error":  # our validators' messages name their field
        return str(first.get("msg", "")).removeprefix("Value error, ") + "."
    elif kind in ("greater_than_equal", "less_than_equal"):
        bound = ctx.get("ge", ctx.get("le"))
        what = f"must be {'at least' if kind == 'greater_than_equal' else 'at most'} {bound}"
    elif kind in _TYPE_WORDS:
        what = f"must be {_TYPE_WORDS[kind]}"
    else:
        what = "is not valid: " + str(first.get("msg", "")).lower()
    return f"{where or 'the body'} {what}."


def add_error_handlers(app: Any) -> None:
    """Every error of the app's own routes as {"error": "…"} (Gradio's sub-app keeps its own)."""
    from fastapi.exceptions import RequestValidationError
    from starlette.exceptions import HTTPException

    async def validation(request: Any, exc: RequestValidationError):
        errors = list(exc.errors())
        if request.method == "POST" and not _is_json(request.headers.get("content-type")):
            return error_response(415, "send the body as JSON, with the header Content-Type: application/json.")
        if errors and errors[0].get("type") == "json_invalid":
            detail = (errors[0].get("ctx") or {}).get("error", "")
            return error_response(400, f"the body is not valid JSON ({detail}): send one JSON object.")
        if errors and errors[0].get("type") == "missing" and tuple(errors[0].get("loc", ())) == ("body",):
            return error_response(422, 'the body is missing: send a JSON object, e.g. {"question": "…"}.')
        return error_response(422, describe(errors))

    async def http_error(request: Any, exc: HTTPException):
        if exc.status_code == 404:
            return _not_found(request.url.path)
        if exc.status_code == 405:
            return _not_allowed(request.method, request.url.path, (exc.headers or {}).get("Allow", ""))
        if exc.status_code == 400 and "parsing the body" in str(exc.detail):
            return error_response(400, "the body is not valid JSON (it must be UTF-8): send one JSON object.")
        return error_response(exc.status_code, str(exc.detail), exc.headers)

    app.add_exception_handler(RequestValidationError, validation)
    app.add_exception_handler(HTTPException, http_error)


# ---------------------------------------------------------------- the routes


def _ask_json(engine: Any, body: AskRequest) -> bytes:
    """Runs on an answer thread: the answer, serialised as `qa ask --json` prints it."""
    history = [t.model_dump() for t in body.history][-MAX_HISTORY_MESSAGES:]
    flt = body.filter.model_dump() if body.filter is not None else None
    answer = engine.ask(body.question[:MAX_REQUEST_QUESTION_CHARS], history, method=body.method, top_k=body.top_k,
                        filter=flt)
    return json.dumps(answer.to_dict(), ensure_ascii=False).encode("utf-8")


def _batch_body(item: Any) -> AskRequest | dict:
    """A batch item as a request, or its {"error": …} in place."""
    if not isinstance(item, (str, dict)):
        return {"error": "each item of questions must be a string or an /api/ask object."}
    try:
        return AskRequest.model_validate({"question": item} if isinstance(item, str) else item)
    except ValidationError as exc:
        return {"error": describe(exc.errors())}


def words_read(body: AskRequest) -> int:
    """The work of answering ``body``, in words the engine reads: the question as it is cut
    (qa.pipeline.MAX_QUESTION_CHARS), the earlier question a follow-up is searched with (cut to
    qa.conversation.HISTORY_TURN_CHARS), the previous answer, and QUESTION_WORDS for the rest. The
    time of a question grows with them (~1.4 ms a word on two busy cores; docs/SAFETY.md)."""
    turns = body.history[-MAX_HISTORY_MESSAGES:]
    last = {t.role: t.content for t in turns}  # the last of each role
    return (QUESTION_WORDS + len(body.question[:MAX_QUESTION_CHARS].split())
            + sum(len(last.get(role, "")[:HISTORY_TURN_CHARS].split()) for role in ("user", "assistant")))


def _batch_item(engine: Any, body: AskRequest) -> bytes:
    """Runs on an answer thread: one batch answer, or its {"error": …}, as JSON."""
    try:
        return _ask_json(engine, body)
    except UsageError as exc:
        error = str(exc)
    except QAError as exc:
        error = ENGINE_FAULT.format(exc)
    except Exception:
        log.exception("batch question failed")
        error = ENGINE_FAULT.format("an unexpected error")
    return json.dumps({"error": error}, ensure_ascii=False).encode("utf-8")


async def answer_in_turn(gate: Any, fn: Any, *args: Any) -> Any:
    """``fn(*args)`` on an answer thread, waiting (not refused) while the gate's queue is full: a batch
    already accepted submits its items one at a time, so other clients' questions are answered
    between them."""
    while True:
        try:
            return await asyncio.wrap_future(gate.submit(fn, *args))
        except Busy:
            await asyncio.sleep(0.05)


def _docs_page(schema: dict) -> str:
    """A plain reference page from the OpenAPI schema: no script, nothing fetched."""
    rows = []
    for path, ops in schema.get("paths", {}).items():
        for method, op in ops.items():
            codes = ", ".join(sorted(op.get("responses", {})))
            rows.append(f"<tr><td><code>{method.upper()}</code></td><td><code>{html.escape(path)}</code></td>"
                        f"<td>{html.escape(op.get('summary', ''))}<br><small>{html.escape(op.get('description', '') or '')}"
                        f"</small></td><td>{codes}</td></tr>")
    models = "".join(f"<li><code>{html.escape(name)}</code>: "
                     f"{html.escape(', '.join(m.get('properties', {})))}</li>"
                     for name, m in schema.get("components", {}).get("schemas", {}).items())
    return ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>qa HTTP API</title>"
            "<style>body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}"
            "td{border-top:1px solid #ddd;padding:.4rem .6rem;vertical-align:top}code{font-size:.9em}</style>"
            "</head><body><h1>qa HTTP API</h1><p>JSON in, JSON out. The reference is the OpenAPI schema: "
            f"<a href=\"{API_PREFIX}/openapi.json\">{API_PREFIX}/openapi.json</a> (load it into any OpenAPI viewer). "
            "Errors are <code>{\"error\": \"…\"}</code>: 4xx for a request to fix, 503 (with Retry-After) when "
            "busy or when the engine failed.</p><table><tr><th>Method</th><th>Path</th><th>What</th>"
            f"<th>Status codes</th></tr>{''.join(rows)}</table><h2>Models</h2><ul>{models}</ul></body></html>")


def api_checks(gate: Any) -> tuple:
    """The Guard's early refusal of a question when the pool is full: before the body is read or
    validated, so that under overload a 503 costs the server next to nothing."""
    import re

    from qa.web.middleware import Check, Refusal

    def full(query: str, match: re.Match) -> Refusal | None:
        if not gate.full:
            return None
        return Refusal(503, str(Busy(gate.admitted - gate.concurrency)),
                       ((b"retry-after", str(BUSY_RETRY_AFTER_S).encode()),))

    return (Check("POST", re.compile(rf"{API_PREFIX}/ask(/batch)?/?"), query_check=full),)


router = APIRouter(prefix=API_PREFIX, tags=["qa"])
ERRORS = {400: {"model": ErrorOut, "description": "Not JSON"},
          413: {"model": ErrorOut, "description": "Body over 1 MiB"},
          415: {"model": ErrorOut, "description": "Not application/json"},
          422: {"model": ErrorOut, "description": "A field to fix (named in the message)"},
          503: {"model": ErrorOut, "description": "Busy (Retry-After) or an engine fault"}}


def _state(request: Request) -> Any:
    return request.app.state.qa  # qa.web.server.WebState


def _busy(exc: Busy) -> JSONResponse:
    return error_response(503, str(exc), {"Retry-After": str(BUSY_RETRY_AFTER_S)})


@router.post("/ask", response_model=AnswerOut, responses=ERRORS, summary="Answer a question",
             description="The answer object equals what `qa ask --json` prints for the same question.")
async def ask(body: AskRequest, request: Request):
    state = _state(request)
    try:
        return Response(await asyncio.wrap_future(state.gate.submit(_ask_json, state.engine, body)),
                        media_type="application/json")
    except Busy as exc:
        return _busy(exc)
    except UsageError as exc:
        return error_response(422, str(exc))
    except QAError as exc:
        return error_response(503, ENGINE_FAULT.format(exc))
    except Exception:
        log.exception("ask failed")
        return error_response(503, ENGINE_FAULT.format("an unexpected error"))


@router.post("/ask/batch", response_model=list[AnswerOut | ErrorOut], responses=ERRORS,
             summary="Answer several questions",
             description=f"At most {MAX_BATCH} questions reading at most {MAX_REQUEST_WORDS} words in all "
                         "(questions, and the earlier turn a follow-up is searched with), answered in order, "
                         "one at a time between other clients' questions; a bad item gets its own "
                         "{\"error\": …} in its place.")
async def ask_batch(body: BatchRequest, request: Request):
    state = _state(request)
    items = [_batch_body(item) for item in body.questions]
    words = sum(words_read(item) for item in items if isinstance(item, AskRequest))
    if words > MAX_REQUEST_WORDS:
        return error_response(422, f"this batch reads {words:,} words (questions, and the earlier turns "
                                   f"follow-ups are searched with), over the {MAX_REQUEST_WORDS:,} one request may: "
                                   "send fewer or shorter questions per call.")
    answers = []
    for item in items:
        if isinstance(item, AskRequest):
            answers.append(await answer_in_turn(state.gate, _batch_item, state.engine, item))
        else:
            answers.append(json.dumps(item, ensure_ascii=False).encode("utf-8"))
    return Response(b"[" + b",".join(answers) + b"]", media_type="application/json")


@router.get("/articles", response_model=ArticleList, responses={422: ERRORS[422]}, summary="List articles",
            description="Newest first, a page at a time; q filters by title, id or publisher.")
def list_articles(request: Request, offset: int = Query(0, ge=0, le=10**9),
                  limit: int = Query(50, ge=1, le=MAX_ARTICLES_PAGE), q: str = Query("", max_length=200)):
    page = _state(request).catalog.page(query=q, offset=offset, limit=limit)
    return ArticleList(total=page.total, offset=page.offset, limit=page.limit, query=page.query,
                       articles=[ArticleSummary(id=a.id, title=a.title, date=a.date,
                                                date_approximate=a.date_approximate, source=a.source, url=a.url,
                                                sentences=a.sentences, chunks=a.chunks)
                                 for a in page.articles])


@router.get("/articles/{article_id:path}", response_model=ArticleOut,
            responses={404: {"model": ErrorOut, "description": "Not in the collection"}},
            summary="One article (as `qa show ID --json`)")
def get_article(article_id: str, request: Request):
    article = _state(request).engine.articles.get(article_id)
    if article is None:
        shown = article_id if len(article_id) <= 100 else article_id[:100] + "…"
        return error_response(404, f"there is no article {shown!r}: list them at {API_PREFIX}/articles.")
    return article.to_dict()


@router.get("/health", response_model=Health, summary="Ready, the index in use, and load",
            description="Cheap enough to poll every second: no question is asked.")
async def health(request: Request):
    state = _state(request)
    index = state.engine.index
    manifest = index.manifest or {}
    counts, model = manifest.get("counts", {}), manifest.get("model", {})
    return Health(ready=True, generation=index.path.name, created=manifest.get("created"),
                  counts=Counts(articles=counts.get("articles", len(state.engine.articles)),
                                chunks=counts.get("chunks", 0), sentences=counts.get("sentences", 0)),
                  model=Model(name=model.get("name"), dim=model.get("dim")),
                  newer_index_on_disk=state.watcher.newer_index_on_disk(),
                  answering=state.gate.admitted, capacity=state.gate.concurrency + state.gate.max_waiting)


@router.get("/docs", response_class=HTMLResponse, include_in_schema=False)
def docs(request: Request):
    return HTMLResponse(_docs_page(request.app.openapi()),
                        headers={"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"})


async def not_here(request: Request):
    """Anything else under /api/: answered here, not by the Gradio app mounted at "/" behind it."""
    path = request.url.path
    allow = sorted({m for r in router.routes if r.path_regex.fullmatch(path) for m in (r.methods or ())})
    return _not_allowed(request.method, path, ", ".join(allow)) if allow else _not_found(path)


def add_api(app: Any) -> None:
    """Add the /api/ routes and the JSON error handlers to ``app`` (a FastAPI app whose ``state.qa`` is
    a ``qa.web.server.WebState``)."""
    app.include_router(router)
    app.add_api_route(API_PREFIX + "/{rest:path}", not_here, include_in_schema=False,
                      methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
    add_error_handlers(app)
