"""The HTTP connection as `qa serve` reads it: uvicorn's httptools protocol with a bound on each
request head (size and time) and on the number of open connections.

llhttp (httptools) has no limit of its own on a request head, and uvicorn keeps every header line
it is given: one request with 60 MB of header lines took the server from 389 to 1,376 MB, and a
connection that sends a header byte every few seconds was never closed (benchmarks/server_limits.py).
Here a head over MAX_HEAD_BYTES is answered 431 and the connection closed, before the rest is read;
a head not whole within HEAD_TIMEOUT_S is answered 408 and closed; beyond MAX_CONNECTIONS open
connections a new one is answered 503 at once and closed.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from qa.web.limits import HEAD_TIMEOUT_S, MAX_CONNECTIONS, MAX_HEAD_BYTES


def _reply(status: str, message: str) -> bytes:
    body = ('{"error": "%s"}' % message).encode("ascii")
    return (f"HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n"
            "connection: close\r\n\r\n").encode("ascii") + body


TOO_LARGE = _reply("431 Request Header Fields Too Large",
                   f"the request line and headers are over {MAX_HEAD_BYTES // 1024} KiB: send fewer or shorter "
                   "headers.")
TOO_SLOW = _reply("408 Request Timeout",
                  f"the request line and headers did not arrive within {HEAD_TIMEOUT_S:g} s: send the whole "
                  "request head at once.")
TOO_MANY = _reply("503 Service Unavailable",
                  f"the server has {MAX_CONNECTIONS} connections open: close idle ones, or try again shortly.")


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """``uvicorn.Config(app, http=BoundedHttpToolsProtocol)``: see the module docstring.

    A head is every byte from the end of the previous request's body (or the connection's start) to
    the end of its headers; its bytes are counted before the parser sees them, so no more than
    MAX_HEAD_BYTES of it is ever buffered.
    """

    max_head_bytes = MAX_HEAD_BYTES
    head_timeout_s = HEAD_TIMEOUT_S
    max_connections = MAX_CONNECTIONS

    def connection_made(self, transport: Any) -> None:  # type: ignore[override]
        self._head_bytes = 0
        self._in_body = False
        self._heads = 0  # heads read whole on this connection
        self._head_timer: asyncio.TimerHandle | None = None
        if len(self.server_state.connections) >= self.max_connections:
            transport.write(TOO_MANY)
            transport.close()
            return
        super().connection_made(transport)
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        if self.transport is not None:  # refused connections were never added
            super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._in_body or self.parser is None:
            return super().data_received(data)
        room = self.max_head_bytes - self._head_bytes
        if len(data) <= room:
            self._head_bytes += len(data)
            return super().data_received(data)
        self._head_bytes += room
        heads = self._heads
        super().data_received(data[:room])
        if self._heads != heads and not self.transport.is_closing():  # the head ended within the room
            return self.data_received(data[room:])
        self._refuse(TOO_LARGE)

    def _refuse(self, reply: bytes) -> None:
        if not self.transport.is_closing():
            self.transport.write(reply)
            self.transport.close()

    def _arm_head_timer(self) -> None:
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(self.head_timeout_s, self._head_timed_out)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self._in_body:
            return
        if self.cycle is not None and not self.cycle.response_complete:  # a pipelined head behind a long reply
            return self._arm_head_timer()
        self._refuse(TOO_SLOW)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm_head_timer()

    def on_headers_complete(self) -> None:
        self._in_body = True
        self._heads += 1
        self._head_bytes = 0
        self._cancel_head_timer()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._in_body = False
        super().on_message_complete()
