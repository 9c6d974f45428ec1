"""Reading one batch ahead in a helper thread: bounded, errors re-raised, stops when the caller leaves."""

from __future__ import annotations

import threading
import time

import pytest

from endpoints.engines.postgres.prefetch import prefetched


def test_it_yields_every_item_in_order():
    assert list(prefetched(iter(range(5)))) == [0, 1, 2, 3, 4]
    assert list(prefetched(iter([]))) == []


def test_it_reads_at_most_one_item_ahead():
    produced = []

    def source():
        for i in range(10):
            produced.append(i)
            yield i

    items = prefetched(source())
    assert next(items) == 0
    time.sleep(0.2)  # give the helper every chance to run ahead
    assert produced == [0, 1]
    assert next(items) == 1
    time.sleep(0.2)
    assert produced == [0, 1, 2]
    items.close()


def test_it_reraises_the_source_error_in_the_caller():
    def source():
        yield 1
        raise ValueError("source broke")

    items = prefetched(source())
    assert next(items) == 1
    with pytest.raises(ValueError, match="source broke"):
        next(items)


def test_it_closes_the_source_when_the_caller_stops_early():
    closed = threading.Event()

    def source():
        try:
            yield from range(100)
        finally:
            closed.set()

    items = prefetched(source())
    assert next(items) == 0
    items.close()
    assert closed.is_set()
    assert not [t for t in threading.enumerate() if t.name == "dms-prefetch"]
