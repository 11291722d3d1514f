"""Which of Gradio's routes this app keeps, and checks of their requests that Gradio itself answers
with a 500, a traceback in the log or a silent ``{"error": null}`` (Gradio 6.31, pinned).

Kept: the page and its files, the queue the page runs its events on, the ``/ask`` endpoint in its
three forms (queue call, v2 call, run) and the API description. Dropped (404 from the Guard):
Gradio's file server and proxy (this app serves no files), login, monitoring, vibe editing,
streaming, recording, custom components, run history and dev reload.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs

from qa.web.middleware import NOT_JSON, Check, Refusal, Route

API_NAME = "ask"
ID = r"[A-Za-z0-9_\-]{1,100}"  # session hashes and event ids as Gradio makes them
_ID = re.compile(ID)
ASK_USAGE = ('send {"data": [question, history]} or {"data": [question, history, filter]}, with history [] when '
             'there are no earlier turns and filter an object such as {"since": "2019"} or null')


def gradio_routes(*, uploads: bool) -> tuple[Route, ...]:
    """The Gradio routes callers may use; ``uploads`` when the Evaluation tab takes files."""
    routes = [
        Route.of("GET", r"/"),
        Route.of("GET", r"/config/?"),
        Route.of("GET", r"/(gradio_api/)?theme\.css"),
        # Segments over 200 characters are refused here: Starlette's StaticFiles answers a name too
        # long for the file system (ENAMETOOLONG) with a 500.
        Route.of("GET", r"/(assets|static|svelte)/(?:[^/]{1,200}/)*[^/]{1,200}"),
        Route.of("GET", r"/(favicon\.ico|robots\.txt|manifest\.json)"),
        Route.of("GET", r"/gradio_api/info/?"),
        Route.of("GET", r"/gradio_api/(app_id|login_check|user)/?"),
        Route.of("GET", r"/gradio_api/startup-events"),
        Route.of("POST", r"/gradio_api/queue/join"),
        Route.of("GET", r"/gradio_api/queue/(data|status)"),
        Route.of("POST", r"/gradio_api/cancel"),
        Route.of("POST", r"/gradio_api/reset/?"),
        # An id with control characters makes the heartbeat's cleanup fail (Gradio builds a URL of it).
        Route.of("GET", rf"/gradio_api/heartbeat/{ID}"),
        Route.of("POST", r"/gradio_api/(call|call/v2|run)/[^/]{1,100}/?"),  # names other than ask: 404
        Route.of("GET", rf"/gradio_api/call(/v2)?/{API_NAME}/{ID}"),
    ]
    if uploads:
        routes.append(Route.of("POST", r"/gradio_api/upload"))
    return tuple(routes)


def _data_refusal(data: Any) -> Refusal | None:
    """The /ask endpoint's data: [question, history] or [question, history, filter]."""
    if not isinstance(data, list):
        return Refusal(422, f"'data' is missing or not a list: {ASK_USAGE}.")
    if not data:
        return Refusal(422, f"'data' is empty: {ASK_USAGE}.")
    if len(data) == 1:
        return Refusal(422, f"history is missing: {ASK_USAGE}.")
    if len(data) > 3:
        return Refusal(422, f"'data' has {len(data)} values, the endpoint takes 2 or 3: {ASK_USAGE}.")
    if len(data) == 3 and data[2] is not None and not isinstance(data[2], dict):
        return Refusal(422, f"the filter must be an object or null: {ASK_USAGE}.")
    return None


def _filter_last(body: Any) -> Any:
    """[question, history] as [question, history, null]: Gradio needs a value for every parameter, and
    calls written before the filter existed send two."""
    data = body.get("data") if isinstance(body, dict) else None
    if isinstance(data, list) and len(data) == 2:
        return {**body, "data": [*data, None]}
    return body


def _check_json_object(body: Any, match: re.Match) -> Refusal | None:
    """Gradio's JSON routes answer a body that is not UTF-8 JSON with a 500 (FastAPI cannot print it)."""
    if body is NOT_JSON:
        return Refusal(400, "the body is not valid JSON: send a JSON object, UTF-8 encoded.")
    if not isinstance(body, dict):
        return Refusal(422, "the body must be a JSON object.")
    return None


def _check_api_name(query: str, match: re.Match) -> Refusal | None:
    name = match.group("name")
    if name != API_NAME and not (name == "predict" and match.group(1) == "run"):
        return Refusal(404, f"there is no API endpoint {name[:100]!r}: the one endpoint is {API_NAME!r} "
                            f"(/gradio_api/call/{API_NAME}), or use the JSON API at /api/ask.")
    return None


def _check_simple_call(body: Any, match: re.Match) -> Refusal | None:
    if body is NOT_JSON:
        return Refusal(400, f"the body is not valid JSON: {ASK_USAGE}.")
    if not isinstance(body, dict):
        return Refusal(422, f"the body must be a JSON object with 'data': {ASK_USAGE}.")
    return _data_refusal(body.get("data"))


def _check_v2_call(body: Any, match: re.Match) -> Refusal | None:
    usage = 'send {"question": "…", "history": [], "filter": null}'
    if body is NOT_JSON:
        return Refusal(400, f"the body is not valid JSON: {usage}.")
    if not isinstance(body, dict):
        return Refusal(422, f"the body must be a JSON object: {usage}.")
    unknown = sorted(set(body) - {"question", "history", "filter"})
    if unknown:
        return Refusal(422, f"unknown field(s) {', '.join(map(repr, unknown))}: the endpoint takes question, "
                            f"history and filter: {usage}.")
    if "question" not in body:
        return Refusal(422, f"question is missing: {usage}.")
    if "history" not in body:
        return Refusal(422, f"history is missing: {usage} (history [] when there are no earlier turns).")
    return None


class GradioChecks:
    """Checks that need the mounted Blocks: which events exist, which sessions and events are pending."""

    def __init__(self, blocks: Any):
        self.blocks = blocks

    def _fn(self, fn_index: Any) -> Any:
        if type(fn_index) is not int:
            return None
        return self.blocks.fns.get(fn_index)

    def check_join(self, body: Any, match: re.Match) -> Refusal | None:
        """The page's queued events (POST /gradio_api/queue/join)."""
        return self._check_event(body, session_required=True)

    def check_predict(self, body: Any, match: re.Match) -> Refusal | None:
        """The page's events that skip the queue (POST /gradio_api/run/predict)."""
        return self._check_event(body, session_required=False)

    def _check_event(self, body: Any, session_required: bool) -> Refusal | None:
        if body is NOT_JSON:
            return Refusal(400, "the body is not valid JSON: send a JSON object, UTF-8 encoded.")
        if not isinstance(body, dict):
            return Refusal(422, "the body must be a JSON object with fn_index, data and session_hash.")
        fn = self._fn(body.get("fn_index"))
        if fn is None:
            return Refusal(422, "fn_index names no event of this app: read the events from /config, or call "
                                f"/gradio_api/call/{API_NAME} (README: API).")
        session = body.get("session_hash")
        if (session_required or session is not None) and not (isinstance(session, str) and _ID.fullmatch(session)):
            return Refusal(422, "session_hash must be 1 to 100 letters, digits, '_' or '-'.")
        if body.get("event_data") is not None and not isinstance(body.get("event_data"), dict):
            return Refusal(422, "event_data must be an object or null.")
        data = body.get("data")
        if fn.api_name == API_NAME:
            return _data_refusal(data)
        if not isinstance(data, list) or len(data) != len(fn.inputs):
            return Refusal(422, f"this event takes {len(fn.inputs)} input value(s) in 'data'.")
        return None

    def _pending_session(self, session: str) -> bool:
        queue = self.blocks._queue
        return session in queue.pending_messages_per_session

    def _pending_event(self, event_id: str) -> bool:
        queue = self.blocks._queue
        return event_id in queue.event_ids_to_events or any(
            event_id in ids for ids in list(queue.pending_event_ids_session.values()))

    def check_event_stream(self, query: str, match: re.Match) -> Refusal | None:
        event_id = match.group("event")
        if not self._pending_event(event_id):
            return Refusal(404, f"no pending event {event_id[:100]!r}: post the question to "
                                f"/gradio_api/call/{API_NAME} first, then read its stream once.")
        return None

    def check_session_stream(self, query: str, match: re.Match) -> Refusal | None:
        session = (parse_qs(query).get("session_hash") or [""])[0]
        if not _ID.fullmatch(session) or not self._pending_session(session):
            return Refusal(404, "no pending events for this session_hash: join the queue first "
                                "(/gradio_api/queue/join).")
        return None

    def checks(self) -> tuple[Check, ...]:
        return (
            Check("POST", re.compile(r"/gradio_api/(call|call/v2|run)/(?P<name>[^/]+)/?"), query_check=_check_api_name),
            Check("POST", re.compile(rf"/gradio_api/(call|run)/{API_NAME}/?"), _check_simple_call,
                  rewrite=_filter_last),
            Check("POST", re.compile(r"/gradio_api/run/predict/?"), self.check_predict),
            Check("POST", re.compile(rf"/gradio_api/call/v2/{API_NAME}/?"), _check_v2_call),
            Check("POST", re.compile(r"/gradio_api/queue/join"), self.check_join),
            Check("POST", re.compile(r"/gradio_api/(cancel|reset/?)"), _check_json_object),
            Check("GET", re.compile(rf"/gradio_api/call(/v2)?/{API_NAME}/(?P<event>[^/]+)"),
                  query_check=self.check_event_stream),
            Check("GET", re.compile(r"/gradio_api/queue/data"), query_check=self.check_session_stream),
        )
