"""The one ASGI middleware every request passes through: the request body limit."""

from __future__ import annotations

from typing import Any

from qa.web.limits import MAX_REQUEST_BYTES


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
