"""A response body streamed to a file while a parser reads it, within a byte limit."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import IO, Protocol


class _Stats(Protocol):
    def add(self, *, requests: int = 0, retries: int = 0, bytes_received: int = 0) -> None: ...


@dataclass(frozen=True)
class Download:
    """A body streamed to disk: how many bytes, the response headers (e.g. ETag), and the URL that
    answered (the last hop of any redirects: what a relative URL in the answer is relative to)."""

    bytes: int
    headers: Mapping[str, str]
    url: str = ""


_BOM = b"\xef\xbb\xbf"


class TeeBody:
    """A response body as a file for a parser to read, writing every byte it receives to `out`; a UTF-8
    BOM starting the body is written but not handed to the parser.

    The write of one chunk runs on a thread while the parser reads the next (file and socket writes
    release the GIL), and a chunk read whole is handed out without a copy. With a `limit`, a chunk that
    would take the body past it is neither written nor handed out: `over(bytes read)` is raised instead,
    so a body without end stops at most one chunk past its limit.
    """

    def __init__(
        self,
        chunks: Iterator[bytes],
        out: IO[bytes],
        stats: _Stats,
        *,
        limit: int | None = None,
        over: Callable[[int], Exception] | None = None,
    ) -> None:
        self._chunks = chunks
        self._out = out
        self._stats = stats
        self._limit = limit
        self._over = over or (lambda read: ValueError(f"the body passed {limit} bytes ({read} read)"))
        self._pending = memoryview(b"")
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="download-write")
        self._writing: Future[int] | None = None
        self.bytes = 0
        self.head = b""

    def __enter__(self) -> TeeBody:
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Every byte handed out is written (a write error surfaces here) before `out` is closed."""
        try:
            if self._writing is not None:
                self._writing.result()
        finally:
            self._writer.shutdown(wait=True)

    def read(self, size: int = -1) -> bytes:
        """At most `size` bytes (ijson's C parser relies on it); b"" only at the end of the body."""
        if not self._pending:
            chunk = next((c for c in self._chunks if c), b"")
            self._stats.add(bytes_received=len(chunk))
            if self._limit is not None and self.bytes + len(chunk) > self._limit:
                raise self._over(self.bytes + len(chunk))
            if self._writing is not None:
                self._writing.result()  # one write in flight at most: memory stays at two chunks
            self._writing = self._writer.submit(self._out.write, chunk)
            first = self.bytes == 0
            self.bytes += len(chunk)
            self.head = self.head or chunk[:60]
            if first and chunk.startswith(_BOM):  # stored as sent; the parser starts at the JSON
                chunk = chunk[len(_BOM) :]
                if not chunk:  # the BOM came alone: b"" here would tell the parser the body ended
                    return self.read(size)
            if size < 0 or size >= len(chunk):
                return chunk
            self._pending = memoryview(chunk)
        size = len(self._pending) if size < 0 else size
        piece, self._pending = self._pending[:size], self._pending[size:]
        return piece.tobytes()


def unparseable(body: TeeBody, exc: Exception) -> str:
    """Why a body is not one JSON document, for an `InvalidBody`."""
    reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if "premature EOF" in reason or "incomplete" in reason.lower() or "cut short" in reason:
        return (
            f"the body ended after {body.bytes} bytes before its JSON document was complete (the "
            "connection closed early)"
        )
    return f"the body is not one JSON document ({reason}; {body.bytes} bytes, starts {body.head!r})"
