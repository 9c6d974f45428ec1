"""Reading the next batch while the caller writes the current one.

A full load alternates between the source (produce a batch) and the target (write it);
done in one thread, each side idles while the other works. Here the source runs in a
helper thread that hands over one finished batch at a time and starts the next only
once the caller has taken it: at most two batches exist (the caller's and the one in
the making), so memory stays flat. A source error is re-raised in the caller.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import TypeVar

Item = TypeVar("Item")

_EMPTY = object()
_END = object()


class _Failure:
    def __init__(self, error: BaseException):
        self.error = error


class _Handoff:
    """A one-slot rendezvous: put() returns once the item was taken (False if the taker left)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._item: object = _EMPTY
        self._closed = False

    def put(self, item: object) -> bool:
        with self._cond:
            if self._closed:
                return False
            self._item = item
            self._cond.notify_all()
            while self._item is not _EMPTY and not self._closed:
                self._cond.wait()
            return not self._closed

    def take(self) -> object:
        with self._cond:
            while self._item is _EMPTY:
                self._cond.wait()
            item, self._item = self._item, _EMPTY
            self._cond.notify_all()
            return item

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()


def prefetched(source: Iterator[Item], name: str = "dms-prefetch") -> Iterator[Item]:
    """Iterate `source` one item ahead in a helper thread. Closing this iterator stops and closes the source."""
    handoff = _Handoff()

    def produce() -> None:
        try:
            for item in source:
                if not handoff.put(item):
                    return
            handoff.put(_END)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller, who re-raises it
            handoff.put(_Failure(exc))
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=produce, name=name, daemon=True)
    thread.start()
    try:
        while True:
            item = handoff.take()
            if item is _END:
                return
            if isinstance(item, _Failure):
                raise item.error
            yield item  # type: ignore[misc]
    finally:
        handoff.close()
        thread.join()
