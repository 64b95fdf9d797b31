"""How the API is served over HTTP: uvicorn with h11, a bounded request head, and a clear answer
when a client sends more than that bound.

uvicorn's h11 protocol answers an oversized request head with "400 Invalid HTTP request" and
closes the socket at once, while the client is still sending: the unread bytes make the kernel
reset the connection, and the client sees a reset instead of an answer. Here the answer is 414
(request line too long) or 431 (headers too large), with a one-line body, and the connection is
closed the way web servers do it (nginx's "lingering close"): stop writing, read and discard
what the client still sends, then close.
"""

from __future__ import annotations

from typing import Any

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from stadspuls.query.parser import MAX_QUERY_CHARS

# Request line and headers together. The longest query the language accepts, percent-encoded
# (up to 4 UTF-8 bytes a character, 3 characters a byte), fits with room for other parameters.
MAX_REQUEST_HEAD = 16 * 1024 + MAX_QUERY_CHARS * 12
# A client that keeps sending after its answer is given this long and this much, then cut off.
LINGER_SECONDS = 2.0
LINGER_BYTES = 4 * 1024 * 1024


class BoundedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, answering an oversized request head with 414 or 431."""

    _lingering = False
    _discarded = 0

    def send_400_response(self, msg: str) -> None:
        pending, _ = self.conn.trailing_data
        limit = self.config.h11_max_incomplete_event_size or MAX_REQUEST_HEAD
        if len(pending) <= limit:
            status, text = 400, msg
        elif b"\r\n" not in pending:
            status, text = 414, f"request line longer than {limit} bytes (URI too long)"
        else:
            status, text = 431, f"request line and headers longer than {limit} bytes"
        self._answer_and_linger(status, text)

    def _answer_and_linger(self, status: int, text: str) -> None:
        # h11 is in its error state and sends nothing more: the response is written by hand.
        body = text.encode() + b"\n"
        reason = {400: "Bad Request", 414: "URI Too Long", 431: "Request Header Fields Too Large"}
        head = (
            f"HTTP/1.1 {status} {reason[status]}\r\n"
            "content-type: text/plain; charset=utf-8\r\n"
            f"content-length: {len(body)}\r\n"
            "connection: close\r\n\r\n"
        )
        self.transport.write(head.encode() + body)
        self._lingering = True
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.loop.call_later(LINGER_SECONDS, self._close)

    def _close(self) -> None:
        if not self.transport.is_closing():
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        if not self._lingering:
            super().data_received(data)
            return
        self._discarded += len(data)
        if self._discarded > LINGER_BYTES:
            self._close()

    def eof_received(self) -> None:
        if self._lingering:
            self._close()
            return
        super().eof_received()


def uvicorn_config(app: Any, *, host: str, port: int, **options: Any) -> uvicorn.Config:
    """The uvicorn configuration `stadspuls run` serves the API with."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        http=BoundedH11Protocol,
        h11_max_incomplete_event_size=MAX_REQUEST_HEAD,
        **options,
    )
