"""pyodbc errors from SQL Server (Microsoft's driver or FreeTDS) translated into EngineError.

pyodbc puts every ODBC diagnostic record in one text, e.g.
"[28000] [Microsoft][ODBC Driver 17 for SQL Server][SQL Server]Login failed for user 'u'. (18456)
(SQLDriverConnect); [28000] ...". The records are parsed (SQLSTATE, native error number, text) and
matched against RULES, in order: the first rule any record matches decides the kind and the words.
Messages name the server (host:port), the user and the database, never the password.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Callable
from dataclasses import dataclass

from ..conninfo import ConnectionInfo
from ..errors import EngineError, ErrorKind

_RECORD_SPLIT = re.compile(r"; (?=\[[0-9A-Z]{5}\] )")
_RECORD = re.compile(r"^\[(?P<state>[0-9A-Z]{5})\] (?P<body>.*?)(?: \((?P<native>-?\d+)\))?(?: \(\w+\))?$", re.S)
_VENDOR_TAGS = re.compile(r"^(?:\[[^\]]*\])+")


@dataclass(frozen=True)
class Diagnostic:
    sqlstate: str
    native: int | None
    text: str


def diagnostics(exc: BaseException) -> list[Diagnostic]:
    """The ODBC diagnostic records inside a pyodbc error (args: sqlstate, message)."""
    args = getattr(exc, "args", ())
    message = str(args[1]) if len(args) > 1 else str(exc)
    state = str(args[0]) if args and isinstance(args[0], str) else ""
    records = []
    for part in _RECORD_SPLIT.split(message.strip()):
        match = _RECORD.match(part.strip())
        if not match:
            records.append(Diagnostic(state, None, part.strip()))
            continue
        body = _VENDOR_TAGS.sub("", match["body"]).strip()
        native = int(match["native"]) if match["native"] and match["native"] != "0" else None
        records.append(Diagnostic(match["state"], native, body))
    return records


@dataclass(frozen=True)
class Rule:
    """When a record matches (native number, SQLSTATE or text pattern), the error is `kind`."""

    kind: ErrorKind
    message: str  # placeholders: {server} {user} {database} {detail} {doing}
    natives: frozenset[int] = frozenset()
    states: frozenset[str] = frozenset()
    pattern: re.Pattern | None = None
    permanent: bool | None = None
    when: str = "any"  # "connect": only while connecting; "after": only once connected

    def matches(self, record: Diagnostic, connecting: bool) -> bool:
        if (self.when == "connect" and not connecting) or (self.when == "after" and connecting):
            return False
        return (record.native in self.natives or record.sqlstate in self.states
                or bool(self.pattern and self.pattern.search(record.text)))


def _rule(kind: ErrorKind, message: str, *, natives: tuple[int, ...] = (), states: tuple[str, ...] = (),
          pattern: str | None = None, permanent: bool | None = None, when: str = "any") -> Rule:
    return Rule(kind, message, frozenset(natives), frozenset(states),
                re.compile(pattern, re.I) if pattern else None, permanent, when)


_NETWORK = (r"TCP Provider|Unable to connect|Adaptive Server is unavailable|Communication link failure|"
            r"not found or not accessible|network-related|Unexpected EOF|Adaptive Server connection failed|"
            r"Write to the server failed|Read from the server failed|Server does not exist")

RULES: tuple[Rule, ...] = (
    _rule(ErrorKind.DRIVER, "The ODBC driver for SQL Server cannot be loaded: {detail}. Install FreeTDS "
          "(apt-get install unixodbc tdsodbc) or Microsoft's msodbcsql18, or fix the odbcDriver attribute.",
          states=("IM002", "IM003"), pattern=r"Can't open lib|Data source name not found"),
    _rule(ErrorKind.UNKNOWN_DATABASE, "SQL Server at {server} cannot open database {database} for user {user} "
          "({detail}): the database does not exist, or the login has no user in it. Check the database name, "
          "or map the login: CREATE USER [<user>] FOR LOGIN [<login>] in that database.", natives=(4060,)),
    _rule(ErrorKind.UNKNOWN_DATABASE, "Database {database} on SQL Server at {server} is not available now "
          "({detail}). Retry once it is online.", natives=(942, 927, 952, 976, 978), permanent=False),
    _rule(ErrorKind.AUTH, "SQL Server at {server} refused the login of user {user} ({detail}). Check the user "
          "name and password, that the login is enabled and its password not expired, and that the server "
          "accepts SQL Server authentication (mixed mode).",
          natives=(18456, 18452, 18470, 18486, 18487, 18488), pattern=r"Login failed for user"),
    _rule(ErrorKind.UNREACHABLE, "SQL Server at {server} does not accept connections from this client "
          "({detail}). Add this worker's address to the server's firewall rules.", natives=(40615, 40532),
          permanent=True),
    _rule(ErrorKind.TLS, "The TLS handshake with SQL Server at {server} failed ({detail}). verify-ca and "
          "verify-full need the server certificate's CA in this machine's trust store (update-ca-certificates) "
          "and, for verify-full, a certificate matching the host name; use SSL mode require to encrypt without "
          "checking the certificate.", pattern=r"SSL Provider|SSL routines|certificate|SSL Security|TLS|handshake",
          when="connect"),
    _rule(ErrorKind.TIMEOUT, "No answer from SQL Server at {server} within the login timeout ({detail}). Check "
          "the host and the port (1433 unless the instance listens elsewhere; named instances have their own "
          "port) and any firewall or security group in between.",
          states=("HYT00", "HYT01"), pattern=r"timeout expired|timed out", when="connect"),
    _rule(ErrorKind.TIMEOUT, "A statement on SQL Server at {server} did not finish in time while {doing} "
          "({detail}). Look for blocking sessions (sys.dm_exec_requests) or raise executeTimeout.",
          states=("HYT00", "HYT01"), pattern=r"timeout expired|timed out", when="after"),
    _rule(ErrorKind.PRIVILEGE, "User {user} may not change MS-CDC settings on SQL Server at {server} ({detail}). "
          "Enabling CDC on a database needs sysadmin (on Amazon RDS: EXEC msdb.dbo.rds_cdc_enable_db), on a "
          "table db_owner: have a DBA run the statements, or grant the role.",
          natives=(22902, 22904), pattern=r"Caller is not authorized"),
    _rule(ErrorKind.PRIVILEGE, "User {user} lacks VIEW SERVER STATE on SQL Server at {server} ({detail}). "
          "Grant it: GRANT VIEW SERVER STATE TO [<login>].", natives=(300,), pattern=r"VIEW SERVER STATE"),
    _rule(ErrorKind.PRIVILEGE, "Permission denied for user {user} while {doing} on SQL Server at {server} "
          "({detail}). Full load needs db_datareader and VIEW DEFINITION; MS-CDC needs db_owner, or SELECT on "
          "the captured columns and membership in the capture instance's gating role.",
          natives=(229, 230, 262, 297, 916, 15247, 1088, 4701)),
    _rule(ErrorKind.CONFIGURATION, "The requested LSN range is no longer in the MS-CDC change tables on "
          "{server} ({detail}): the cleanup job removed changes older than its retention. Reload the tables, "
          "and raise the retention: EXEC sys.sp_cdc_change_job @job_type = N'cleanup', @retention = <minutes>.",
          natives=(313,)),
    _rule(ErrorKind.UNREACHABLE, "Cannot reach SQL Server at {server}{reason} ({detail}). Check that the server "
          "runs, that the host name and port are right (1433 by default), that TCP/IP is enabled for the "
          "instance, and that no firewall blocks the port.",
          states=("08001", "08S01", "08004"), pattern=_NETWORK, when="connect"),
    _rule(ErrorKind.CONNECTION_LOST, "The connection to SQL Server at {server} was lost while {doing} "
          "({detail}).", states=("08S01", "08003", "08007"), pattern=_NETWORK, when="after"),
    _rule(ErrorKind.SCHEMA, "SQL Server at {server} refused a statement while {doing}: {detail}.",
          natives=(208, 207, 2714, 4902, 3701, 1911, 1913, 4924, 4922, 1779)),
    _rule(ErrorKind.DUPLICATE, "SQL Server at {server} already has a row with this key while {doing}: {detail}.",
          natives=(2627, 2601)),
    _rule(ErrorKind.DATA, "SQL Server at {server} refused a value while {doing}: {detail}.",
          natives=(515, 8152, 2628, 245, 8114, 8115, 547, 220, 232, 241, 242, 295, 9455, 544, 8102)),
    _rule(ErrorKind.OTHER, "SQL Server at {server} could not serve the request while {doing} ({detail}). This is "
          "usually temporary.", natives=(1205, 1222, 40501, 40613, 49918, 49919, 49920, 10928, 10929),
          permanent=False),
)


def translate(exc: BaseException, conn: ConnectionInfo, doing: str = "connecting", *,
              resolve: Callable[..., object] = socket.getaddrinfo,
              probe: Callable[[str, int], str] | None = None) -> EngineError:
    """The EngineError for a pyodbc error raised while `doing` something ("connecting" means login).

    The drivers say little about a failed connection (FreeTDS: "Unable to connect to data source"),
    so an unreachable server is looked at again: does the name resolve, does the port answer?"""
    if isinstance(exc, EngineError):
        return exc
    connecting = doing == "connecting"
    records = diagnostics(exc) or [Diagnostic("", None, str(exc))]
    words = {"server": f"{conn.host}:{conn.port}", "user": repr(conn.username),
             "database": repr(conn.database), "doing": doing, "reason": ""}
    for rule in RULES:
        hit = next((r for r in records if rule.matches(r, connecting)), None)
        if hit is None:
            continue
        if rule.kind is ErrorKind.UNREACHABLE and connecting and "{reason}" in rule.message:
            if not _resolves(conn.host, resolve):
                return EngineError(f"The host name {conn.host!r} of the SQL Server endpoint cannot be resolved. "
                                   "Check the server name (and the DNS of this worker).", kind=ErrorKind.UNREACHABLE)
            words["reason"] = (probe or port_state)(conn.host, conn.port)
        detail = _detail(hit)
        return EngineError(rule.message.format(detail=detail, **words), kind=rule.kind, permanent=rule.permanent)
    detail = _detail(records[0])
    codes = ", ".join(f"SQLSTATE {r.sqlstate}" + (f", error {r.native}" if r.native else "") for r in records[:1])
    return EngineError(f"Error while {doing} on SQL Server at {words['server']}: {detail} ({codes}).",
                       kind=ErrorKind.OTHER)


def _detail(hit: Diagnostic) -> str:
    """The matching record's text with its error number (drivers repeat records: one is enough)."""
    text = hit.text.rstrip(".")
    return f"{text}, error {hit.native}" if hit.native else text


def _resolves(host: str, resolve: Callable[..., object]) -> bool:
    try:
        resolve(host, None)
    except (OSError, UnicodeError):
        return False
    return True


def port_state(host: str, port: int, timeout: float = 2.0) -> str:
    """A few words on what answers at host:port, for the unreachable message."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return (": something accepts connections on that port but the SQL Server login handshake failed "
                    "(is it SQL Server? does the SSL mode match the server's encryption setting?)")
    except ConnectionRefusedError:
        return ": the connection was refused, nothing listens on that port"
    except TimeoutError:
        return ": no answer on that port (a firewall may drop the packets)"
    except OSError as exc:
        return f": {exc.strerror or exc}"
