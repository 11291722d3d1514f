"""Which of Gradio's routes this app keeps, and checks of their requests that Gradio itself answers
with a 500, a traceback in the log or a silent ``{"error": null}`` (Gradio 6.31, pinned).

Kept: the page and its files and the queue the page runs its events on. Dropped (404 from the
Guard): Gradio's API endpoints (``/gradio_api/call/…``: programs use the JSON API at /api/), its
file server and proxy (this app serves no files), login, monitoring, vibe editing, streaming,
recording, custom components, run history and dev reload.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs

from qa.web.middleware import NOT_JSON, Check, Refusal, Route

ID = r"[A-Za-z0-9_\-]{1,100}"  # session hashes and event ids as Gradio makes them
_ID = re.compile(ID)


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
        Route.of("POST", r"/gradio_api/run/predict/?"),  # the page's events that skip the queue
    ]
    if uploads:
        routes.append(Route.of("POST", r"/gradio_api/upload"))
    return tuple(routes)


def _plain(value: Any) -> bool:
    """An input value of this page's events: its components are textboxes, a checkbox, a multiselect
    and server-side state. Gradio copies a file named by any object shaped like its FileData, in *any*
    input, into its cache before a handler runs (its upload-folder check is skipped for a mounted app),
    so no object reaches it."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return True
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _check_json_object(body: Any, match: re.Match) -> Refusal | None:
    """Gradio's JSON routes answer a body that is not UTF-8 JSON with a 500 (FastAPI cannot print it)."""
    if body is NOT_JSON:
        return Refusal(400, "the body is not valid JSON: send a JSON object, UTF-8 encoded.")
    if not isinstance(body, dict):
        return Refusal(422, "the body must be a JSON object.")
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
            return Refusal(422, "fn_index names no event of this app: read the events from /config; programs "
                                "use the JSON API (/api/docs).")
        session = body.get("session_hash")
        if (session_required or session is not None) and not (isinstance(session, str) and _ID.fullmatch(session)):
            return Refusal(422, "session_hash must be 1 to 100 letters, digits, '_' or '-'.")
        if body.get("event_data") is not None and not isinstance(body.get("event_data"), dict):
            return Refusal(422, "event_data must be an object or null.")
        data = body.get("data")
        if not isinstance(data, list) or len(data) != len(fn.inputs):
            return Refusal(422, f"this event takes {len(fn.inputs)} input value(s) in 'data'.")
        if not all(map(_plain, data)):
            return Refusal(422, "this page's events take text, numbers, true/false, null or lists of text: "
                                "no objects (no files).")
        return None

    def _pending_session(self, session: str) -> bool:
        queue = self.blocks._queue
        return session in queue.pending_messages_per_session

    def check_session_stream(self, query: str, match: re.Match) -> Refusal | None:
        session = (parse_qs(query).get("session_hash") or [""])[0]
        if not _ID.fullmatch(session) or not self._pending_session(session):
            return Refusal(404, "no pending events for this session_hash: join the queue first "
                                "(/gradio_api/queue/join).")
        return None

    def checks(self) -> tuple[Check, ...]:
        return (
            Check("POST", re.compile(r"/gradio_api/run/predict/?"), self.check_predict),
            Check("POST", re.compile(r"/gradio_api/queue/join"), self.check_join),
            Check("POST", re.compile(r"/gradio_api/(cancel|reset/?)"), _check_json_object),
            Check("GET", re.compile(r"/gradio_api/queue/data"), query_check=self.check_session_stream),
        )
