"""Fake operators that try what a feed nobody controls can do to its reader (issue 19).

A server's ``Hostile`` makes its pages from ``from_page`` on (0: the first request) misbehave:

- ``link_elsewhere``: the Link to such a page (and an ``items_cursor`` URL ``next``) names the same path
  and query on the ``elsewhere`` origin, echoed parameters and all (a query-parameter secret too);
- ``redirect_elsewhere``: a request for such a page answers ``302`` to the same path and query on
  ``elsewhere``;
- ``endless_page``: such a page is streamed chunked, without Content-Length, and never ends
  (``{"data":[0,0,0,...`` until the client hangs up, or ``ENDLESS_CAP`` bytes);
- ``gzip_bomb``: such a page is a small gzip body (``Content-Encoding: gzip``) that expands to
  ``bomb_bytes`` of JSON (a bare array of zeros).

``OcpiSandbox`` gives a spec of the first two kinds, when it names no ``elsewhere``, a mirror of the
feed on 127.0.0.2: a second origin serving the same pages, which logs what reached it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from http.server import BaseHTTPRequestHandler
from itertools import chain, repeat

from pipeline.sandbox._http import Reply
from pipeline.sandbox._origins import gzip_bomb, redirect

HOSTILE = {
    "link_elsewhere": "the next page's Link (or cursor URL) on another origin, `elsewhere`",
    "redirect_elsewhere": "a page answers 302 to the same path and query on another origin, `elsewhere`",
    "endless_page": "a page streamed chunked, without Content-Length, that never ends",
    "gzip_bomb": "a small gzip-encoded page expanding to `bomb_bytes`",
}
ELSEWHERE = ("link_elsewhere", "redirect_elsewhere")
ENDLESS_CAP = 4 << 30  # a client that never stops reading cannot keep a test running for ever
_ENDLESS_HEAD = b'{"data":['
_ENDLESS_CHUNK = b"0," * (32 * 1024)


@dataclass(frozen=True)
class Hostile:
    """What a fake operator does wrong, from which page on (0: the first), and where it points."""

    kind: str
    from_page: int = 1
    elsewhere: str = ""  # the other origin's base URL, `http://127.0.0.2:PORT`
    bomb_bytes: int = 64 << 20

    def __post_init__(self) -> None:
        if self.kind not in HOSTILE:
            raise ValueError(f"unknown hostile kind {self.kind!r}; expected one of {sorted(HOSTILE)}")
        if self.from_page < 0 or self.bomb_bytes < 3:
            raise ValueError("from_page must be >= 0 and bomb_bytes >= 3")

    def on(self, page: int) -> bool:
        """Whether `page` misbehaves."""
        return page >= self.from_page

    def reply(self, page: int, path: str) -> Reply | None:
        """The answer replacing the normal one for `page` (requested as `path`), if any."""
        if not self.on(page):
            return None
        if self.kind == "redirect_elsewhere":
            return redirect(f"{self._other()}{path}")
        if self.kind == "gzip_bomb":
            return Reply(200, _bomb(self.bomb_bytes), headers={"Content-Encoding": "gzip"})
        return None

    def bend(self, reply: Reply, page: int, base_url: str) -> Reply:
        """`link_elsewhere`: the normal answer for `page`, its next page's URL moved to `elsewhere`."""
        if self.kind != "link_elsewhere" or not self.on(page + 1) or reply.status != 200:
            return reply
        if "Link" in reply.headers:
            reply.headers["Link"] = reply.headers["Link"].replace(base_url, self._other())
        reply.body = reply.body.replace(f'"next":"{base_url}'.encode(), f'"next":"{self._other()}'.encode())
        return reply

    def _other(self) -> str:
        if not self.elsewhere:
            raise RuntimeError(f"{self.kind} needs `elsewhere`, the other origin's base URL")
        return self.elsewhere.rstrip("/")


@cache
def _bomb(decoded_bytes: int) -> bytes:
    return gzip_bomb(decoded_bytes)


def stream_endless(handler: BaseHTTPRequestHandler) -> int:
    """Answer `handler` with a 200 whose chunked envelope never ends; the bytes sent until the client
    hung up (or `ENDLESS_CAP`)."""
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Transfer-Encoding", "chunked")
    handler.end_headers()
    handler.close_connection = True
    sent = 0
    try:
        for piece in chain([_ENDLESS_HEAD], repeat(_ENDLESS_CHUNK)):
            handler.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            sent += len(piece)
            if sent >= ENDLESS_CAP:
                break
    except (BrokenPipeError, ConnectionResetError):
        pass  # the client stopped reading: what this fake is for
    return sent
