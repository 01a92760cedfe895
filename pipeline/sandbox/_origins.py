"""Fakes for the attacks issue 19 names: another origin, redirects, a body without end, a gzip bomb.

127.0.0.1 and 127.0.0.2 are two origins on one machine (all of 127.0.0.0/8 is loopback), so a test can
tell whether anything reached "the other host" by reading that server's request log.
"""

from __future__ import annotations

import threading
import zlib
from collections.abc import Callable, Mapping
from email.message import Message
from http.server import BaseHTTPRequestHandler

from pipeline.sandbox._http import Reply, Upstream

Route = Reply | Callable[[str, Message], Reply]

OTHER_HOST = "127.0.0.2"


class Recorder(Upstream):
    """Answers each path from `routes` (the path with its query first, then the path alone; 404 when
    neither is there) and records every request with its headers, names lower-cased: `seen`."""

    def __init__(self, routes: Mapping[str, Route] | None = None, *, host: str = "127.0.0.1") -> None:
        super().__init__()
        self.host = host
        self.routes: dict[str, Route] = dict(routes or {})
        self._seen: list[tuple[str, dict[str, str]]] = []
        self._seen_lock = threading.Lock()

    @property
    def seen(self) -> list[tuple[str, dict[str, str]]]:
        """`(path with query, headers)` of every request so far, oldest first."""
        with self._seen_lock:
            return list(self._seen)

    def respond(self, path: str, headers: Message) -> Reply:
        with self._seen_lock:
            self._seen.append((path, {name.lower(): value for name, value in headers.items()}))
        route = self.routes.get(path) or self.routes.get(path.partition("?")[0])
        if route is None:
            return Reply(404, b'{"error": "not found"}')
        return route(path, headers) if callable(route) else route


def redirect(location: str, *, status: int = 302) -> Reply:
    """A redirect to `location` (absolute or relative)."""
    return Reply(status, b"", headers={"Location": location})


def json_of_size(n: int) -> bytes:
    """A JSON array of zeros exactly `n` bytes long (n >= 3)."""
    if n < 3:
        raise ValueError("a JSON array of zeros takes at least 3 bytes")
    head = b"[" if n % 2 else b"[ "
    return head + b"0," * ((n - len(head) - 2) // 2) + b"0]"


def gzip_bomb(decoded_bytes: int) -> bytes:
    """`json_of_size(decoded_bytes)`, gzipped: about a thousandth of its size on the wire. Built a
    piece at a time, so a bomb of gigabytes never sits decoded in memory."""
    head = b"[" if decoded_bytes % 2 else b"[ "
    zeros = (decoded_bytes - len(head) - 2) // 2
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # wbits 31: a gzip member
    parts = [packer.compress(head)]
    piece = b"0," * (1 << 19)
    for _ in range(zeros // (1 << 19)):
        parts.append(packer.compress(piece))
    parts += [packer.compress(b"0," * (zeros % (1 << 19)) + b"0]"), packer.flush()]
    return b"".join(parts)


def gzipped(body: bytes) -> Reply:
    """A 200 whose body is `body` sent gzip-encoded (the client sees `body` once decoded)."""
    return Reply(200, body, headers={"Content-Encoding": "gzip"})


class EndlessJson(Upstream):
    """Answers every GET with a chunked JSON array of zeros that never ends: `[0,0,0,...` until the
    client hangs up (or `cap` bytes, so a broken client cannot keep a test running). `sent` counts the
    bytes written; much of them may still sit in socket buffers when the client stops reading."""

    def __init__(self, *, host: str = "127.0.0.1", chunk: int = 64 * 1024, cap: int = 4 << 30) -> None:
        super().__init__()
        self.host = host
        self.chunk = chunk
        self.cap = cap
        self.sent = 0

    def serve(self, handler: BaseHTTPRequestHandler) -> None:
        with self._log_lock:
            self._log.append((handler.path, 200))
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        handler.close_connection = True
        payload = b"[" + b"0," * (self.chunk // 2 - 1) + b"0"
        frame = b"%x\r\n%s\r\n" % (len(payload), payload)
        rest = b"," + payload[1:]
        frame_rest = b"%x\r\n%s\r\n" % (len(rest), rest)
        try:
            handler.wfile.write(frame)
            self.sent += len(payload)
            while self.sent < self.cap:
                handler.wfile.write(frame_rest)
                self.sent += len(rest)
        except (BrokenPipeError, ConnectionResetError):
            return  # the client stopped reading: what this fake is for
