"""Binary log positions as text, their order, and the refusal of anything else."""

from __future__ import annotations

import pytest

from endpoints.engines.conninfo import ConnectionInfo
from endpoints.engines.errors import EngineError, ErrorKind
from endpoints.engines.mysql.binlog import ID_BASE, server_id_for
from endpoints.engines.mysql.positions import BinlogPosition, parse_position, position_key


def test_it_reads_file_and_offset():
    assert parse_position("mysql-bin.000024:373") == BinlogPosition("mysql-bin.000024", 373)
    assert str(parse_position(" mysql-bin-changelog.157832:1975 ")) == "mysql-bin-changelog.157832:1975"


def test_it_orders_by_file_number_then_offset():
    texts = ["mysql-bin.000010:4", "mysql-bin.000009:900000", "mysql-bin.000010:120", "mysql-bin.000100:4"]
    assert sorted(texts, key=position_key) == ["mysql-bin.000009:900000", "mysql-bin.000010:4",
                                               "mysql-bin.000010:120", "mysql-bin.000100:4"]
    assert position_key("mysql-bin.000010:120") == (10, 120)


@pytest.mark.parametrize("text", ["", "mysql-bin.000024", "373", "0-1-5286", "mysql-bin:373", "a.1:-5",
                                  "3E11FA47-71CA-11E1-9E33-C80AA9429562:23", "../x.000001:4"])
def test_it_refuses_what_is_not_a_binlog_position(text):
    with pytest.raises(EngineError, match="file:offset") as refused:
        parse_position(text)
    assert refused.value.kind is ErrorKind.CONFIGURATION


def test_it_gives_each_task_its_own_stable_replica_id():
    conn = ConnectionInfo.from_url("mysql://u@db.example:3306/app")
    first = server_id_for(conn, "task-1")
    assert first == server_id_for(conn, "task-1")
    assert ID_BASE <= first < 2**32
    assert server_id_for(conn, "task-2") != first
    assert server_id_for(conn.with_database("other"), "task-1") != first
    assert server_id_for(conn, "task-1", taken=(first,)) == first + 1 or first == 2**32 - 1
