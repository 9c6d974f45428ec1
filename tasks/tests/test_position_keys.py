"""The applier's memory of position keys: each position parsed at most once, keys the capture supplied
used as they are, and the memory bounded."""

from __future__ import annotations

from tasks.engine.apply import PositionKeys


def _counting_key():
    calls: list[str] = []

    def key(position: str) -> tuple:
        calls.append(position)
        return (int(position),)

    return key, calls


def test_each_position_is_parsed_once_however_often_it_is_compared():
    key, calls = _counting_key()
    keys = PositionKeys(key)
    assert [keys("5"), keys("7"), keys("5"), keys("7")] == [(5,), (7,), (5,), (7,)]
    assert calls == ["5", "7"]


def test_a_key_the_capture_supplied_is_never_parsed_again():
    key, calls = _counting_key()
    keys = PositionKeys(key)
    assert keys.remember("9", (9,)) == (9,)
    assert keys("9") == (9,)
    assert calls == []


def test_the_memory_is_bounded_and_still_answers_after_it_is_cleared(monkeypatch):
    key, calls = _counting_key()
    monkeypatch.setattr(PositionKeys, "LIMIT", 3)
    keys = PositionKeys(key)
    for n in range(10):
        assert keys(str(n)) == (n,)
    assert len(keys.known) <= 3
    assert keys("0") == (0,)  # forgotten, parsed again, still right
    assert calls.count("0") == 2
