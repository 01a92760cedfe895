"""What every sandbox part shares: `start()`/`stop()`, and `with part:` calling them."""

from __future__ import annotations

import shutil
import tempfile
from contextlib import ExitStack
from pathlib import Path
from types import TracebackType
from typing import Self


class Service:
    """A local stand-in that is started and stopped; subclasses implement both, idempotently."""

    def start(self) -> Self:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def close_stack(service: object) -> None:
    """Close a part's `_stack` (its started servers and temporary files), once: safe to call twice."""
    stack: ExitStack | None = getattr(service, "_stack", None)
    service._stack = None  # type: ignore[attr-defined]
    if stack is not None:
        stack.close()


def temporary_file(stack: ExitStack, prefix: str, name: str, text: str) -> Path:
    """`text` written to `name` in a new temporary directory that `stack` removes when it closes."""
    directory = Path(tempfile.mkdtemp(prefix=prefix))
    stack.callback(shutil.rmtree, directory, ignore_errors=True)
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path
