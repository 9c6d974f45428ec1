"""Opening PyMySQL connections the way every part of the engine needs them.

Each connection talks utf8mb4 and runs with session time_zone '+00:00', so TIMESTAMP
values come out in UTC whatever the server's zone. The server's sql_mode is kept
except for the modes that would change how our SQL text is parsed
(NO_BACKSLASH_ESCAPES, ANSI_QUOTES, PIPES_AS_CONCAT).
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pymysql
from pymysql.connections import Connection

from ..conninfo import ConnectionInfo
from ..errors import EngineError, ErrorKind
from .attributes import execute_timeout
from .errors import translate, where
from .sqltext import split_statements

log = logging.getLogger(__name__)

SESSION_TIME_ZONE = "+00:00"
_PARSE_CHANGING_MODES = {"NO_BACKSLASH_ESCAPES", "ANSI_QUOTES", "PIPES_AS_CONCAT", "ANSI"}


def connect(conn: ConnectionInfo, *, timeout: float = 10.0, read_timeout: float | None = None,
            database: str | None = None, use_database: bool = True, local_infile: bool = False,
            autocommit: bool = True, run_scripts: bool = True,
            connection_class: type[Connection] = Connection) -> Connection:
    """An open connection, session prepared; raises EngineError (never a PyMySQL error).

    `read_timeout` bounds every wait for the server (None: no bound, for long streaming
    reads); `database` overrides the endpoint's database, `use_database=False` connects
    to none (to create one). afterConnectScript and initstmt run when `run_scripts`.
    """
    kwargs: dict[str, Any] = {
        "host": conn.host,
        "port": conn.port,
        "user": conn.username,
        "password": conn.password,
        "database": (database or conn.database or None) if use_database else None,
        "charset": "utf8mb4",
        "connect_timeout": timeout,
        "read_timeout": read_timeout,
        "write_timeout": read_timeout,
        "autocommit": autocommit,
        "local_infile": local_infile,
        **ssl_options(conn),
    }
    try:
        raw = connection_class(**kwargs)
    except (pymysql.MySQLError, OSError) as exc:
        raise translate(exc, conn) from None
    try:
        _prepare_session(raw)
        if run_scripts:
            _run_scripts(raw, conn)
    except BaseException as exc:
        raw.close()
        if isinstance(exc, pymysql.MySQLError | OSError):
            raise translate(exc, conn, "preparing the session") from None
        raise
    return raw


@contextmanager
def session(conn: ConnectionInfo, doing: str, **kwargs: Any) -> Iterator[Connection]:
    """A connection for one job: closed afterwards, PyMySQL errors translated naming `doing`.

    Without an explicit read_timeout, waits are bounded by executeTimeout."""
    kwargs.setdefault("read_timeout", execute_timeout(conn))
    raw = connect(conn, **kwargs)
    try:
        yield raw
    except (pymysql.MySQLError, OSError) as exc:
        raise translate(exc, conn, doing) from None
    finally:
        raw.close()


def ssl_options(conn: ConnectionInfo) -> dict[str, Any]:
    """PyMySQL options for DMS's SSL modes.

    none: no TLS at all (PyMySQL would otherwise try TLS opportunistically);
    require: TLS, certificate not checked; verify-ca: certificate signed by the given CA;
    verify-full: verify-ca plus the host name. PyMySQL refuses to go on without TLS
    when a context is given and the server does not offer it.
    """
    mode = conn.ssl_mode or "none"
    if mode == "none":
        return {"ssl_disabled": True}
    if mode == "require":
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return {"ssl": context}
    if mode not in ("verify-ca", "verify-full"):
        raise EngineError(f"SSL mode {mode!r} is not supported: use none, require, verify-ca or verify-full.",
                          kind=ErrorKind.CONFIGURATION)
    if not conn.ca_certificate.strip():
        raise EngineError(f"SSL mode {mode} for {where(conn)} needs the CA certificate (PEM) that signed the "
                          "server's certificate: add it to the endpoint.", kind=ErrorKind.CONFIGURATION)
    try:
        context = ssl.create_default_context(cadata=conn.ca_certificate)
    except (ssl.SSLError, ValueError) as exc:
        raise EngineError(f"The CA certificate of the endpoint for {where(conn)} cannot be read ({exc}): paste "
                          "the PEM text, including the BEGIN/END CERTIFICATE lines.", kind=ErrorKind.TLS) from None
    context.check_hostname = mode == "verify-full"
    context.verify_mode = ssl.CERT_REQUIRED
    return {"ssl": context}


def is_mariadb(raw: Connection) -> bool:
    return "mariadb" in (raw.get_server_info() or "").lower()


def server_label(raw: Connection) -> str:
    """'MariaDB 10.11.19' / 'MySQL 8.0.36': what Test connection shows."""
    number = ".".join(str(p) for p in server_version(raw))
    return f"MariaDB {number}" if is_mariadb(raw) else f"MySQL {number}"


def server_version(raw: Connection) -> tuple[int, ...]:
    version = raw.get_server_info() or "0"
    # MariaDB prefixes its handshake version with "5.5.5-" for old clients' sake.
    version = version.removeprefix("5.5.5-")
    return tuple(int(p) for p in version.split("-")[0].split(".") if p.isdigit())


def _prepare_session(raw: Connection) -> None:
    with raw.cursor() as cursor:
        cursor.execute("SELECT @@SESSION.sql_mode")
        modes = [m for m in (cursor.fetchone()[0] or "").split(",") if m and m not in _PARSE_CHANGING_MODES]
        cursor.execute("SET SESSION time_zone = %s, SESSION sql_mode = %s", (SESSION_TIME_ZONE, ",".join(modes)))


def _run_scripts(raw: Connection, conn: ConnectionInfo) -> None:
    # initstmt is a target setting the load relies on (e.g. FOREIGN_KEY_CHECKS=0): it must work.
    for statement in split_statements(conn.attr("initstmt") or ""):
        try:
            with raw.cursor() as cursor:
                cursor.execute(statement)
        except pymysql.MySQLError as exc:
            raise EngineError(f"The initstmt attribute failed on {where(conn)}: {exc.args[-1]}. Fix the "
                              "statement or remove it.", kind=ErrorKind.CONFIGURATION) from None
    # afterConnectScript: DMS goes on whether it succeeds or not; we log the failure.
    for statement in split_statements(conn.attr("afterConnectScript") or ""):
        try:
            with raw.cursor() as cursor:
                cursor.execute(statement)
        except pymysql.MySQLError as exc:
            log.warning("afterConnectScript statement failed on %s: %s", where(conn), exc.args[-1])
