"""Every MySQL type family streamed from the binary log as the full load reads it (canonical values)."""

from __future__ import annotations

import pytest

from endpoints.engines.base import Op

from .mysql_helpers import ZOO_DDL, ZOO_INSERTS, plan_for, read_all, run
from .test_mysql_cdc import collect, engine_for, streaming, tables
from .test_mysql_values import COLUMNS, EXTREMES

pytestmark = pytest.mark.live


@pytest.fixture
def zoo(mysql_database):
    url = mysql_database()
    run(url, ZOO_DDL)
    return url


def by_id(changes) -> dict[int, dict]:
    return {c[0]: dict(zip(COLUMNS, c, strict=True)) for c in changes}


def test_it_streams_every_type_as_the_full_load_reads_it(zoo):
    engine = engine_for(zoo)
    with streaming(engine, tables(engine, "zoo")) as (_cap, stream):
        run(zoo, *ZOO_INSERTS)
        pieces = collect(stream, 3)
    assert pieces[0].changes[0].relation.columns == tuple(COLUMNS)
    streamed = by_id(c.after for p in pieces for c in p.changes)
    loaded = by_id(row for batch in read_all(zoo, plan_for(zoo, "zoo")) for row in batch.data)
    assert streamed[1] == EXTREMES
    for name in COLUMNS:  # exact types too: True is not 1, '' is not None, bytes are not str
        assert type(streamed[1][name]) is type(EXTREMES[name]), name
    assert streamed == loaded


def test_it_keeps_null_apart_from_empty_values_and_reads_zero_dates_as_null(zoo):
    engine = engine_for(zoo)
    with streaming(engine, tables(engine, "zoo")) as (_cap, stream):
        run(zoo, *ZOO_INSERTS)
        streamed = by_id(c.after for p in collect(stream, 3) for c in p.changes)
        notes = stream.notes
    assert streamed[2] == {name: (2 if name == "id" else None) for name in COLUMNS}
    assert (streamed[1]["tt"], streamed[1]["bl"], streamed[1]["vc"]) == ("", b"", "\U0001F600 emoji")
    assert (streamed[3]["dt"], streamed[3]["dtm"], streamed[3]["ts"]) == (None, None, None)
    assert notes == {"zero_dates": 3}


def test_it_streams_full_before_images_of_updates_and_deletes(zoo):
    run(zoo, *ZOO_INSERTS)
    engine = engine_for(zoo)
    with streaming(engine, tables(engine, "zoo")) as (_cap, stream):
        run(zoo, "UPDATE zoo SET vc = 'changed' WHERE id = 1", "DELETE FROM zoo WHERE id = 1")
        update, delete = (p.changes[0] for p in collect(stream, 2))
    assert update.op is Op.UPDATE
    assert dict(zip(COLUMNS, update.before, strict=True)) == EXTREMES
    assert dict(zip(COLUMNS, update.after, strict=True)) == {**EXTREMES, "vc": "changed"}
    assert (delete.op, delete.after) == (Op.DELETE, None)
    assert dict(zip(COLUMNS, delete.before, strict=True)) == {**EXTREMES, "vc": "changed"}


def test_it_streams_mariadb_types_sets_and_empty_sets(mysql_database):
    url = mysql_database()
    run(url, "CREATE TABLE m (id int PRIMARY KEY, u uuid, i4 inet4, i6 inet6, s set('p','q','r'), y year, "
             "c char(4) CHARACTER SET latin1, bn binary(3))")
    engine = engine_for(url)
    with streaming(engine, tables(engine, "m")) as (_cap, stream):
        run(url, "SET SESSION sql_mode = ''",
            "INSERT INTO m VALUES (1, 'c2a8f2c8-1d1e-4f2b-9a3c-0123456789ab', '10.0.0.0', '::ffff:1.2.3.4', "
            "'r,p', 0, 'café', X'000000')",
            "INSERT INTO m VALUES (2, '6ba7b810-9dad-11d1-80b4-00c04fd430c8', '255.1.0.9', '2001:db8::1', '', "
            "1901, '', '')")
        streamed = [c.after for p in collect(stream, 2) for c in p.changes]
    assert streamed == [
        (1, "c2a8f2c8-1d1e-4f2b-9a3c-0123456789ab", "10.0.0.0", "::ffff:1.2.3.4", "p,r", 0, "café", b"\0\0\0"),
        (2, "6ba7b810-9dad-11d1-80b4-00c04fd430c8", "255.1.0.9", "2001:db8::1", "", 1901, "", b"\0\0\0"),
    ]
    loaded = [row for batch in read_all(url, plan_for(url, "m")) for row in batch.data]
    assert loaded == streamed
