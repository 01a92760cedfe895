"""Plumbing shared by the fake upstreams: a quiet threaded HTTP server that can be stopped cleanly.

The subclasses in ``servers`` only decide *what* to answer (a ``Reply``); this module owns the thread,
the socket lifecycle, latency, the request log and the byte-level writing (including deliberately
truncated bodies), so the fault behaviour is the same for every upstream.
"""

from __future__ import annotations

import contextlib
import json
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

from pipeline.sandbox._service import Service

_CHUNK = 64 * 1024


@dataclass
class Reply:
    """What to send back. ``truncate`` sends only half the body, then hangs up: after declaring the full
    Content-Length, or, with ``content_length=False``, HTTP/1.0-style, ending the body by closing."""

    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    truncate: bool = False
    content_length: bool = True


def json_reply(status: int, payload: Any, *, headers: dict[str, str] | None = None) -> Reply:
    """A JSON reply, serialised compactly like the real APIs do."""
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Reply(status, body, headers=dict(headers or {}))


class _QuietServer(ThreadingHTTPServer):
    """ThreadingHTTPServer that tracks open connections so ``stop`` can cut idle keep-alive clients."""

    daemon_threads = True

    def __init__(self, upstream: Upstream) -> None:
        self.upstream = upstream
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__((upstream.host, 0), _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients hanging up mid-response (timeouts, truncation tests) are expected, not worth a traceback.
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)

    def drop_connections(self) -> None:
        """Shut every open client socket so handler threads blocked on keep-alive reads return."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):  # already closed by the client
                connection.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    """Delegates every GET to the owning upstream; HTTP/1.1 so clients can reuse connections."""

    protocol_version = "HTTP/1.1"
    timeout = 60
    server: _QuietServer

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes; without NODELAY, Nagle plus delayed ACKs add ~40 ms
        # to every keep-alive request, which would dominate benchmarks.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:  # name fixed by BaseHTTPRequestHandler
        self.server.upstream.serve(self)

    def log_message(self, format: str, *args: Any) -> None:  # signature fixed by the base
        """Silent: benchmarks send thousands of requests and stderr noise hides real failures."""


class Upstream(Service):
    """Base of the fake upstreams: lifecycle, latency, request log; subclasses implement ``respond``.

    ``host`` is the loopback address it binds (set before ``start``): 127.0.0.2 is a second origin."""

    host = "127.0.0.1"

    def __init__(self, *, latency_s: float = 0.0) -> None:
        self.latency_s = latency_s
        self._log: list[tuple[str, int]] = []
        self._log_lock = threading.Lock()
        self._server: _QuietServer | None = None
        self._thread: threading.Thread | None = None

    def respond(self, path: str, headers: Message) -> Reply:
        """The reply for one GET of ``path`` (path plus query string)."""
        raise NotImplementedError

    @property
    def requests(self) -> list[tuple[str, int]]:
        """Snapshot of ``(path_with_query, status)`` for every request answered so far, oldest first."""
        with self._log_lock:
            return list(self._log)

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` (its ``host``) without a trailing slash."""
        if self._server is None:
            raise RuntimeError(f"{type(self).__name__} is not running; use it as a context manager")
        return f"http://{self.host}:{self._server.server_address[1]}"

    def start(self) -> Self:
        """Bind a free port on ``host`` and serve from a daemon thread."""
        if self._server is None:
            self._server = _QuietServer(self)
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"sandbox-{type(self).__name__}",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting, cut open connections and release the port; safe to call twice."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is None:
            return
        server.shutdown()
        server.drop_connections()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def serve(self, handler: BaseHTTPRequestHandler) -> None:
        """Answer one request: latency, the subclass's reply, log entry, then the bytes."""
        if self.latency_s > 0:
            time.sleep(self.latency_s)
        reply = self.respond(handler.path, handler.headers)
        # Log before writing, so a client that has its response can already see the entry.
        with self._log_lock:
            self._log.append((handler.path, reply.status))
        _write(handler, reply)


def _write(handler: BaseHTTPRequestHandler, reply: Reply) -> None:
    """Send ``reply`` in chunks from a memoryview, so a large body is never copied per request."""
    handler.send_response(reply.status)
    handler.send_header("Content-Type", reply.content_type)
    if reply.content_length:
        handler.send_header("Content-Length", str(len(reply.body)))
    else:
        handler.send_header("Connection", "close")
        handler.close_connection = True
    for name, value in reply.headers.items():
        handler.send_header(name, value)
    handler.end_headers()
    view = memoryview(reply.body)
    end = len(view) // 2 if reply.truncate else len(view)
    for start in range(0, end, _CHUNK):
        handler.wfile.write(view[start : min(start + _CHUNK, end)])
    if reply.truncate:
        handler.wfile.flush()
        handler.close_connection = True
