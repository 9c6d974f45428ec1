"""Opening PostgreSQL connections (psycopg 3) and wording their failures for a DBA.

Every connection the engine opens goes through `connect()`, so SSL settings, the
CA certificate file, the timeout and error translation live in one place. The
password is passed to libpq as a parameter, never in a DSN string, and never
appears in an error message.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import errors as pgerrors

from ..conninfo import ConnectionInfo
from ..errors import EngineError, ErrorKind

APPLICATION_NAME = "dms-console"

# DMS SSL modes -> libpq sslmode. DMS "none" must mean no TLS at all, not libpq's "prefer".
SSL_MODES: dict[str, str] = {
    "none": "disable",
    "require": "require",
    "verify-ca": "verify-ca",
    "verify-full": "verify-full",
}


# Every session reads and writes values in one unambiguous form: UTC, ISO dates, round-tripping floats.
# Naive DATETIME values written to timestamptz columns are therefore taken as UTC.
SESSION_OPTIONS = ("-c TimeZone=UTC -c DateStyle=ISO,YMD -c IntervalStyle=postgres -c bytea_output=hex "
                   "-c extra_float_digits=3")


@contextmanager
def connection_params(conninfo: ConnectionInfo, *, timeout: float) -> Iterator[dict[str, Any]]:
    """libpq keyword parameters for `conninfo`, valid inside the `with` block.

    A CA certificate is written to a private (0600) temporary file that is removed
    on exit; libpq reads it during the TLS handshake only, so the block only needs
    to cover connecting. Also used by replication connections (psycopg2) for CDC.
    """
    sslmode = SSL_MODES.get(conninfo.ssl_mode)
    if sslmode is None:
        raise EngineError(f"SSL mode {conninfo.ssl_mode!r} is not supported for PostgreSQL: use one of "
                          f"{', '.join(SSL_MODES)}.", kind=ErrorKind.CONFIGURATION)
    params: dict[str, Any] = {
        "host": conninfo.host,
        "port": conninfo.port,
        "dbname": conninfo.database or "postgres",
        "user": conninfo.username,
        "sslmode": sslmode,
        # libpq rounds down and treats 1 as 2; keep at least the caller's timeout.
        "connect_timeout": max(2, math.ceil(timeout)),
        "application_name": APPLICATION_NAME,
        "client_encoding": "UTF8",
        "options": SESSION_OPTIONS,
    }
    if conninfo.password:
        params["password"] = conninfo.password
    ca_path = None
    # Only the verify modes get the CA: libpq would turn "require" into verify-ca when given one.
    if conninfo.ca_certificate and sslmode in ("verify-ca", "verify-full"):
        fd, ca_path = tempfile.mkstemp(prefix="dms-ca-", suffix=".pem")
        with os.fdopen(fd, "w") as handle:  # mkstemp creates the file 0600
            handle.write(conninfo.ca_certificate)
        params["sslrootcert"] = ca_path
    elif sslmode in ("verify-ca", "verify-full"):
        raise EngineError(f"SSL mode {conninfo.ssl_mode} for {_where(conninfo)} needs the server's CA certificate: "
                          "add the CA certificate (PEM) to the endpoint, or use SSL mode require.",
                          kind=ErrorKind.CONFIGURATION)
    try:
        yield params
    finally:
        if ca_path:
            os.unlink(ca_path)


def connect(conninfo: ConnectionInfo, *, timeout: float = 10.0, autocommit: bool = False,
            statement_timeout: float | None = None, after_connect: bool = True) -> psycopg.Connection:
    """Open a psycopg 3 connection, raising EngineError with a DBA's explanation on failure.

    `statement_timeout` (seconds) bounds every statement of the session; `after_connect`
    runs the endpoint's afterConnectScript attribute (DMS runs it on every session).
    """
    with connection_params(conninfo, timeout=timeout) as params:
        if statement_timeout:
            params["options"] += f" -c statement_timeout={int(statement_timeout * 1000)}"
        try:
            conn = psycopg.connect(autocommit=autocommit, **params)
        except psycopg.Error as exc:
            raise translate_error(exc, conninfo) from None
    script = conninfo.attr("afterConnectScript") if after_connect else None
    if script:
        _run_after_connect(conn, conninfo, script)
    return conn


def _run_after_connect(conn: psycopg.Connection, conninfo: ConnectionInfo, script: str) -> None:
    try:
        conn.execute(script.encode())
        if not conn.autocommit:
            conn.commit()
    except psycopg.Error as exc:
        conn.close()
        raise EngineError(f"The afterConnectScript of the endpoint {_where(conninfo)} failed: "
                          f"{_server_text(exc)}. Fix or remove the afterConnectScript attribute.",
                          kind=ErrorKind.CONFIGURATION) from None


def _where(conninfo: ConnectionInfo) -> str:
    return f"{conninfo.host}:{conninfo.port}"


def _server_text(exc: BaseException) -> str:
    diag = getattr(exc, "diag", None)
    primary = getattr(diag, "message_primary", None) if diag is not None else None
    text = primary or str(exc)
    for prefix in ("connection failed: ",):
        if text.startswith(prefix):
            text = text[len(prefix):]
    return " ".join(text.split())


def _scrub(message: str, conninfo: ConnectionInfo) -> str:
    # Servers and drivers do not echo passwords, but a misconfigured script or DSN could.
    if conninfo.password and len(conninfo.password) >= 4:
        message = message.replace(conninfo.password, "***")
    return message


def translate_error(exc: BaseException, conninfo: ConnectionInfo, *, doing: str = "") -> EngineError:
    """An EngineError for a psycopg failure, naming host:port, user and database, never the password.

    `doing` says what was attempted when it was not connecting ("reading table public.t").
    """
    kind, advice = _classify(exc, conninfo)
    text = _scrub(_server_text(exc), conninfo)  # only the server's words: our advice holds no secret
    who = f'user "{conninfo.username}", database "{conninfo.database or "postgres"}"'
    lead = f"PostgreSQL {_where(conninfo)} ({who})"
    if doing:
        lead += f" while {doing}"
    return EngineError(f"{lead}: {advice} Server said: {text}", kind=kind)


def _classify(exc: BaseException, conninfo: ConnectionInfo) -> tuple[ErrorKind, str]:
    for matches, kind, advice in _RULES:
        if matches(exc, _server_text(exc).lower()):
            return kind, advice.format(user=conninfo.username, database=conninfo.database or "postgres",
                                       where=_where(conninfo), host=conninfo.host)
    state = getattr(exc, "sqlstate", None) or ""
    if state.startswith(("22", "23")):
        return ErrorKind.DATA, "the server refused a value."
    if isinstance(exc, psycopg.OperationalError) and not state:
        return ErrorKind.CONNECTION_LOST, "the connection failed or was lost."
    return ErrorKind.OTHER, "the statement failed."


def _state(*codes: str):
    return lambda exc, text: getattr(exc, "sqlstate", None) in codes


def _text(*needles: str):
    return lambda exc, text: any(n in text for n in needles)


def _all(*needles: str):
    return lambda exc, text: all(n in text for n in needles)


def _either(*tests):
    return lambda exc, text: any(t(exc, text) for t in tests)


_RULES = (
    (_either(_state("28P01"), _text("password authentication failed", "no password supplied")),
     ErrorKind.AUTH,
     'the login was refused: the password for user "{user}" is wrong or missing. '
     "Correct the endpoint's user name and password."),
    (_all("role \"", "does not exist"),
     ErrorKind.AUTH,
     'the login was refused: user (role) "{user}" does not exist on this server. Correct the user name, '
     'or create the role with CREATE ROLE "{user}" LOGIN PASSWORD \'...\'.'),
    (_text("no pg_hba.conf entry"),
     ErrorKind.AUTH,
     'pg_hba.conf has no entry allowing user "{user}" to connect to database "{database}" from this host. '
     "Add a matching host/hostssl line to pg_hba.conf and reload the server."),
    (_either(_state("3D000"), _all("database \"", "does not exist")),
     ErrorKind.UNKNOWN_DATABASE,
     'database "{database}" does not exist on this server. Correct the database name or create it.'),
    (_either(_state("42501"), _text("permission denied")),
     ErrorKind.PRIVILEGE,
     'user "{user}" lacks a privilege this needs. Grant it (see the server message) or use another user.'),
    (_either(lambda exc, text: isinstance(exc, getattr(pgerrors, "ConnectionTimeout", ())),
             _text("timeout expired")),
     ErrorKind.TIMEOUT,
     "no answer before the connection timeout. Check that {where} is the right server and port, "
     "and that no firewall silently drops the traffic."),
    (_state("57014"),
     ErrorKind.TIMEOUT,
     "the statement was cancelled by a timeout (statement_timeout or the executeTimeout attribute). "
     "Raise executeTimeout, or look for locks held by other sessions."),
    (_text("connection refused"),
     ErrorKind.UNREACHABLE,
     "nothing accepts connections on {where} (connection refused). Check the server name and port, that "
     "PostgreSQL is running, its listen_addresses setting, and firewalls."),
    (_text("failed to resolve host", "could not translate host name", "name or service not known"),
     ErrorKind.UNREACHABLE,
     'the server name "{host}" cannot be resolved (DNS). Correct the server name.'),
    (_text("no route to host", "network is unreachable", "host is unreachable"),
     ErrorKind.UNREACHABLE,
     "there is no network route to {where}. Check the server name, VPC routing and security groups."),
    (_either(_state("57P01", "57P02", "57P03"), _text("server closed the connection", "terminating connection",
                                                      "the database system is", "ssl syscall error")),
     ErrorKind.CONNECTION_LOST,
     "the server closed the connection (restart, shutdown or an administrator). Retry when it is back."),
    (_text("ssl", "certificate", "tls"),
     ErrorKind.TLS,
     "the TLS (SSL) connection could not be set up. Check the endpoint's SSL mode, that the server has ssl=on, "
     "and the CA certificate (verify-ca / verify-full also check the server's certificate and name)."),
    (_either(_state("53300"), _text("too many connections", "remaining connection slots")),
     ErrorKind.UNREACHABLE,
     "the server has no free connection slots. Retry later, raise max_connections, or close idle sessions."),
    (_state("42P01", "42703", "3F000", "42704"),
     ErrorKind.SCHEMA,
     "an object it needs does not exist. Check the schema, table and column names."),
)
