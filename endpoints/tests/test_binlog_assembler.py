"""Binary log events -> transactions, on event sequences as MySQL and MariaDB write them (no server needed)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from pymysqlreplication.column import Column
from pymysqlreplication.constants import FIELD_TYPE
from pymysqlreplication.constants.BINLOG import ANONYMOUS_GTID_LOG_EVENT
from pymysqlreplication.event import (
    GtidEvent,
    HeartbeatLogEvent,
    MariadbGtidEvent,
    NotImplementedEvent,
    QueryEvent,
    RotateEvent,
    XidEvent,
)
from pymysqlreplication.row_event import TableMapEvent, UpdateRowsEvent, WriteRowsEvent

from endpoints.engines.base import TRANSACTION_PIECE, Op, Transaction
from endpoints.engines.catalog import SourceColumn, SourceTable
from endpoints.engines.errors import EngineError, ErrorKind
from endpoints.engines.mysql.assembler import Assembler
from endpoints.engines.mysql.positions import BinlogPosition
from endpoints.engines.mysql.shapes import TableShapes
from endpoints.engines.types import DmsType, T

FILE = "binlog.000007"
TABLE = SourceTable("app", "t", (SourceColumn("id", "int", DmsType(T.INT4), nullable=False),
                                 SourceColumn("v", "varchar(10)", DmsType(T.WSTRING, length=10))),
                    primary_key=("id",))


class Log:
    """Writes events one after another at increasing offsets, as a binary log file holds them."""

    def __init__(self, start: int = 1000):
        self.offset = start
        self.timestamp = 1_800_000_000

    def event(self, cls: type, size: int = 50, event_type: int = 0, **attributes) -> object:
        event = object.__new__(cls)
        self.offset += size
        event.packet = SimpleNamespace(log_pos=self.offset, event_size=size, event_type=event_type)
        event.timestamp = self.timestamp
        for name, value in attributes.items():
            setattr(event, name, value)
        return event

    def gtid_mysql(self, gno: int) -> object:
        event = self.event(GtidEvent)
        event.sid, event.gno = bytes.fromhex("3e11fa4771ca11e19e33c80aa9429562"), gno
        return event

    def gtid_mariadb(self, seq: int, *, standalone: bool = False) -> object:
        return self.event(MariadbGtidEvent, gtid=f"0-1-{seq}", flags=41 if standalone else 12)

    def query(self, text: str, schema: str = "app") -> object:
        return self.event(QueryEvent, query=text, schema=schema.encode())

    def table_map(self, table_id: int = 5, schema: str = "app", table: str = "t") -> object:
        columns = [Column(type=FIELD_TYPE.LONG, name="id", unsigned=False, character_set_name=None, set_values=None),
                   Column(type=FIELD_TYPE.VARCHAR, name="v", unsigned=False, character_set_name="utf8mb4",
                          set_values=None, max_length=40)]
        return self.event(TableMapEvent, table_id=table_id, schema=schema, table=table, columns=columns)

    def insert(self, *ids: int, table_id: int = 5) -> object:
        event = self.event(WriteRowsEvent, table_id=table_id)
        event._RowsEvent__rows = [{"values": {"id": i, "v": f"v{i}"}, "none_sources": {}} for i in ids]
        return event

    def update(self, before: int, after: int, table_id: int = 5) -> object:
        event = self.event(UpdateRowsEvent, table_id=table_id)
        event._RowsEvent__rows = [{"before_values": {"id": before, "v": "x"}, "before_none_sources": {},
                                   "after_values": {"id": after, "v": "y"}, "after_none_sources": {}}]
        return event

    def xid(self) -> object:
        self.timestamp += 1
        return self.event(XidEvent, xid=1)


def assemble(events, start: str = f"{FILE}:1000", refresh=lambda s, t: None) -> tuple[list[Transaction], Assembler]:
    out: list[Transaction] = []
    position = BinlogPosition(*start.split(":")[:1], int(start.split(":")[1]))
    assembler = Assembler(position, TableShapes([TABLE], refresh), out.append)
    for event in events:
        assembler.handle(event)
    return out, assembler


def test_it_groups_mysql_transactions_by_gtid_begin_and_xid():
    log = Log()
    gtid = log.gtid_mysql(23)
    first_end = gtid.packet.log_pos
    events = [gtid, log.query("BEGIN"), log.table_map(), log.insert(1, 2), log.table_map(), log.update(1, 3),
              log.xid()]
    out, assembler = assemble(events)
    assert [(t.xid, t.position, t.complete, len(t.changes)) for t in out] == [
        ("3e11fa47-71ca-11e1-9e33-c80aa9429562:23", f"{FILE}:{first_end}", True, 3)]
    assert [(c.op, c.before, c.after) for c in out[0].changes] == [
        (Op.INSERT, None, (1, "v1")), (Op.INSERT, None, (2, "v2")), (Op.UPDATE, (1, "x"), (3, "y"))]
    assert out[0].commit_time.timestamp() > 0 and out[0].commit_time.tzinfo is None
    assert assembler.boundary == f"{FILE}:{log.offset}"
    assert assembler.gtid == "3e11fa47-71ca-11e1-9e33-c80aa9429562:23"


def test_it_starts_transactions_at_anonymous_gtids_and_ends_ddl_with_its_statement():
    log = Log()
    anonymous = log.event(NotImplementedEvent, event_type=ANONYMOUS_GTID_LOG_EVENT)
    table = SourceTable("app", "t", TABLE.columns + (SourceColumn("w", "int", DmsType(T.INT4)),), primary_key=("id",))
    events = [anonymous, log.query("ALTER TABLE t ADD w int"),
              log.event(NotImplementedEvent, event_type=ANONYMOUS_GTID_LOG_EVENT), log.query("BEGIN"),
              log.table_map(), log.insert(7), log.xid()]
    out, _ = assemble(events, refresh=lambda s, t: table)
    assert [(t.position, [c.op for c in t.changes]) for t in out] == [
        (f"{FILE}:{anonymous.packet.log_pos}", [Op.DDL]), (f"{FILE}:{events[2].packet.log_pos}", [Op.DDL, Op.INSERT])]
    ddl = out[0].changes[0]
    assert (ddl.ddl, ddl.relation.columns, ddl.table) == ("ALTER TABLE t ADD w int", ("id", "v", "w"), table)
    # rows still without w: the shape they have is announced before them
    assert out[1].changes[0].table.columns == TABLE.columns


def test_it_reports_the_rest_of_the_transaction_at_the_start_position_with_that_position():
    """Reopened at a checkpoint (the end of a transaction's GTID event), the stream first reads the
    rest of that transaction: BEGIN (MySQL) or the rows (MariaDB) come before any GTID."""
    for first in ("BEGIN", None):
        log = Log()
        events = ([log.query(first)] if first else []) + [log.table_map(), log.insert(1), log.xid(),
                                                          log.gtid_mariadb(9), log.table_map(), log.insert(2),
                                                          log.xid()]
        out, _ = assemble(events)
        assert [(t.position, t.changes[0].after) for t in out] == [
            (f"{FILE}:1000", (1, "v1")), (f"{FILE}:{events[-4].packet.log_pos}", (2, "v2"))]


def test_it_ends_non_transactional_changes_at_commit_and_standalone_ddl_at_once():
    log = Log()
    events = [log.gtid_mariadb(1), log.table_map(), log.insert(1), log.query("COMMIT"),
              log.gtid_mariadb(2, standalone=True), log.query("TRUNCATE TABLE t"),
              log.gtid_mariadb(3, standalone=True), log.query("DROP TABLE `t` /* generated by server */")]
    out, assembler = assemble(events)
    assert [(t.xid, [c.op for c in t.changes]) for t in out] == [
        ("0-1-1", [Op.INSERT]), ("0-1-2", [Op.TRUNCATE]), ("0-1-3", [Op.DDL])]
    assert out[2].changes[0].table is None
    assert assembler.boundary == f"{FILE}:{log.offset}"


def test_it_hands_large_transactions_over_in_pieces_that_never_end_empty():
    log = Log()
    events = [log.gtid_mariadb(1), log.table_map(), log.insert(*range(TRANSACTION_PIECE)), log.xid(),
              log.gtid_mariadb(2), log.table_map(), log.insert(*range(TRANSACTION_PIECE + 1)), log.xid()]
    out, assembler = assemble(events)
    assert [(t.xid, len(t.changes), t.complete) for t in out] == [
        ("0-1-1", TRANSACTION_PIECE, True), ("0-1-2", TRANSACTION_PIECE, False), ("0-1-2", 1, True)]
    assert out[1].position == out[2].position
    assert assembler.read_changes == 2 * TRANSACTION_PIECE + 1


def test_it_skips_other_tables_and_moves_its_boundary_past_them():
    log = Log()
    events = [log.gtid_mariadb(1), log.table_map(table_id=9, table="other"), log.insert(1, table_id=9), log.xid(),
              log.event(HeartbeatLogEvent), log.event(RotateEvent, next_binlog="binlog.000008", position=4)]
    out, assembler = assemble(events)
    assert out == []
    assert assembler.boundary == "binlog.000008:4"
    assert assembler.heartbeats == 1


def test_it_drops_a_rolled_back_non_transactional_mix_with_a_warning(caplog):
    log = Log()
    out, _ = assemble([log.gtid_mariadb(1), log.table_map(), log.insert(1), log.query("ROLLBACK")])
    assert out == []
    assert "rolled back after changing non-transactional tables" in caplog.text


@pytest.mark.parametrize(("events", "kind", "message"), [
    (lambda log: [log.gtid_mariadb(1), log.query("INSERT INTO t VALUES (1)"), log.query("COMMIT")],
     ErrorKind.CONFIGURATION, "binlog_format=ROW"),
    (lambda log: [log.event(NotImplementedEvent, event_type=40)], ErrorKind.CONFIGURATION,
     "binlog_transaction_compression"),
])
def test_it_refuses_what_it_cannot_capture_exactly(events, kind, message):
    with pytest.raises(EngineError, match=message) as refused:
        assemble(events(Log()))
    assert refused.value.kind is kind


def test_it_ignores_statement_dml_on_other_tables():
    log = Log()
    out, _ = assemble([log.gtid_mariadb(1), log.query("INSERT INTO other VALUES (1)"), log.query("COMMIT"),
                       log.gtid_mariadb(2), log.query("UPDATE t SET v = 1", schema="elsewhere"), log.query("COMMIT")])
    assert out == []
