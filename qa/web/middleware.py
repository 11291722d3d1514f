"""The one ASGI middleware every request passes through: Host check, cross-origin refusal, the route
allow-list and body checks, the body size limit, and the security headers of every response."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from qa.web.hosts import parse_host, same_origin
from qa.web.limits import MAX_REQUEST_BYTES

log = logging.getLogger(__name__)

# Sent with every response. Frames: only pages of this server may frame its pages. The chat page
# keeps no Content-Security-Policy of its own (Gradio's page needs inline scripts and styles), so
# it gets the frame rule alone; a page with a policy (the article page) gets frame-ancestors added
# when it has none.
SECURITY_HEADERS = (
    (b"x-frame-options", b"SAMEORIGIN"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
)
FRAME_ANCESTORS = b"frame-ancestors 'self'"


@dataclass(frozen=True)
class Refusal:
    """A request refused before it reaches a route: status and the one-line error for the caller."""

    status: int
    error: str
    headers: tuple[tuple[bytes, bytes], ...] = ()


@dataclass(frozen=True)
class Route:
    """Requests the app serves: these methods (HEAD goes with GET) on paths matching ``pattern``."""

    methods: frozenset[str]
    pattern: re.Pattern

    @classmethod
    def of(cls, methods: str, pattern: str) -> "Route":
        return cls(frozenset(methods.split()), re.compile(pattern))


# A body check sees the parsed JSON body (NOT_JSON when the bytes are not UTF-8 JSON, None for an
# empty body) and the path's match; it returns a Refusal for a request the route behind it would
# answer with a 500 or a silent error.
BodyCheck = Callable[[Any, re.Match], "Refusal | None"]
NOT_JSON = type("NotJson", (), {"__repr__": lambda self: "NOT_JSON"})()


@dataclass(frozen=True)
class Check:
    method: str
    pattern: re.Pattern
    check: BodyCheck | None = None  # reads the body (buffered, then replayed to the app)
    query_check: Callable[[str, re.Match], "Refusal | None"] | None = None  # reads the query string


@dataclass(frozen=True)
class Policy:
    """What the Guard lets through.

    Usage example:
        Policy(allowed_hosts=frozenset({"127.0.0.1", "localhost", "::1"}),
               routes=(Route.of("GET", r"/"),), max_body_bytes=1 << 20)
    """

    allowed_hosts: frozenset[str]
    routes: tuple[Route, ...]
    checks: tuple[Check, ...] = ()
    max_body_bytes: int = MAX_REQUEST_BYTES
    shown_address: str = "http://127.0.0.1:7860/"  # named in the wrong-Host error


def _json_response(refusal: Refusal) -> tuple[dict, dict]:
    body = json.dumps({"error": refusal.error}, ensure_ascii=False).encode("utf-8")
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
               *refusal.headers]
    return ({"type": "http.response.start", "status": refusal.status, "headers": headers},
            {"type": "http.response.body", "body": body})


def with_security_headers(headers: Sequence[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """The response headers with every CORS grant removed and the security headers set."""
    out = []
    csp = None
    for name, value in headers:
        lower = name.lower()
        if lower.startswith(b"access-control-") or lower in {n for n, _ in SECURITY_HEADERS}:
            continue  # no cross-origin grants, whatever a route (Gradio's CORS middleware) added
        if lower == b"content-security-policy":
            csp = value
            continue
        out.append((name, value))
    if csp is None:
        csp = FRAME_ANCESTORS
    elif b"frame-ancestors" not in csp:
        csp = csp.rstrip(b"; ") + b"; " + FRAME_ANCESTORS
    out.append((b"content-security-policy", csp))
    out.extend(SECURITY_HEADERS)
    return out


class Guard:
    """ASGI middleware in front of every route (the Gradio app's included).

    In order: the Host header must name this server (DNS rebinding: 421); a request with an Origin
    other than this server's own is refused (no cross-origin use at all: 403); the method and path
    must be a route of the app (404 / 405); a body over ``max_body_bytes`` is refused by its
    Content-Length or as soon as the bytes read pass it (413), and no route sees the rest; routes
    with a body or query check are refused (4xx) before they can fail. Every response, refusals
    included, gets SECURITY_HEADERS and loses any Access-Control-* header. Refusals are JSON:
    ``{"error": "<what is wrong and how to fix it>"}``.
    """

    def __init__(self, app: Any, policy: Policy):
        self.app = app
        self.policy = policy

    async def _refuse(self, send: Any, refusal: Refusal) -> None:
        start, body = _json_response(refusal)
        start["headers"] = with_security_headers(start["headers"])
        await send(start)
        await send(body)

    def _precheck(self, scope: dict) -> Refusal | None:
        raw = scope.get("headers") or ()
        hosts = [v.decode("latin-1") for k, v in raw if k == b"host"]
        if len(hosts) != 1:
            return Refusal(400, f"the request has {len(hosts) or 'no'} Host headers: send exactly one, the "
                                f"server's address, e.g. {self.policy.shown_address}")
        host = parse_host(hosts[0])
        if host is None or host[0] not in self.policy.allowed_hosts:
            shown = hosts[0] if len(hosts[0]) <= 100 else hosts[0][:100] + "…"
            return Refusal(421 if host else 400,
                           f"this server does not answer to the host name {shown!r}: open "
                           f"{self.policy.shown_address}, or restart `qa serve` with "
                           f"--allowed-host NAME to serve that name too.")
        origins = [v.decode("latin-1") for k, v in raw if k == b"origin"]
        if origins and (len(origins) > 1 or not same_origin(origins[0], host, scope.get("scheme", "http"))):
            return Refusal(403, "cross-origin requests are not allowed: call this server from its own "
                                "pages, or from a script or program (which sends no Origin header).")
        method, path = scope.get("method", "GET"), scope.get("path", "")
        allowed_methods: set[str] = set()
        for route in self.policy.routes:
            if route.pattern.fullmatch(path):
                allowed_methods |= route.methods | ({"HEAD"} if "GET" in route.methods else set())
        if not allowed_methods:
            log.info("refused %s %s: not a route of this app", method, path[:200])
            return Refusal(404, f"there is nothing at {path[:200]!r}: the chat is at /, the JSON API at "
                                "/api/ (its reference: /api/docs).")
        if method not in allowed_methods:
            allow = ", ".join(sorted(allowed_methods))
            return Refusal(405, f"{method} is not accepted at {path[:200]!r}: use {allow}.",
                           ((b"allow", allow.encode()),))
        for name, value in scope.get("headers") or ():
            if name == b"content-length":
                if not value.strip().isdigit() or int(value) > self.policy.max_body_bytes:
                    return self._too_large()
        return None

    def _too_large(self) -> Refusal:
        return Refusal(413, f"the request body is over {self.policy.max_body_bytes} bytes: send less "
                            "(for many questions, several /api/ask/batch calls).")

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        refusal = self._precheck(scope)
        if refusal is not None:
            return await self._refuse(send, refusal)

        checks = [(c, m) for c in self.policy.checks
                  if c.method == scope.get("method") and (m := c.pattern.fullmatch(scope.get("path", "")))]
        for check, match in checks:
            if check.query_check is not None:
                refusal = check.query_check(scope.get("query_string", b"").decode("latin-1"), match)
                if refusal is not None:
                    return await self._refuse(send, refusal)
        body_checks = [(c, m) for c, m in checks if c.check is not None]
        if body_checks:
            chunks, size = [], 0
            while True:
                message = await receive()
                if message["type"] != "http.request":
                    return  # the client went away
                chunks.append(message.get("body") or b"")
                size += len(chunks[-1])
                if size > self.policy.max_body_bytes:
                    return await self._refuse(send, self._too_large())
                if not message.get("more_body"):
                    break
            raw = b"".join(chunks)
            try:
                parsed = json.loads(raw) if raw else None
            except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
                parsed = NOT_JSON
            for check, match in body_checks:
                refusal = check.check(parsed, match)
                if refusal is not None:
                    return await self._refuse(send, refusal)
            replayed = False

            async def receive_buffered() -> Any:
                nonlocal replayed
                if not replayed:
                    replayed = True
                    return {"type": "http.request", "body": raw, "more_body": False}
                return await receive()

            return await self._forward(scope, receive_buffered, send, counted=False)
        return await self._forward(scope, receive, send)

    async def _forward(self, scope: Any, receive: Any, send: Any, counted: bool = True) -> None:
        received = 0
        tripped = False
        started = False

        async def limited_receive() -> Any:
            nonlocal received, tripped
            message = await receive()
            if counted and message.get("type") == "http.request":
                received += len(message.get("body") or b"")
                if received > self.policy.max_body_bytes:
                    tripped = True
                    from starlette.exceptions import HTTPException

                    raise HTTPException(413, "request body too large")
            return message

        async def guarded_send(message: Any) -> None:
            nonlocal started
            if tripped:  # whatever the route answers to its cut-off body, the caller gets our 413
                if not started:
                    started = True
                    await self._refuse(send, self._too_large())
                return
            if message.get("type") == "http.response.start":
                started = True
                message = dict(message, headers=with_security_headers(message.get("headers") or ()))
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if started:
                raise
            if tripped:
                return await self._refuse(send, self._too_large())
            log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path", "")[:200])
            return await self._refuse(send, Refusal(500, "the server failed on this request; the details "
                                                         "are in its log."))
        if tripped and not started:
            await self._refuse(send, self._too_large())

