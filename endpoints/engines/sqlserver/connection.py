"""pyodbc connections to SQL Server through whichever ODBC driver is installed.

Microsoft's "ODBC Driver 18/17 for SQL Server" is preferred (parameter arrays for
bulk loads, certificate checks); FreeTDS (Debian's tdsodbc) is the fallback and is
used through its library path when unixODBC has no entry for it. The connection
string is built from data (`connection_string`) so it can be checked without a server.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from ..conninfo import ConnectionInfo
from ..errors import EngineError, ErrorKind
from .attributes import Settings, settings
from .errors import translate
from .values import add_output_converters

MS_DRIVERS = ("ODBC Driver 18 for SQL Server", "ODBC Driver 17 for SQL Server")
# Where distributions put FreeTDS's ODBC driver; used when odbcinst.ini does not name it.
FREETDS_LIBRARIES = (
    "/usr/lib/x86_64-linux-gnu/odbc/libtdsodbc.so",
    "/usr/lib/aarch64-linux-gnu/odbc/libtdsodbc.so",
    "/usr/lib64/libtdsodbc.so.0",
    "/usr/lib/libtdsodbc.so",
    "/usr/local/lib/libtdsodbc.so",
    "/opt/homebrew/lib/libtdsodbc.so",
)
MISSING_DRIVER = ("No ODBC driver for SQL Server is installed. Install FreeTDS (Debian/Ubuntu: "
                  "apt-get install unixodbc tdsodbc) or Microsoft's driver (msodbcsql18, from "
                  "packages.microsoft.com), then test the connection again.")


@dataclass(frozen=True)
class Driver:
    """The driver to name in DRIVER=..., and which family it belongs to."""

    name: str
    family: str  # "microsoft" or "freetds"

    @property
    def microsoft(self) -> bool:
        return self.family == "microsoft"


def choose_driver(installed: Sequence[str], override: str | None = None,
                  exists: Callable[[str], bool] = os.path.exists) -> Driver:
    """Microsoft's newest driver, else FreeTDS by name, else FreeTDS by library path."""
    if override:
        return Driver(override, "freetds" if "tds" in override.lower() else "microsoft")
    for name in MS_DRIVERS:
        if name in installed:
            return Driver(name, "microsoft")
    for name in installed:
        if "freetds" in name.lower():
            return Driver(name, "freetds")
    for path in FREETDS_LIBRARIES:
        if exists(path):
            return Driver(path, "freetds")
    raise EngineError(MISSING_DRIVER, kind=ErrorKind.DRIVER)


def installed_drivers() -> list[str]:
    return list(_pyodbc().drivers())


def tls_options(ssl_mode: str, driver: Driver) -> dict[str, str]:
    """Connection-string options for DMS's SSL modes.

    FreeTDS 1.3 takes no CA file in a connection string and checks no certificate
    without one, so the verify modes are refused there rather than silently weakened.
    """
    if driver.microsoft:
        return {
            "none": {"Encrypt": "no"},
            "require": {"Encrypt": "yes", "TrustServerCertificate": "yes"},
            "verify-ca": {"Encrypt": "yes", "TrustServerCertificate": "no"},
            "verify-full": {"Encrypt": "yes", "TrustServerCertificate": "no"},
        }[ssl_mode]
    if ssl_mode in {"verify-ca", "verify-full"}:
        raise EngineError(f"SSL mode {ssl_mode} needs Microsoft's ODBC Driver 18 for SQL Server (msodbcsql18): "
                          "the FreeTDS driver installed here cannot check the server certificate from a "
                          "connection string. Install msodbcsql18, or use SSL mode require (encrypted, "
                          "certificate not checked).", kind=ErrorKind.TLS)
    return {"none": {"Encryption": "off"}, "require": {"Encryption": "require"}}[ssl_mode]


def odbc_value(value: str) -> str:
    """A connection-string value, braced when it holds characters the parser would split on."""
    if any(ch in value for ch in ";{}=") or value != value.strip():
        return "{" + value.replace("}", "}}") + "}"
    return value


def connection_string(conn: ConnectionInfo, driver: Driver, options: Settings, *,
                      address: str | None = None) -> str:
    """The ODBC connection string; `address` replaces the host (FreeTDS multi-subnet failover)."""
    host = address or conn.host
    parts: dict[str, str] = {"DRIVER": driver.name if driver.name.startswith("/") else "{" + driver.name + "}"}
    if driver.microsoft:
        parts["SERVER"] = f"tcp:{host},{conn.port}"
    else:
        parts.update(SERVER=host, PORT=str(conn.port), TDS_Version="7.4", ClientCharset="UTF-8")
    if conn.database:
        parts["DATABASE"] = conn.database
    parts.update(UID=conn.username, PWD=conn.password, APP="dms-console")
    parts.update(tls_options(conn.ssl_mode, driver))
    if driver.microsoft and options.multi_subnet_failover:
        parts["MultiSubnetFailover"] = "Yes"
    if options.read_only_intent:
        parts["ApplicationIntent"] = "ReadOnly"
    return ";".join(f"{key}={value if key == 'DRIVER' else odbc_value(value)}" for key, value in parts.items())


def first_reachable(host: str, port: int, timeout: float,
                    resolve: Callable[..., list] = socket.getaddrinfo) -> str:
    """Multi-subnet failover for drivers without it: connect to every address of `host` at once
    and return the first that accepts a TCP connection (the listener's current primary)."""
    try:
        addresses = list(dict.fromkeys(info[4][0] for info in resolve(host, port, type=socket.SOCK_STREAM)))
    except OSError:
        return host  # let the driver report the name problem in its own words
    if len(addresses) < 2:
        return addresses[0] if addresses else host
    with ThreadPoolExecutor(max_workers=len(addresses)) as pool:
        pending = {pool.submit(_probe, address, port, timeout): address for address in addresses}
        while pending:
            done, _ = wait(pending, timeout=timeout, return_when=FIRST_COMPLETED)
            if not done:
                break
            for future in done:
                address = pending.pop(future)
                if future.result():
                    return address
    return host


def _probe(address: str, port: int, timeout: float) -> bool:
    try:
        with socket.create_connection((address, port), timeout=timeout):
            return True
    except OSError:
        return False


def current_driver(conn: ConnectionInfo) -> Driver:
    return choose_driver(installed_drivers(), settings(conn).odbc_driver)


def connect(conn: ConnectionInfo, *, timeout: float = 10.0, autocommit: bool = False) -> Any:
    """An open pyodbc connection, or EngineError in a DBA's words. Statements time out after
    the endpoint's executeTimeout."""
    pyodbc = _pyodbc()
    options = settings(conn)
    driver = current_driver(conn)
    address = None
    if options.multi_subnet_failover and not driver.microsoft:
        address = first_reachable(conn.host, conn.port, timeout)
    text = connection_string(conn, driver, options, address=address)
    try:
        connection = pyodbc.connect(text, timeout=max(1, round(timeout)), autocommit=autocommit)
    except pyodbc.Error as exc:
        raise translate(exc, conn, "connecting") from None
    connection.timeout = int(options.execute_timeout)
    add_output_converters(connection)
    return connection


@contextmanager
def session(conn: ConnectionInfo, doing: str, *, timeout: float = 10.0, autocommit: bool = False,
            statement_timeout: float | None = None) -> Iterator[Any]:
    """A connection for one job: closed afterwards, pyodbc errors translated naming `doing`.
    `statement_timeout` overrides executeTimeout (0: none, for long reads and loads)."""
    connection = connect(conn, timeout=timeout, autocommit=autocommit)
    if statement_timeout is not None:
        connection.timeout = int(statement_timeout)
    try:
        yield connection
    except _pyodbc().Error as exc:
        raise translate(exc, conn, doing) from None
    finally:
        connection.close()


def _pyodbc() -> Any:
    try:
        import pyodbc
    except ImportError as exc:  # the Python package, or unixODBC's libodbc.so.2 behind it
        raise EngineError(f"The pyodbc module cannot be loaded ({exc}). Install unixODBC (apt-get install "
                          "unixodbc) and the Python package pyodbc.", kind=ErrorKind.DRIVER) from None
    return pyodbc
