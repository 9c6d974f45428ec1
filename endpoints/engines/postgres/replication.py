"""Replication slots, publications and replication connections for one task's capture.

A task captures through one logical slot (pgoutput) and its publications:

* the slot is named after the task (`slot_name`), or is the user's own (`slotName` attribute);
* the publication `<base>` carries every change of the tables with a replica identity (primary
  key, identity index or REPLICA IDENTITY FULL); `<base>_ins` carries only inserts and truncates
  of the tables without one, because publishing their updates and deletes would make those
  statements fail on the source; or the user's own publication (`publicationName` attribute),
  which is never altered or dropped.

`end_capture` drops what the task created: its slot and its publications, never the user's.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
import psycopg2
import psycopg2.extras
from psycopg import sql
from psycopg2 import sql as pg2sql

from ..base import CaptureStart
from ..catalog import SourceTable
from ..conninfo import ConnectionInfo
from ..errors import EngineError, ErrorKind
from .connection import connect, connection_params, translate_error
from .lsn import format_lsn, parse_lsn
from .sqlfiles import query

log = logging.getLogger(__name__)

PLUGIN = "pgoutput"
SLOT_NAME = re.compile(r"^[a-z0-9_]{1,63}$")
# A slot named by a task holds at most this much of the task id (63 characters in all).
TASK_ID_CHARS = 40
# How long end_capture waits for a slot to be released by a stream that is going away.
SLOT_RELEASE_WAIT = 15.0
# Replication sessions: never cut by idle or statement timeouts, money printed in one form (textvalues.py),
# and the server notices a vanished client by TCP keepalives.
REPLICATION_OPTIONS = (" -c lc_monetary=C -c idle_in_transaction_session_timeout=0 -c statement_timeout=0"
                       " -c tcp_keepalives_idle=30 -c tcp_keepalives_interval=10 -c tcp_keepalives_count=3")
CLIENT_KEEPALIVES = {"keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10, "keepalives_count": 3}


# ---- names ------------------------------------------------------------------------------------

def _base_name(conninfo: ConnectionInfo, task_id: str) -> str:
    # Slot names are global to the server: the hash keeps two databases' tasks "1" apart.
    clean = re.sub(r"[^a-z0-9_]", "_", task_id.lower())[:TASK_ID_CHARS]
    digest = hashlib.sha1(f"{conninfo.database}\0{task_id}".encode()).hexdigest()[:8]
    return f"dms_{clean}_{digest}"


def slot_name(conninfo: ConnectionInfo, task_id: str) -> str:
    """The slot this task creates and owns (the user's slotName attribute is used instead when set)."""
    return _base_name(conninfo, task_id)


def own_publications(conninfo: ConnectionInfo, task_id: str) -> tuple[str, str]:
    """(all changes, inserts and truncates only): the publications this task creates and owns."""
    base = _base_name(conninfo, task_id)
    return base, base + "_ins"


@dataclass(frozen=True)
class CaptureNames:
    slot: str
    slot_is_users: bool
    publications: tuple[str, ...]  # the ones to stream
    publication_is_users: bool


# ---- connections ------------------------------------------------------------------------------

def open_replication(conninfo: ConnectionInfo, *, timeout: float = 30.0, no_sender_timeout: bool = False,
                     decoding_work_mem_kb: int | None = None) -> Any:
    """A psycopg2 LogicalReplicationConnection (replication=database) with the engine's session settings.

    `no_sender_timeout` sets wal_sender_timeout=0 for this session (PostgreSQL 12+): the server then
    sends keepalives only when it has sent every decoded transaction, never in the middle of one.
    That matters because psycopg2 moves its flush position to a keepalive's WAL end when the last
    data message looks confirmed, and in the middle of a transaction that would confirm transactions
    the target has not committed yet. Dead peers are found by TCP keepalives on both sides instead.
    """
    with connection_params(conninfo, timeout=timeout) as params:
        params = {**params, **CLIENT_KEEPALIVES}
        params["options"] += REPLICATION_OPTIONS + (" -c wal_sender_timeout=0" if no_sender_timeout else "")
        if decoding_work_mem_kb is not None:  # the walsender's own: what it decodes before streaming or spilling
            params["options"] += f" -c logical_decoding_work_mem={int(decoding_work_mem_kb)}kB"
        try:
            return psycopg2.connect(connection_factory=psycopg2.extras.LogicalReplicationConnection, **params)
        except psycopg2.Error as exc:
            raise replication_error(exc, conninfo, doing="opening a replication connection") from None


class _Pg2Error(Exception):
    """psycopg2's error seen through the attributes translate_error reads (sqlstate, diag)."""

    def __init__(self, exc: psycopg2.Error):
        super().__init__(str(exc))
        self.sqlstate = exc.pgcode
        self.diag = exc.diag


# Server errors on a replication connection that no retry cures, with the DBA's way out.
_PERMANENT = {
    "58P01": "the WAL this slot needs has been removed (max_slot_wal_keep_size exceeded?): reload the task.",
    "55000": "the slot cannot stream (invalidated, or a setting like wal_level changed): reload the task.",
    "42704": "the replication slot or a publication no longer exists: reload the task.",
}


def replication_error(exc: BaseException, conninfo: ConnectionInfo, *, doing: str) -> EngineError:
    """An EngineError for a psycopg2 failure; a lost connection is CONNECTION_LOST (the task resumes)."""
    if not isinstance(exc, psycopg2.Error):
        return EngineError(f"PostgreSQL {conninfo.host}:{conninfo.port} while {doing}: {exc}", kind=ErrorKind.OTHER)
    translated = translate_error(_Pg2Error(exc), conninfo, doing=doing)
    code = exc.pgcode or ""
    if code in _PERMANENT:
        return EngineError(f"{translated.message} ({_PERMANENT[code]})", kind=ErrorKind.CONFIGURATION)
    if code == "55006":  # object in use: another stream still holds the slot
        return EngineError(f"{translated.message} (another process still streams from this slot; the task "
                           "retries, or stop the other copy of the task)", kind=ErrorKind.CONNECTION_LOST)
    lost = isinstance(exc, psycopg2.OperationalError | psycopg2.InterfaceError) and (
        not code or code.startswith(("08", "57P")))
    if lost and translated.kind is not ErrorKind.CONNECTION_LOST:
        return EngineError(translated.message, kind=ErrorKind.CONNECTION_LOST)
    return translated


def _sql_error(exc: psycopg.Error, conninfo: ConnectionInfo, doing: str) -> EngineError:
    return translate_error(exc, conninfo, doing=doing)


# ---- begin / end ------------------------------------------------------------------------------

@contextmanager
def begin_capture(conninfo: ConnectionInfo, task_id: str, tables: Sequence[SourceTable], *,
                  start: str | None, with_snapshot: bool) -> Iterator[CaptureStart]:
    """Publications and slot for the task, the start position, and a snapshot when asked (see Engine)."""
    if start is not None:
        parse_lsn(start)  # refuse anything that is not an LSN before touching the server
    _note_plugin(conninfo)
    try:
        with connect(conninfo, autocommit=True) as conn:
            _check_server(conn, conninfo)
            names = prepare_publications(conn, conninfo, task_id, tables)
            slot = _slot(conn, names.slot)
    except psycopg.Error as exc:
        raise _sql_error(exc, conninfo, "preparing change data capture") from None
    if slot is None:
        if names.slot_is_users:
            raise EngineError(f"Replication slot {names.slot!r} (the slotName attribute) does not exist in database "
                              f"{conninfo.database!r}. Create it with SELECT pg_create_logical_replication_slot("
                              f"'{names.slot}', 'pgoutput'), or remove the attribute.", kind=ErrorKind.CONFIGURATION)
        if start is not None:
            raise EngineError(
                f"Replication slot {names.slot!r} does not exist, so changes from {start} cannot be read. A native "
                "CDC start position (LSN) needs a logical replication slot created beforehand (pgoutput) and named "
                "by the endpoint's slotName attribute, as in AWS DMS; a resumed task whose slot was dropped must "
                "be restarted (reload-target).", kind=ErrorKind.CONFIGURATION)
        with _create_slot(conninfo, names.slot, temporary=False, snapshot=with_snapshot) as (position, snapshot):
            yield CaptureStart(position=position, snapshot=snapshot, snapshot_position=position if snapshot else None,
                               created=True)
        return
    _check_slot(conninfo, names, slot, start)
    position = start or slot["confirmed_flush_lsn"]
    if not with_snapshot:
        yield CaptureStart(position=position)
        return
    # The task's slot keeps streaming from `position`; a temporary slot exports a snapshot of "now"
    # and says which position that is, so loaded tables skip the changes their rows already hold.
    temporary = f"dms_snap_{secrets.token_hex(8)}"
    with _create_slot(conninfo, temporary, temporary=True, snapshot=True) as (snapshot_position, snapshot):
        if parse_lsn(snapshot_position) < parse_lsn(position):
            snapshot_position = position
        yield CaptureStart(position=position, snapshot=snapshot, snapshot_position=snapshot_position)


def end_capture(conninfo: ConnectionInfo, task_id: str) -> None:
    """Drop the task's own slot and publications (never the user's). Idempotent."""
    slot = slot_name(conninfo, task_id)
    users_slot = conninfo.attr("slotName")
    users_publication = conninfo.attr("publicationName")
    try:
        with connect(conninfo, autocommit=True) as conn:
            if slot != users_slot:
                _drop_slot(conn, conninfo, slot)
            for name in own_publications(conninfo, task_id):
                if name != users_publication:
                    conn.execute(sql.SQL("DROP PUBLICATION IF EXISTS {}").format(sql.Identifier(name)))
    except psycopg.Error as exc:
        raise _sql_error(exc, conninfo, f"dropping replication slot {slot} and its publications") from None


def capture_names(conn: psycopg.Connection, conninfo: ConnectionInfo, task_id: str) -> CaptureNames:
    """The slot and the publications a stream of this task reads (those that exist)."""
    users_slot = conninfo.attr("slotName")
    users_publication = conninfo.attr("publicationName")
    slot = users_slot or slot_name(conninfo, task_id)
    if users_publication:
        return CaptureNames(slot, bool(users_slot), (users_publication,), True)
    wanted = list(own_publications(conninfo, task_id))
    existing = {row[0] for row in conn.execute("SELECT pubname FROM pg_publication WHERE pubname = ANY(%s)",
                                               (wanted,)).fetchall()}
    return CaptureNames(slot, bool(users_slot), tuple(n for n in wanted if n in existing), False)


def prepare_publications(conn: psycopg.Connection, conninfo: ConnectionInfo, task_id: str,
                         tables: Sequence[SourceTable]) -> CaptureNames:
    """Create or refresh the task's publications (or check the user's) for the selected tables."""
    users_publication = conninfo.attr("publicationName")
    selected = [t for t in tables if t.kind == "table"]
    for view in (t for t in tables if t.kind != "table"):
        log.warning("View %s.%s cannot be captured (only tables have changes): it is loaded but not replicated.",
                    view.schema, view.name)
    if users_publication:
        _check_users_publication(conn, conninfo, users_publication, selected)
        return capture_names(conn, conninfo, task_id)
    identity = conn.execute(query("cdc_identity"), {"schemas": [t.schema for t in selected],
                                                    "names": [t.name for t in selected]}).fetchall()
    full = [(schema, name) for schema, name, _kind, _identity, has in identity if has]
    inserts_only = [(schema, name) for schema, name, _kind, _identity, has in identity if not has]
    if inserts_only:
        log.warning("Tables without a primary key or replica identity: %s. Their INSERTs and TRUNCATEs are "
                    "captured, their UPDATEs and DELETEs are not (publishing them would make them fail on the "
                    "source). Add a primary key, or ALTER TABLE ... REPLICA IDENTITY FULL, to capture them.",
                    ", ".join(f"{s}.{n}" for s, n in inserts_only))
    everything, inserts = own_publications(conninfo, task_id)
    via_root = conn.info.server_version >= 130000  # changes of partitions arrive as their selected parent
    _publish(conn, everything, full, "insert, update, delete, truncate", via_root)
    _publish(conn, inserts, inserts_only, "insert, truncate", via_root)
    return capture_names(conn, conninfo, task_id)


def _publish(conn: psycopg.Connection, name: str, tables: list[tuple[str, str]], actions: str,
             via_root: bool) -> None:
    exists = conn.execute("SELECT 1 FROM pg_publication WHERE pubname = %s", (name,)).fetchone()
    if not tables:
        if exists:
            conn.execute(sql.SQL("DROP PUBLICATION {}").format(sql.Identifier(name)))
        return
    listed = sql.SQL(", ").join(sql.Identifier(schema, table) for schema, table in tables)
    if exists and _published(conn, name) == (sorted(tables), actions):
        return  # a resume with the same tables: leave the catalog (and every stream's relation cache) alone
    if exists:
        conn.execute(sql.SQL("ALTER PUBLICATION {} SET TABLE {}").format(sql.Identifier(name), listed))
        conn.execute(sql.SQL("ALTER PUBLICATION {} SET (publish = {})").format(sql.Identifier(name),
                                                                               sql.Literal(actions)))
        return
    options = sql.SQL("publish = {}").format(sql.Literal(actions))
    if via_root:
        options = sql.SQL("{}, publish_via_partition_root = true").format(options)
    conn.execute(sql.SQL("CREATE PUBLICATION {} FOR TABLE {} WITH ({})").format(sql.Identifier(name), listed,
                                                                                  options))


def _published(conn: psycopg.Connection, name: str) -> tuple[list[tuple[str, str]], str]:
    """The tables and actions a publication has now, spelled as _publish writes them."""
    tables = sorted(conn.execute("SELECT schemaname, tablename FROM pg_publication_tables WHERE pubname = %s",
                                 (name,)).fetchall())
    flags = conn.execute("SELECT pubinsert, pubupdate, pubdelete, pubtruncate FROM pg_publication "
                         "WHERE pubname = %s", (name,)).fetchone()
    actions = ", ".join(a for a, on in zip(("insert", "update", "delete", "truncate"), flags, strict=True) if on)
    return [tuple(t) for t in tables], actions


def _check_users_publication(conn: psycopg.Connection, conninfo: ConnectionInfo, name: str,
                             tables: Sequence[SourceTable]) -> None:
    if not conn.execute("SELECT 1 FROM pg_publication WHERE pubname = %s", (name,)).fetchone():
        raise EngineError(f"Publication {name!r} (the publicationName attribute) does not exist in database "
                          f"{conninfo.database!r}. Create it (CREATE PUBLICATION ... FOR TABLE ...) or remove the "
                          "attribute.", kind=ErrorKind.CONFIGURATION)
    published = {(s, t) for s, t in conn.execute(
        "SELECT schemaname, tablename FROM pg_publication_tables WHERE pubname = %s", (name,)).fetchall()}
    missing = [f"{t.schema}.{t.name}" for t in tables
               if (t.schema, t.name) not in published and not any((t.schema, p) in published for p in t.partitions)]
    if missing:
        raise EngineError(f"Publication {name!r} (the publicationName attribute) does not include the selected "
                          f"table(s) {', '.join(missing)}: their changes would be missed. Add them with ALTER "
                          "PUBLICATION ... ADD TABLE, or remove the attribute.", kind=ErrorKind.CONFIGURATION)


def _note_plugin(conninfo: ConnectionInfo) -> None:
    plugin = (conninfo.attr("pluginName") or "").strip().lower()
    if plugin and plugin not in ("no-preference", "pgoutput"):
        log.warning("pluginName=%s is not used: this engine decodes PostgreSQL's built-in pgoutput plugin.", plugin)


def _check_server(conn: psycopg.Connection, conninfo: ConnectionInfo) -> None:
    if conn.info.server_version < 100000:
        raise EngineError("PostgreSQL 10 or later is needed for change data capture (pgoutput).",
                          kind=ErrorKind.UNSUPPORTED)
    level = conn.execute("SELECT current_setting('wal_level')").fetchone()[0]
    if level != "logical":
        raise EngineError(f"wal_level is {level!r} on {conninfo.host}:{conninfo.port}: change data capture needs "
                          "wal_level = logical (RDS/Aurora: rds.logical_replication = 1). Change it and restart the "
                          "server.", kind=ErrorKind.CONFIGURATION)


def _slot(conn: psycopg.Connection, name: str) -> dict | None:
    row = conn.execute("SELECT plugin, slot_type, database, confirmed_flush_lsn::text, active_pid "
                       "FROM pg_replication_slots WHERE slot_name = %s", (name,)).fetchone()
    if row is None:
        return None
    keys = ("plugin", "slot_type", "database", "confirmed_flush_lsn", "active_pid")
    return dict(zip(keys, row, strict=True))


def _check_slot(conninfo: ConnectionInfo, names: CaptureNames, slot: dict, start: str | None) -> None:
    whose = "the slotName attribute's slot" if names.slot_is_users else "the task's slot"
    if slot["slot_type"] != "logical" or slot["database"] != (conninfo.database or "postgres"):
        raise EngineError(f"Replication slot {names.slot!r} ({whose}) is not a logical slot of database "
                          f"{conninfo.database!r}. Name a logical slot of this database.", kind=ErrorKind.CONFIGURATION)
    if slot["plugin"] != PLUGIN:
        raise EngineError(f"Replication slot {names.slot!r} ({whose}) uses plugin {slot['plugin']!r}; this engine "
                          "decodes pgoutput. Create the slot with pg_create_logical_replication_slot(name, "
                          "'pgoutput').", kind=ErrorKind.CONFIGURATION)
    confirmed = slot["confirmed_flush_lsn"]
    if start is not None and confirmed and parse_lsn(start) < parse_lsn(confirmed) and names.slot_is_users:
        log.warning("Start position %s is before slot %s's confirmed position %s: the slot no longer holds the "
                    "changes in between, streaming starts at %s.", start, names.slot, confirmed, confirmed)


@contextmanager
def _create_slot(conninfo: ConnectionInfo, name: str, *, temporary: bool,
                 snapshot: bool) -> Iterator[tuple[str, str | None]]:
    """(consistent point, exported snapshot name or None). The replication connection that exported the
    snapshot stays open, idle, until the block exits: the snapshot lives exactly that long."""
    if not SLOT_NAME.match(name):
        raise EngineError(f"{name!r} is not a valid replication slot name (lower-case letters, digits and "
                          "underscores, at most 63).", kind=ErrorKind.CONFIGURATION)
    conn = open_replication(conninfo)
    # PostgreSQL creates a logical slot only once every transaction then running on the server (in any
    # database) has ended: a long or idle-in-transaction session elsewhere makes this wait.
    log.info("Creating replication slot %s (waits for the transactions running on the server to end)", name)
    try:
        command = pg2sql.SQL("CREATE_REPLICATION_SLOT {}{} LOGICAL {} {}").format(
            pg2sql.Identifier(name), pg2sql.SQL(" TEMPORARY" if temporary else ""), pg2sql.SQL(PLUGIN),
            pg2sql.SQL("EXPORT_SNAPSHOT" if snapshot else "NOEXPORT_SNAPSHOT"))
        with conn.cursor() as cur:
            try:
                cur.execute(command)
                _slot_name, consistent_point, snapshot_name, _plugin = cur.fetchone()
            except psycopg2.Error as exc:
                raise replication_error(exc, conninfo, doing=f"creating replication slot {name}") from None
        position = format_lsn(parse_lsn(consistent_point))
        log.info("Replication slot %s created at %s%s", name, position, " (temporary)" if temporary else "")
        if not snapshot:
            conn.close()
        yield position, snapshot_name if snapshot else None
        if temporary:
            _drop_temporary(conn, name)
    finally:
        conn.close()


def _drop_temporary(conn: Any, name: str) -> None:
    """Drop a temporary slot now: the server would drop it when the session ends, but only after close returns."""
    try:
        with conn.cursor() as cur:
            cur.execute(pg2sql.SQL("DROP_REPLICATION_SLOT {}").format(pg2sql.Identifier(name)))
    except psycopg2.Error as exc:
        log.info("Temporary slot %s is dropped when its session ends (%s)", name, exc)


def _drop_slot(conn: psycopg.Connection, conninfo: ConnectionInfo, name: str) -> None:
    deadline = time.monotonic() + SLOT_RELEASE_WAIT
    while True:
        row = conn.execute("SELECT active_pid FROM pg_replication_slots WHERE slot_name = %s", (name,)).fetchone()
        if row is None:
            return
        if row[0] is None:
            try:
                conn.execute("SELECT pg_drop_replication_slot(%s)", (name,))
                log.info("Replication slot %s dropped", name)
                return
            except psycopg.errors.ObjectInUse:
                pass  # a stream took it between the two statements: wait as below
            except psycopg.errors.UndefinedObject:
                return
        if time.monotonic() > deadline:
            raise EngineError(f"Replication slot {name!r} is in use by server process {row[0]}: stop the other copy "
                              f"of the task, or end that process with SELECT pg_terminate_backend({row[0]}), then "
                              "try again.", kind=ErrorKind.CONNECTION_LOST)
        time.sleep(0.5)
