"""PyMySQL errors translated into EngineError, worded for a DBA.

Every message names the server (host:port), the user and, where it matters, the
database; the password never appears. The kind tells jobs whether a retry may help.
"""

from __future__ import annotations

import socket
import ssl

import pymysql

from ..conninfo import ConnectionInfo
from ..errors import EngineError, ErrorKind

# Server error numbers (MySQL and MariaDB share them) grouped by what a DBA must do.
_AUTH = {1045, 1130, 1251, 1698}  # access denied, host not allowed, auth plugin refused
_PRIVILEGE = {1044, 1142, 1143, 1227, 1370, 1211}
_SCHEMA = {1146, 1054, 1050, 1051, 1091, 1072, 1068, 1170, 1071, 1101}
_DATA = {1048, 1062, 1264, 1265, 1292, 1366, 1367, 1406, 1452, 1451, 4025, 3140, 1263, 1261, 1262, 1411}
_TIMEOUT = {1969, 3024, 1205, 1317}  # statement time limit, lock wait, interrupted
_TRANSIENT = {1040, 1213, 1053, 1927}  # too many connections, deadlock, shutdown, connection killed
_LOST = {2006, 2013, 2055}
LOCAL_INFILE_REFUSED = {1148, 3948, 2068, 4166}  # LOAD DATA LOCAL disabled on the server or client


def where(conn: ConnectionInfo) -> str:
    """How a message names the endpoint: MySQL server host:port, user and database."""
    text = f"{conn.host}:{conn.port} as user {conn.username!r}"
    if conn.database:
        text += f" (database {conn.database!r})"
    return text


def translate(exc: BaseException, conn: ConnectionInfo, doing: str = "connecting") -> EngineError:
    """The EngineError for a PyMySQL (or socket) error raised while `doing` something."""
    if isinstance(exc, EngineError):
        return exc
    code, text = _code_and_text(exc)
    at = where(conn)
    if code == 2003 or isinstance(exc, OSError):
        return _network(getattr(exc, "original_exception", exc), at, text)
    if code == 2026:
        return EngineError(f"TLS failed with the MySQL server at {at}: {text}. Check the SSL mode and that the "
                           "server has TLS enabled (have_ssl=YES).", kind=ErrorKind.TLS)
    if code in _AUTH:
        return EngineError(f"The MySQL server at {conn.host}:{conn.port} refused the login of user "
                           f"{conn.username!r}: {text}. Check the user name and password, and that the user "
                           "may connect from this host.", kind=ErrorKind.AUTH)
    if code == 1049:
        return EngineError(f"The MySQL server at {conn.host}:{conn.port} has no database {conn.database!r}. "
                           "Check the database name (SHOW DATABASES) or create it.",
                           kind=ErrorKind.UNKNOWN_DATABASE)
    if code == 1044:
        return EngineError(f"User {conn.username!r} may not use database {conn.database!r} on "
                           f"{conn.host}:{conn.port}: {text}. Grant it, e.g. GRANT SELECT ON "
                           f"`{conn.database}`.* TO the user.", kind=ErrorKind.PRIVILEGE)
    if code in _PRIVILEGE:
        return EngineError(f"Permission denied while {doing} on {at}: {text}. Grant the missing privilege "
                           "to this user.", kind=ErrorKind.PRIVILEGE)
    if code in LOCAL_INFILE_REFUSED:
        return EngineError(f"LOAD DATA LOCAL INFILE is disabled on {at}: {text}. Set local_infile=ON on the "
                           "server.", kind=ErrorKind.CONFIGURATION)
    return _statement(code, text, at, doing)


def _statement(code: int | None, text: str, at: str, doing: str) -> EngineError:
    if code in _SCHEMA:
        return EngineError(f"Error while {doing} on {at}: {text}.", kind=ErrorKind.SCHEMA)
    if code in _DATA:
        return EngineError(f"The MySQL server at {at} refused a value while {doing}: {text}.",
                           kind=ErrorKind.DATA)
    if code in _LOST and "timed out" in text:
        return EngineError(f"No answer from the MySQL server at {at} before the timeout while {doing}. Check "
                           "that the server is not overloaded and that the host and port are a MySQL server.",
                           kind=ErrorKind.TIMEOUT)
    if code in _TIMEOUT:
        return EngineError(f"Timed out while {doing} on {at}: {text}.", kind=ErrorKind.TIMEOUT)
    if code in _LOST or (code == 0 and not text):
        return EngineError(f"The connection to the MySQL server at {at} was lost while {doing}: "
                           f"{text or 'connection closed'}.", kind=ErrorKind.CONNECTION_LOST)
    if code in _TRANSIENT:
        return EngineError(f"The MySQL server at {at} could not serve the request while {doing}: {text}. "
                           "This is usually temporary.", kind=ErrorKind.OTHER, permanent=False)
    return EngineError(f"Error while {doing} on {at}: {text}"
                       + (f" (MySQL error {code})." if code else "."), kind=ErrorKind.OTHER)


def _network(cause: BaseException, at: str, text: str) -> EngineError:
    if isinstance(cause, ssl.SSLError):
        return EngineError(f"TLS failed with the MySQL server at {at}: {cause}. Check the CA certificate "
                           "and the SSL mode (verify-full also checks the host name).", kind=ErrorKind.TLS)
    if isinstance(cause, TimeoutError | socket.timeout):
        return EngineError(f"No answer from the MySQL server at {at} before the timeout. Check the host, the "
                           "port and any firewall or security group between.", kind=ErrorKind.TIMEOUT)
    if isinstance(cause, socket.gaierror):
        return EngineError(f"The host name of the MySQL server at {at} cannot be resolved ({cause}). "
                           "Check the server name.", kind=ErrorKind.UNREACHABLE)
    if isinstance(cause, ConnectionRefusedError):
        return EngineError(f"The MySQL server at {at} refused the connection: nothing listens on that port. "
                           "Check that the server runs and the port is right.", kind=ErrorKind.UNREACHABLE)
    return EngineError(f"Cannot reach the MySQL server at {at}: {text}. Check the host, the port and the "
                       "network path.", kind=ErrorKind.UNREACHABLE)


def _code_and_text(exc: BaseException) -> tuple[int | None, str]:
    if isinstance(exc, pymysql.err.MySQLError) and exc.args and isinstance(exc.args[0], int):
        return exc.args[0], str(exc.args[1]) if len(exc.args) > 1 else ""
    return None, str(exc)
