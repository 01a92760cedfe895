"""The one big array of a JSON document, read as a stream of chunks of whole elements.

A registry export is one object holding one array of a million records: gigabytes that must never be in
memory at once, and that a token-by-token parser (ijson, about 130 MB/s here) reads too slowly. This
cuts the array at element boundaries and has msgspec (about 1.5 GB/s to check, 0.9 GB/s to decode into
typed records) check every piece, so memory stays at a few chunks whatever the document's size.

How a cut is known to be right: each piece starts where an element starts (the array's first element,
or right after the comma that ended the previous piece). A cut inside a string or inside a nested value
leaves `[` + piece + `]` unbalanced, so msgspec refuses it and an earlier candidate is tried; a piece
that decodes therefore holds whole elements only. Candidates are commas followed by what the first
element began with (`{"ChargeDeviceId":` for the registry), then any `}` `,` `{`, then any comma.
The head before the array and the tail after it are checked too, so a document that is cut short, or is
not JSON, fails here with the byte offset where it went wrong.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any, Generic, TypeVar

import msgspec

CHUNK_BYTES = 1 << 20  # measured: larger windows fall out of the CPU cache and run slower
HEAD_LIMIT = 64 << 20  # the array must start within this many bytes
MAX_ELEMENT_BYTES = 256 << 20  # no single element may be larger
_TAIL_SCAN = 32 << 10  # candidates are looked for in the last bytes of a window first
_TRIES = 6  # candidates tried per pattern before the window grows
_RAW_LIST = list[msgspec.Raw]
_REST_KEY = "~rest~"
_REST_OPEN = b'{"~rest~":['
_WS = rb"[ \t\r\n]*"
_ANY_OBJECT = re.compile(rb"\}" + _WS + rb"(,)" + _WS + rb"\{")
_ANY_COMMA = re.compile(rb"(,)")


T = TypeVar("T")


class JsonArrayError(ValueError):
    """The document is not one JSON object holding the array, or broke off; says where."""


@dataclass(frozen=True)
class Invalid:
    """An element that is well-formed JSON but not of the item type: its text, and why."""

    raw: bytes
    reason: str


class _Items(Generic[T]):
    """Decoders for a piece `[e1,…]`: typed in one call, element by element only when one is invalid."""

    def __init__(self, item_type: type[T]) -> None:
        self._all = msgspec.json.Decoder(list[item_type])  # type: ignore[valid-type]
        self._one = msgspec.json.Decoder(item_type)
        self._raw = msgspec.json.Decoder(_RAW_LIST)

    def decode(self, piece: bytes) -> list[T | Invalid]:
        """Raises msgspec.DecodeError (not ValidationError) only when `piece` is not a JSON array."""
        try:
            return list(self._all.decode(piece))
        except msgspec.ValidationError:
            pass
        return [self._element(raw) for raw in self._raw.decode(piece)]

    def _element(self, raw: msgspec.Raw) -> T | Invalid:
        try:
            return self._one.decode(raw)
        except msgspec.ValidationError as exc:
            return Invalid(bytes(raw), str(exc))


class _Rest(msgspec.Struct):
    rest: msgspec.Raw = msgspec.field(name=_REST_KEY)


def array_items(
    stream: IO[bytes] | Any,
    key: str,
    item_type: type[T] = msgspec.Raw,  # type: ignore[assignment]
    *,
    chunk_bytes: int = CHUNK_BYTES,
) -> Iterator[list[T | Invalid]]:
    """Yield the elements of the top-level array `key` of the document in `stream`, decoded, in chunks.

    Chunks hold consecutive elements in order and are never empty. An element that is well-formed but
    not an `item_type` is an `Invalid`, in its place. The whole document is read and checked to its
    end before the last chunk is yielded. Raises `JsonArrayError` naming the byte offset of a fault.
    """
    items = _Items(item_type)
    window = _Window(stream)
    pos = _open_array(window, key)
    prefix: re.Pattern[bytes] | None = None
    while True:
        grow, cut = chunk_bytes, None
        pos = window.fill(pos, grow)
        # The window grows until a piece ends in it, or the stream does (then the rest is the last piece).
        while not window.eof:
            cut = _cut(window, pos, prefix, items)
            if cut is not None:
                break
            grow *= 2
            if grow > MAX_ELEMENT_BYTES:
                raise JsonArrayError(
                    f"no end of an element within {MAX_ELEMENT_BYTES >> 20} MB after byte "
                    f"{window.offset(pos)}: the array is malformed there, or one element is that large"
                )
            pos = window.fill(pos, grow)
        if cut is None:
            last = _close_array(window, pos, items)
            if last:
                yield last
            return
        if prefix is None:
            prefix = _learn_prefix(window.data, pos)
        comma, decoded = cut
        yield decoded
        pos = comma + 1


class _Window:
    """The unread part of the stream that has been read: `data`, from document offset `base`.

    A bytearray, so a piece can be decoded in place: the byte before it (the `[` or the comma that
    ended the previous piece) and the comma after it are turned into brackets for the decode.
    """

    def __init__(self, stream: IO[bytes] | Any) -> None:
        self._stream = stream
        self.data = bytearray()
        self.base = 0
        self.eof = False

    def offset(self, pos: int) -> int:
        return self.base + pos

    def fill(self, pos: int, wanted: int) -> int:
        """Have `wanted` bytes from `pos` (or the rest of the stream), and the byte before; `pos` anew.

        The kept bytes are copied once into a new buffer and the stream reads straight into it
        (`readinto`), so each byte of a gigabyte document is copied as few times as it can be.
        """
        if len(self.data) - pos >= wanted or self.eof:
            return pos
        keep = max(pos - 1, 0)
        kept = len(self.data) - keep
        data = bytearray(kept + wanted - (len(self.data) - pos))
        data[:kept] = memoryview(self.data)[keep:]
        filled = kept
        readinto = getattr(self._stream, "readinto", None)
        with memoryview(data) as view:
            while filled < len(data):
                if readinto is not None:
                    got = readinto(view[filled:])
                else:
                    block = self._stream.read(len(data) - filled)
                    got = len(block)
                    view[filled : filled + got] = block
                if not got:
                    self.eof = True
                    break
                filled += got
        del data[filled:]
        self.base += keep
        self.data = data
        return pos - keep


def _open_array(window: _Window, key: str) -> int:
    """The position right after the `[` of the top-level `key`; everything before it checked."""
    quoted = json.dumps(key).encode("utf-8")
    opening = re.compile(re.escape(quoted) + _WS + rb":" + _WS + rb"\[")
    size = 0
    while True:
        size = min(max(2 * size, 4096), HEAD_LIMIT)
        window.fill(0, size)
        for match in opening.finditer(window.data):
            try:
                head = msgspec.json.decode(window.data[: match.end()] + b"]}")
            except msgspec.DecodeError:
                continue  # a nested key of that name, not the top-level one
            if isinstance(head, dict) and head.get(key) == []:
                return match.end()
        if window.eof or size == HEAD_LIMIT:
            break
    if not window.eof:
        raise JsonArrayError(f"no top-level `{key}` list in the first {HEAD_LIMIT >> 20} MB")
    try:
        document = msgspec.json.decode(window.data)
    except msgspec.DecodeError as exc:
        raise JsonArrayError(_reason(exc, window, 0)) from None
    raise JsonArrayError(
        f"no top-level `{key}` list (the document is a JSON {type(document).__name__}"
        + (f" with keys {sorted(document)[:8]}" if isinstance(document, dict) else "")
        + ")"
    )


def _cut(
    window: _Window, pos: int, prefix: re.Pattern[bytes] | None, items: _Items[T]
) -> tuple[int, list[T | Invalid]] | None:
    """A comma in `window.data` after `pos` that ends a decodable piece, and the piece decoded; or None."""
    data, end = window.data, len(window.data)
    genuine: str | None = None
    for pattern in (prefix, _ANY_OBJECT, _ANY_COMMA):
        if pattern is None:
            continue
        commas = _last_commas(pattern, data, pos, end)
        for comma in commas:
            try:
                decoded = _decode_in_place(items, data, pos - 1, comma)
            except msgspec.DecodeError as exc:
                reason = _reason(exc, window, pos - 1)
                # The same fault, at the same byte, whatever the cut: the data itself is broken there.
                # (Not "trailing characters": that is the array ending inside the window.)
                if reason == genuine and not any(word in str(exc) for word in ("truncated", "trailing")):
                    raise JsonArrayError(f"the array is malformed: {reason}") from None
                genuine = reason
                continue
            return comma, decoded
    return None


def _decode_in_place(items: _Items[T], data: bytearray, before: int, comma: int) -> list[T | Invalid]:
    """Decode `data[before + 1:comma]` as `[…]` without copying it: its two neighbours become brackets."""
    opening, closing = data[before], data[comma]
    data[before], data[comma] = ord("["), ord("]")
    try:
        # Not released here: Raw items keep a view of the bytes. The bytearray is never resized.
        return items.decode(memoryview(data)[before : comma + 1])  # type: ignore[arg-type]
    finally:
        data[before], data[comma] = opening, closing


def _last_commas(pattern: re.Pattern[bytes], data: bytearray, pos: int, end: int) -> list[int]:
    """Up to _TRIES separator commas matching `pattern`, last first, looking at the window's end first."""
    for start in (max(pos, end - _TAIL_SCAN), pos):
        commas = [match.start(1) for match in pattern.finditer(data, start, end)][-_TRIES:]
        if commas or start == pos:
            return commas[::-1]
    return []


def _learn_prefix(data: bytearray, pos: int) -> re.Pattern[bytes] | None:
    """`,` + how the first element begins up to its first key (`{"ChargeDeviceId":`), if an object."""
    match = re.compile(_WS + rb"(\{" + _WS + rb'"[^"\\]{1,64}"' + _WS + rb":)").match(data, pos)
    if match is None:
        return None
    return re.compile(rb"(,)" + _WS + re.escape(match.group(1)))


def _close_array(window: _Window, pos: int, items: _Items[T]) -> list[T | Invalid]:
    """Check the rest of the document (last elements, `]`, the tail); the last elements, decoded."""
    try:
        elements = msgspec.json.decode(_REST_OPEN + bytes(window.data[pos:]), type=_Rest).rest
    except msgspec.DecodeError as exc:
        reason = _reason(exc, window, pos - len(_REST_OPEN))
        raise JsonArrayError(f"the document does not end as one JSON object ({reason})") from None
    except msgspec.ValidationError:  # pragma: no cover - a Struct with one Raw field accepts any object
        raise JsonArrayError("the document does not end as one JSON object") from None
    return items.decode(bytes(elements))


def _reason(exc: msgspec.DecodeError, window: _Window, at: int) -> str:
    """msgspec's message with its byte index turned into an offset in the whole document."""
    message = str(exc)
    if "truncated" in message:
        return "the document ends before it is complete: cut short?"
    found = re.search(r"\(byte (\d+)\)", message)
    if found is None:
        return message
    return message.replace(found.group(0), f"at byte {window.offset(at) + int(found.group(1))}")
