"""Reading one-column rows off the MySQL wire: packets built by hand, fed in awkward pieces."""

from __future__ import annotations

import pymysql
import pytest

from endpoints.engines.mysql.wire import MAX_PAYLOAD, PacketReader


def _packet(payload: bytes, seq: int) -> bytes:
    return len(payload).to_bytes(3, "little") + bytes([seq & 0xFF]) + payload


def _lenenc(value: bytes) -> bytes:
    n = len(value)
    if n < 251:
        return bytes([n]) + value
    if n < 2**16:
        return b"\xfc" + n.to_bytes(2, "little") + value
    if n < 2**24:
        return b"\xfd" + n.to_bytes(3, "little") + value
    return b"\xfe" + n.to_bytes(8, "little") + value


EOF_PACKET = b"\xfe\x00\x00\x21\x20"  # no warnings, status 0x2021


def _stream(values: list[bytes | None], first_seq: int = 3) -> bytes:
    out = b"".join(_packet(b"\xfb" if v is None else _lenenc(v), first_seq + i) for i, v in enumerate(values))
    return out + _packet(EOF_PACKET, first_seq + len(values))


def _reader(data: bytes, piece: int, first_seq: int = 3) -> PacketReader:
    position = 0

    def read(_size: int) -> bytes:
        nonlocal position
        chunk = data[position:position + piece]
        position += len(chunk)
        return chunk

    return PacketReader(read, first_seq)


VALUES = [b"short", b"", None, b"x" * 251, b"y" * 70000, "\U0001F600".encode() * 3, b"tab\there"]


@pytest.mark.parametrize("piece", [1, 3, 7, 4096, 1 << 20])
def test_it_reads_every_value_shape_whatever_the_read_sizes(piece):
    reader = _reader(_stream(VALUES), piece)
    got = reader.lines(100)
    assert got == [b"short", b"", b"", b"x" * 251, b"y" * 70000, "\U0001F600".encode() * 3, b"tab\there"]
    assert reader.done
    assert reader.status == 0x2021
    assert reader.next_seq == 3 + len(VALUES) + 1


def test_it_stops_at_the_batch_size_and_goes_on_from_there():
    reader = _reader(_stream([str(i).encode() for i in range(5)]), 2)
    assert reader.lines(2) == [b"0", b"1"]
    assert not reader.done
    assert reader.lines(2) == [b"2", b"3"]
    assert reader.lines(2) == [b"4"]
    assert reader.done


def test_it_follows_sequence_ids_around_255():
    values = [str(i).encode() for i in range(300)]
    reader = _reader(_stream(values, first_seq=250), 1000, first_seq=250)
    assert reader.lines(1000) == values
    assert reader.next_seq == (250 + 301) % 256


def test_it_refuses_a_wrong_sequence_id():
    data = _packet(_lenenc(b"a"), 3) + _packet(_lenenc(b"b"), 9)
    with pytest.raises(pymysql.err.InternalError):
        _reader(data, 100).lines(10)


def test_it_raises_the_servers_error_in_the_middle_of_rows():
    error = b"\xff" + (1317).to_bytes(2, "little") + b"#70100Query execution was interrupted"
    data = _packet(_lenenc(b"a"), 3) + _packet(error, 4)
    with pytest.raises(pymysql.err.OperationalError) as caught:
        _reader(data, 5).lines(10)
    assert caught.value.args[0] == 1317


def test_it_joins_a_value_split_over_continuation_packets():
    value = b"z" * (MAX_PAYLOAD + 10)
    payload = _lenenc(value)
    data = (_packet(payload[:MAX_PAYLOAD], 3) + _packet(payload[MAX_PAYLOAD:], 4)
            + _packet(_lenenc(b"next"), 5) + _packet(EOF_PACKET, 6))
    reader = _reader(data, 1 << 22)
    assert reader.lines(10) == [value, b"next"]
    assert reader.done and reader.next_seq == 7


def test_it_reports_a_connection_lost_mid_packet():
    data = _stream([b"abcdef"])[:-3]
    with pytest.raises(pymysql.err.OperationalError) as caught:
        _reader(data, 4).lines(10)
    assert caught.value.args[0] == 2013
