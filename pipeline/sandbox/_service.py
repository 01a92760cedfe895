"""What every sandbox part shares: `start()`/`stop()`, and `with part:` calling them."""

from __future__ import annotations

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
