"""The admin listener, as the Rust services serve it (crates/chassis/src/admin.rs): plain
HTTP on a port of its own (`--admin-listen`), for an operator's tools.

- `GET /metrics`: every metric of the process in the Prometheus text format;
- `GET /healthz`: 200 while the process runs;
- `GET /readyz`: 200 while it can serve, 503 before it is ready and from the first moment
  of a stop.

It is read-only and tells nothing a caller could not count for itself. It answers one
request per connection (`Connection: close`), which is all a scraper or a probe needs, and
drops a request that is too large or too slow to arrive rather than wait on it.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Callable

from prometheus_client import CONTENT_TYPE_LATEST

log = logging.getLogger("bazaar_currency.admin")

#: The most a request's head may take, in bytes, and in seconds to arrive.
MAX_HEAD_BYTES = 8192
READ_TIMEOUT_SECS = 5.0

_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
            503: "Service Unavailable"}


class Admin:
    """An admin listener: `render` gives the metrics, `ready` whether the service can serve."""

    def __init__(self, render: Callable[[], bytes]) -> None:
        self._render = render
        self.ready = False
        self._server: asyncio.base_events.Server | None = None

    async def start(self, host: str, port: int) -> int:
        """Binds `host:port` (port 0 picks a free one) and serves; returns the port bound."""
        self._server = await asyncio.start_server(
            self._answer, host.strip("[]"), port, reuse_address=True, limit=MAX_HEAD_BYTES
        )
        return self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def respond(self, method: str, path: str) -> tuple[int, str, bytes]:
        """The status, content type and body for a request."""
        path = path.split("?", 1)[0]
        if path not in ("/metrics", "/healthz", "/readyz"):
            return 404, "text/plain; charset=utf-8", b"not found\n"
        if method not in ("GET", "HEAD"):
            return 405, "text/plain; charset=utf-8", b"only GET\n"
        if path == "/metrics":
            return 200, CONTENT_TYPE_LATEST, self._render()
        if path == "/healthz":
            return 200, "text/plain; charset=utf-8", b"ok\n"
        if self.ready:
            return 200, "text/plain; charset=utf-8", b"ready\n"
        return 503, "text/plain; charset=utf-8", b"not ready\n"

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            try:
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), READ_TIMEOUT_SECS)
            except (asyncio.LimitOverrunError, ValueError):
                head = b""  # a head larger than MAX_HEAD_BYTES
            except (asyncio.IncompleteReadError, asyncio.TimeoutError, ConnectionError):
                return
            parts = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ")
            if len(parts) != 3 or not parts[2].startswith("HTTP/"):
                status, kind, body = 400, "text/plain; charset=utf-8", b"bad request\n"
                method = "GET"
            else:
                method = parts[0]
                status, kind, body = self.respond(method, parts[1])
            writer.write(
                f"HTTP/1.1 {status} {_REASONS[status]}\r\nContent-Type: {kind}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode("latin-1")
            )
            if method != "HEAD":
                writer.write(body)
            await writer.drain()
        except ConnectionError:
            pass
        except Exception:  # one bad request must never take the listener down
            log.exception("admin listener: request failed")
        finally:
            writer.close()
