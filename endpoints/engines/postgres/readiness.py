"""Test connection: server version, and what a CDC source or a target still needs.

Problems are reported as warnings naming the setting or grant to change, because
a full-load-only task works without any of them.
"""

from __future__ import annotations

import psycopg
from psycopg.rows import dict_row

from ..base import ConnectionReport, EndpointRole
from ..conninfo import ConnectionInfo
from ..errors import EngineError
from .connection import connect, translate_error
from .sqlfiles import query

# DMS: wal_sender_timeout below 10 s fails the task (0 disables the timeout and is fine).
MIN_WAL_SENDER_TIMEOUT_MS = 10_000


def test_connection(conninfo: ConnectionInfo, role: EndpointRole, timeout: float) -> ConnectionReport:
    """Never raises: every failure becomes a report with ok False and the reason."""
    try:
        conn = connect(conninfo, timeout=timeout, autocommit=True, statement_timeout=timeout, after_connect=False)
    except EngineError as exc:
        return ConnectionReport(ok=False, message=exc.message)
    try:
        with conn:
            version = conn.execute("SELECT current_setting('server_version')").fetchone()[0]
            if role is EndpointRole.SOURCE:
                warnings = cdc_warnings(conn, conninfo)
                return ConnectionReport(ok=True, server_version=version, warnings=tuple(warnings),
                                        cdc_ready=not warnings)
            return ConnectionReport(ok=True, server_version=version, warnings=tuple(target_warnings(conn, conninfo)))
    except psycopg.Error as exc:
        return ConnectionReport(ok=False, message=translate_error(exc, conninfo, doing="checking the server").message)
    except Exception as exc:  # noqa: BLE001 - the console must get a report, whatever happened
        return ConnectionReport(ok=False, message=f"PostgreSQL {conninfo.host}:{conninfo.port}: unexpected "
                                                  f"failure while testing the connection: {exc}")


def cdc_warnings(conn: psycopg.Connection, conninfo: ConnectionInfo) -> list[str]:
    """Each unmet CDC prerequisite (DMS PostgreSQL source), worded as the change to make."""
    with conn.cursor(row_factory=dict_row) as cur:
        facts = cur.execute(query("cdc_readiness")).fetchone()
    return setting_warnings(facts, conninfo.username) + _named_object_warnings(conn, conninfo)


def setting_warnings(facts: dict, user: str) -> list[str]:
    """Warnings for the server settings and grants read by sql/cdc_readiness.sql."""
    warnings = []
    if facts["wal_level"] != "logical":
        warnings.append(f"wal_level is {facts['wal_level']!r}: CDC needs wal_level = logical. Set it in "
                        "postgresql.conf (RDS/Aurora: rds.logical_replication = 1 in the parameter group) "
                        "and restart the server.")
    if not (facts["is_superuser"] or facts["has_replication"] or facts["rds_replication"]):
        warnings.append(f'User "{user}" has neither SUPERUSER nor the REPLICATION attribute: CDC cannot '
                        f'open a replication slot. Run ALTER ROLE "{user}" WITH REPLICATION '
                        f'(RDS/Aurora: GRANT rds_replication TO "{user}").')
    if facts["used_slots"] >= facts["max_slots"]:
        warnings.append(f"No free replication slot: {facts['used_slots']} of max_replication_slots = "
                        f"{facts['max_slots']} are in use. Raise max_replication_slots (restart needed) "
                        "or drop unused slots with pg_drop_replication_slot().")
    if facts["max_wal_senders"] < 2 or facts["used_wal_senders"] >= facts["max_wal_senders"]:
        warnings.append(f"max_wal_senders = {facts['max_wal_senders']} with {facts['used_wal_senders']} in use: "
                        "CDC needs a free WAL sender. Raise max_wal_senders (restart needed).")
    timeout_ms = facts["wal_sender_timeout_ms"]
    if timeout_ms and timeout_ms < MIN_WAL_SENDER_TIMEOUT_MS:
        warnings.append(f"wal_sender_timeout = {timeout_ms} ms: CDC tasks fail below 10 s. "
                        "Set wal_sender_timeout to 0 or at least 10000 ms.")
    return warnings


def _named_object_warnings(conn: psycopg.Connection, conninfo: ConnectionInfo) -> list[str]:
    """A slot or publication named by an extra connection attribute must exist."""
    warnings = []
    slot = conninfo.attr("slotName")
    if slot and not conn.execute("SELECT 1 FROM pg_replication_slots WHERE slot_name = %s AND database = "
                                 "current_database()", (slot,)).fetchone():
        warnings.append(f"The slotName attribute names replication slot {slot!r}, which does not exist in "
                        f"database {conninfo.database!r}. Create it (SELECT pg_create_logical_replication_slot("
                        f"'{slot}', 'pgoutput')) or remove the attribute.")
    publication = conninfo.attr("publicationName")
    if publication and not conn.execute("SELECT 1 FROM pg_publication WHERE pubname = %s",
                                        (publication,)).fetchone():
        warnings.append(f"The publicationName attribute names publication {publication!r}, which does not "
                        f"exist in database {conninfo.database!r}. Create it (CREATE PUBLICATION ... FOR "
                        "TABLE ...) or remove the attribute.")
    return warnings


def target_warnings(conn: psycopg.Connection, conninfo: ConnectionInfo) -> list[str]:
    """A target must be able to create schemas (for the tables and control tables) or at least tables."""
    can_create_schema, can_create_in_public = conn.execute(
        "SELECT has_database_privilege(current_database(), 'CREATE'), "
        "coalesce(has_schema_privilege(n.oid, 'CREATE'), false) "
        "FROM (SELECT 1) x LEFT JOIN pg_namespace n ON n.nspname = 'public'").fetchone()
    if can_create_schema or can_create_in_public:
        return []
    return [f'User "{conninfo.username}" can neither create schemas in database "{conninfo.database}" nor '
            f'create tables in schema public: the load will fail. Run GRANT CREATE ON DATABASE '
            f'"{conninfo.database}" TO "{conninfo.username}".']
