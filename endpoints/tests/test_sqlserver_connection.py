"""SQL Server connections without a server: driver choice, connection strings, TLS modes, extra
attributes, multi-subnet failover, error translation from real pyodbc/FreeTDS texts, and the
FreeTDS driver really loading and failing to reach a closed port in the translated words."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import replace

import pyodbc
import pytest

from endpoints.engines.base import EndpointRole
from endpoints.engines.conninfo import ConnectionInfo, parse_extra_connection_attributes
from endpoints.engines.errors import EngineError, ErrorKind
from endpoints.engines.registry import get_engine
from endpoints.engines.sqlserver import SqlServerEngine
from endpoints.engines.sqlserver.attributes import settings
from endpoints.engines.sqlserver.connection import (
    FREETDS_LIBRARIES,
    Driver,
    choose_driver,
    connect,
    connection_string,
    first_reachable,
    installed_drivers,
    odbc_value,
    tls_options,
)
from endpoints.engines.sqlserver.errors import diagnostics, translate

MS18 = Driver("ODBC Driver 18 for SQL Server", "microsoft")
FREETDS = Driver("/usr/lib/x86_64-linux-gnu/odbc/libtdsodbc.so", "freetds")
INFO = ConnectionInfo.from_url("mssql://dms:S3cret!@db.example:1433/shop")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _with(url_suffix: str) -> ConnectionInfo:
    return ConnectionInfo.from_url("mssql://dms:S3cret!@db.example:1433/shop" + url_suffix)


# ---- drivers -------------------------------------------------------------------------------------

def test_it_is_registered_as_sqlserver():
    assert get_engine("sqlserver") is SqlServerEngine
    assert ConnectionInfo.from_url("mssql://u@h/db").engine == "sqlserver"


def test_it_prefers_microsofts_newest_driver():
    installed = ["FreeTDS", "ODBC Driver 17 for SQL Server", "ODBC Driver 18 for SQL Server"]
    assert choose_driver(installed) == MS18
    assert choose_driver(["FreeTDS", "ODBC Driver 17 for SQL Server"]).name == "ODBC Driver 17 for SQL Server"


def test_it_falls_back_to_freetds_by_name_then_by_library_path():
    assert choose_driver(["PostgreSQL Unicode", "FreeTDS"]) == Driver("FreeTDS", "freetds")
    found = choose_driver([], exists=lambda path: path == FREETDS_LIBRARIES[0])
    assert found == Driver(FREETDS_LIBRARIES[0], "freetds")


def test_it_names_the_packages_to_install_when_no_driver_exists():
    with pytest.raises(EngineError) as caught:
        choose_driver(["PostgreSQL Unicode"], exists=lambda path: False)
    assert caught.value.kind is ErrorKind.DRIVER
    assert "apt-get install unixodbc tdsodbc" in caught.value.message
    assert "msodbcsql18" in caught.value.message


def test_it_takes_the_driver_named_by_the_odbc_driver_attribute():
    assert choose_driver(["ODBC Driver 18 for SQL Server"], "FreeTDS") == Driver("FreeTDS", "freetds")


def test_it_finds_an_installed_driver_here():
    # Debian's tdsodbc is installed; unixODBC lists it, or its library is found by path.
    driver = choose_driver(installed_drivers())
    assert driver.family in {"freetds", "microsoft"}


# ---- connection strings and TLS --------------------------------------------------------------------

def test_it_builds_the_microsoft_connection_string_for_ssl_require():
    text = connection_string(_with("?sslmode=require"), MS18, settings(INFO))
    assert text == ("DRIVER={ODBC Driver 18 for SQL Server};SERVER=tcp:db.example,1433;DATABASE=shop;UID=dms;"
                    "PWD=S3cret!;APP=dms-console;Encrypt=yes;TrustServerCertificate=yes")


def test_it_builds_the_freetds_connection_string_without_tls():
    text = connection_string(INFO, FREETDS, settings(INFO))
    assert text == ("DRIVER=/usr/lib/x86_64-linux-gnu/odbc/libtdsodbc.so;SERVER=db.example;PORT=1433;"
                    "TDS_Version=7.4;ClientCharset=UTF-8;DATABASE=shop;UID=dms;PWD=S3cret!;APP=dms-console;"
                    "Encryption=off")


def test_it_maps_every_ssl_mode_for_microsofts_driver():
    assert tls_options("none", MS18) == {"Encrypt": "no"}
    assert tls_options("require", MS18) == {"Encrypt": "yes", "TrustServerCertificate": "yes"}
    assert tls_options("verify-ca", MS18) == {"Encrypt": "yes", "TrustServerCertificate": "no"}
    assert tls_options("verify-full", MS18) == {"Encrypt": "yes", "TrustServerCertificate": "no"}


def test_it_maps_freetds_require_and_refuses_its_verify_modes():
    assert tls_options("require", FREETDS) == {"Encryption": "require"}
    with pytest.raises(EngineError) as caught:
        tls_options("verify-full", FREETDS)
    assert caught.value.kind is ErrorKind.TLS
    assert "msodbcsql18" in caught.value.message and "require" in caught.value.message


def test_it_braces_values_the_connection_string_parser_would_split():
    assert odbc_value("plain") == "plain"
    assert odbc_value("pa;ss}w=rd") == "{pa;ss}}w=rd}"
    assert odbc_value(" padded") == "{ padded}"
    info = replace(INFO, password="a;b}c")
    assert ";PWD={a;b}}c};" in connection_string(info, MS18, settings(info))


def test_it_passes_multi_subnet_failover_and_read_only_intent_to_microsofts_driver():
    info = _with("?multiSubnetFailover=Y&applicationIntent=ReadOnly")
    text = connection_string(info, MS18, settings(info))
    assert text.endswith(";MultiSubnetFailover=Yes;ApplicationIntent=ReadOnly")


def test_it_connects_freetds_to_the_address_that_answers_for_multi_subnet_failover():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    addresses = [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.2", port)),
                 (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]
    try:
        assert first_reachable("ag-listener.example", port, 2, resolve=lambda *a, **k: addresses) == "127.0.0.1"
    finally:
        listener.close()
    info = _with("?multiSubnetFailover=Y")
    assert ";SERVER=127.0.0.1;" in connection_string(info, FREETDS, settings(info), address="127.0.0.1")


# ---- extra connection attributes -------------------------------------------------------------------

def test_it_describes_the_dms_extra_attributes():
    names = set(SqlServerEngine.extra_attributes)
    assert {"multiSubnetFailover", "readBackupOnly", "setUpMsCdcForTables", "safeguardPolicy", "pollingInterval",
            "tlogAccessMode", "fatalOnSimpleModel", "trimSpaceInChar", "applicationIntent"} <= names
    assert all(text and "\n" not in text for text in SqlServerEngine.extra_attributes.values())
    parsed = parse_extra_connection_attributes("setupmscdcfortables=Y;pollingInterval=2",
                                               SqlServerEngine.extra_attributes)
    assert parsed == {"setUpMsCdcForTables": "Y", "pollingInterval": "2"}


def test_it_refuses_read_backup_only_with_the_reason():
    with pytest.raises(EngineError) as caught:
        settings(_with("?readBackupOnly=Y"))
    assert caught.value.kind is ErrorKind.UNSUPPORTED
    assert "MS-CDC change tables" in caught.value.message and "readBackupOnly" in caught.value.message
    assert settings(_with("?readBackupOnly=N")).set_up_cdc is False


def test_it_accepts_the_replication_agent_safeguard_and_refuses_exclusive_truncation():
    assert settings(_with("?safeguardPolicy=RELY_ON_SQL_SERVER_REPLICATION_AGENT"))
    with pytest.raises(EngineError) as caught:
        settings(_with("?safeguardPolicy=EXCLUSIVE_AUTOMATIC_TRUNCATION"))
    assert caught.value.kind is ErrorKind.UNSUPPORTED
    assert "sp_repldone" in caught.value.message


def test_it_logs_in_with_a_password_and_refuses_kerberos():
    assert settings(_with("?authenticationMethod=password"))
    with pytest.raises(EngineError) as caught:
        settings(_with("?authenticationMethod=kerberos"))
    assert caught.value.kind is ErrorKind.UNSUPPORTED and "SQL Server authentication" in caught.value.message
    assert settings(_with("?controlTablesFileGroup=DMS_FG")).control_filegroup == "DMS_FG"


def test_it_refuses_backup_only_log_access():
    with pytest.raises(EngineError) as caught:
        settings(_with("?tlogAccessMode=BackupOnly"))
    assert caught.value.kind is ErrorKind.UNSUPPORTED


def test_it_reads_polling_interval_cdc_set_up_and_char_trimming():
    options = settings(_with("?pollingInterval=2.5&setUpMsCdcForTables=true&trimSpaceInChar=N"))
    assert (options.polling_interval, options.set_up_cdc, options.trim_space_in_char) == (2.5, True, False)
    assert settings(INFO).polling_interval == 5.0 and settings(INFO).trim_space_in_char is True
    with pytest.raises(EngineError) as caught:
        settings(_with("?pollingInterval=soon"))
    assert caught.value.kind is ErrorKind.CONFIGURATION and "pollingInterval" in caught.value.message


# ---- error translation from real driver texts ------------------------------------------------------

def _translated(exc: Exception, doing: str = "connecting") -> EngineError:
    return translate(exc, INFO, doing, resolve=lambda *a: [], probe=lambda host, port: "")


def test_it_parses_every_diagnostic_record_of_a_pyodbc_error():
    exc = pyodbc.ProgrammingError(
        "42000", "[42000] [Microsoft][ODBC Driver 18 for SQL Server][SQL Server]VIEW SERVER STATE permission was "
        "denied on object 'server', database 'master'. (300) (SQLExecDirectW); [42000] [Microsoft][ODBC Driver 18 "
        "for SQL Server][SQL Server]The user does not have permission to perform this action. (297)")
    records = diagnostics(exc)
    assert [(r.sqlstate, r.native) for r in records] == [("42000", 300), ("42000", 297)]
    assert records[1].text == "The user does not have permission to perform this action."


def test_it_translates_a_failed_login_from_microsofts_driver():
    exc = pyodbc.InterfaceError("28000", "[28000] [Microsoft][ODBC Driver 17 for SQL Server][SQL Server]Login "
                                         "failed for user 'dms'. (18456) (SQLDriverConnect)")
    error = _translated(exc)
    assert error.kind is ErrorKind.AUTH and error.permanent
    assert "db.example:1433 refused the login of user 'dms'" in error.message
    assert "error 18456" in error.message and "S3cret" not in error.message


def test_it_translates_a_failed_login_from_freetds():
    exc = pyodbc.ProgrammingError("42000", "[42000] [unixODBC][FreeTDS][SQL Server]Login failed for user 'dms'. "
                                           "(18456) (SQLDriverConnect)")
    assert _translated(exc).kind is ErrorKind.AUTH


def test_it_names_the_database_when_the_login_cannot_open_it():
    # Microsoft's driver reports the failed login first and the database after it.
    exc = pyodbc.InterfaceError(
        "28000", "[28000] [Microsoft][ODBC Driver 17 for SQL Server][SQL Server]Login failed for user 'dms'. "
        "(18456) (SQLDriverConnect); [28000] [Microsoft][ODBC Driver 17 for SQL Server][SQL Server]Cannot open "
        "database \"shop\" requested by the login. The login failed. (4060)")
    error = _translated(exc)
    assert error.kind is ErrorKind.UNKNOWN_DATABASE
    assert "cannot open database 'shop' for user 'dms'" in error.message and "CREATE USER" in error.message


def test_it_translates_login_timeouts_of_both_drivers():
    for text in ("[HYT00] [Microsoft][ODBC Driver 17 for SQL Server]Login timeout expired (0) (SQLDriverConnect)",
                 "[HYT00] [FreeTDS][SQL Server]Timeout expired (0) (SQLDriverConnect)"):
        error = _translated(pyodbc.OperationalError("HYT00", text))
        assert error.kind is ErrorKind.TIMEOUT and not error.permanent
        assert "within the login timeout" in error.message


def test_it_translates_a_statement_timeout_differently_from_a_login_timeout():
    exc = pyodbc.OperationalError("HYT00", "[HYT00] [Microsoft][ODBC Driver 18 for SQL Server]Query timeout expired "
                                           "(0) (SQLExecDirectW)")
    error = _translated(exc, "reading table dbo.orders")
    assert error.kind is ErrorKind.TIMEOUT and "while reading table dbo.orders" in error.message
    assert "executeTimeout" in error.message


def test_it_translates_an_unreachable_server_of_both_drivers():
    for state, text in (
            ("08S01", "[08S01] [FreeTDS][SQL Server]Unable to connect: Adaptive Server is unavailable or does not "
                      "exist (20009) (SQLDriverConnect)"),
            ("08001", "[08001] [FreeTDS][SQL Server]Unable to connect to data source (0) (SQLDriverConnect)"),
            ("08001", "[08001] [Microsoft][ODBC Driver 17 for SQL Server]TCP Provider: Error code 0x2749 (10057) "
                      "(SQLDriverConnect)")):
        error = _translated(pyodbc.OperationalError(state, text))
        assert error.kind is ErrorKind.UNREACHABLE and not error.permanent
        assert error.message.startswith("Cannot reach SQL Server at db.example:1433")


def test_it_says_when_the_server_name_does_not_resolve():
    def no_such_host(*args):
        raise socket.gaierror(-2, "Name or service not known")

    exc = pyodbc.OperationalError("08001", "[08001] [FreeTDS][SQL Server]Unable to connect to data source (0) "
                                           "(SQLDriverConnect)")
    error = translate(exc, INFO, "connecting", resolve=no_such_host)
    assert error.kind is ErrorKind.UNREACHABLE and "'db.example'" in error.message
    assert "cannot be resolved" in error.message


def test_it_translates_a_tls_failure_before_the_generic_network_state():
    exc = pyodbc.OperationalError(
        "08001", "[08001] [Microsoft][ODBC Driver 18 for SQL Server]SSL Provider: [error:0A000086:SSL routines::"
        "certificate verify failed:self-signed certificate] (-1) (SQLDriverConnect)")
    error = _translated(exc)
    assert error.kind is ErrorKind.TLS
    assert "self-signed certificate" in error.message and "update-ca-certificates" in error.message


def test_it_translates_a_missing_driver_library():
    exc = pyodbc.Error("01000", "[01000] [unixODBC][Driver Manager]Can't open lib 'ODBC Driver 18 for SQL Server' "
                                ": file not found (0) (SQLDriverConnect)")
    error = _translated(exc)
    assert error.kind is ErrorKind.DRIVER and "tdsodbc" in error.message


def test_it_asks_for_view_server_state_by_name():
    exc = pyodbc.ProgrammingError(
        "42000", "[42000] [Microsoft][ODBC Driver 18 for SQL Server][SQL Server]VIEW SERVER STATE permission was "
        "denied on object 'server', database 'master'. (300) (SQLExecDirectW); [42000] [Microsoft][ODBC Driver 18 "
        "for SQL Server][SQL Server]The user does not have permission to perform this action. (297)")
    error = _translated(exc, "checking the server")
    assert error.kind is ErrorKind.PRIVILEGE and "GRANT VIEW SERVER STATE" in error.message


def test_it_says_which_role_enabling_cdc_needs():
    exc = pyodbc.ProgrammingError(
        "42000", "[42000] [Microsoft][ODBC Driver 18 for SQL Server][SQL Server]Caller is not authorized to initiate "
        "the requested action. Sysadmin privileges are required. (22902) (SQLExecDirectW)")
    error = _translated(exc, "checking MS-CDC")
    assert error.kind is ErrorKind.PRIVILEGE
    assert "sysadmin" in error.message and "db_owner" in error.message and "rds_cdc_enable_db" in error.message


def test_it_translates_a_denied_select_for_the_capture():
    exc = pyodbc.ProgrammingError(
        "42000", "[42000] [Microsoft][ODBC Driver 18 for SQL Server][SQL Server]The SELECT permission was denied on "
        "the object 'orders', database 'shop', schema 'dbo'. (229) (SQLExecDirectW)")
    error = _translated(exc, "reading table dbo.orders")
    assert error.kind is ErrorKind.PRIVILEGE and "db_datareader" in error.message


def test_it_explains_an_lsn_range_the_cleanup_job_removed():
    exc = pyodbc.ProgrammingError(
        "42000", "[42000] [Microsoft][ODBC Driver 18 for SQL Server][SQL Server]An insufficient number of arguments "
        "were supplied for the procedure or function cdc.fn_cdc_get_all_changes_ ... . (313) (SQLExecDirectW)")
    error = _translated(exc, "reading changes")
    assert error.kind is ErrorKind.CONFIGURATION and "@retention" in error.message


def test_it_tells_a_lost_connection_from_an_unreachable_server():
    exc = pyodbc.OperationalError("08S01", "[08S01] [Microsoft][ODBC Driver 18 for SQL Server]Communication link "
                                           "failure (0) (SQLExecDirectW)")
    error = _translated(exc, "loading table dbo.orders")
    assert error.kind is ErrorKind.CONNECTION_LOST and not error.permanent


def test_it_translates_rejected_values_and_deadlocks():
    duplicate = pyodbc.IntegrityError(
        "23000", "[23000] [Microsoft][ODBC Driver 18 for SQL Server][SQL Server]Violation of PRIMARY KEY constraint "
        "'PK__orders__3213E83F'. Cannot insert duplicate key in object 'dbo.orders'. The duplicate key value is (1). "
        "(2627) (SQLExecDirectW); [01000] [Microsoft][ODBC Driver 18 for SQL Server][SQL Server]The statement has "
        "been terminated. (3621)")
    error = _translated(duplicate, "applying inserts to dbo.orders")
    assert error.kind is ErrorKind.DUPLICATE and error.permanent
    assert error.message == (
        "SQL Server at db.example:1433 already has a row with this key while applying inserts to dbo.orders: "
        "Violation of PRIMARY KEY constraint 'PK__orders__3213E83F'. Cannot insert duplicate key in object "
        "'dbo.orders'. The duplicate key value is (1), error 2627.")
    unique = pyodbc.IntegrityError(
        "23000", "[23000] [FreeTDS][SQL Server]Cannot insert duplicate key row in object 'dbo.orders' with unique "
        "index 'ux_orders_code'. The duplicate key value is (A-1). (2601) (SQLExecDirectW)")
    assert _translated(unique, "applying inserts to dbo.orders").kind is ErrorKind.DUPLICATE
    null = pyodbc.IntegrityError(
        "23000", "[23000] [Microsoft][ODBC Driver 18 for SQL Server][SQL Server]Cannot insert the value NULL into "
        "column 'name', table 'shop.dbo.orders'; column does not allow nulls. INSERT fails. (515) (SQLExecDirectW)")
    assert _translated(null, "applying inserts to dbo.orders").kind is ErrorKind.DATA
    deadlock = pyodbc.OperationalError(
        "40001", "[40001] [Microsoft][ODBC Driver 18 for SQL Server][SQL Server]Transaction (Process ID 57) was "
        "deadlocked on lock resources with another process and has been chosen as the deadlock victim. Rerun the "
        "transaction. (1205) (SQLExecDirectW)")
    error = _translated(deadlock, "applying changes")
    assert error.kind is ErrorKind.OTHER and error.permanent is False


def test_it_refuses_a_firewalled_client_permanently():
    exc = pyodbc.ProgrammingError(
        "42000", "[42000] [Microsoft][ODBC Driver 17 for SQL Server][SQL Server]Cannot open server 'myserver' "
        "requested by the login. Client with IP address '203.0.113.5' is not allowed to access the server. (40615) "
        "(SQLDriverConnect)")
    error = _translated(exc)
    assert error.kind is ErrorKind.UNREACHABLE and error.permanent and "firewall" in error.message


# ---- the real driver -----------------------------------------------------------------------------

def test_it_loads_the_driver_and_reports_a_closed_port_as_unreachable_within_the_timeout():
    info = ConnectionInfo.from_url(f"mssql://dms:S3cret!@127.0.0.1:{_free_port()}/shop")
    started = time.monotonic()
    with pytest.raises(EngineError) as caught:
        connect(info, timeout=3)
    assert time.monotonic() - started < 4
    assert caught.value.kind is ErrorKind.UNREACHABLE
    assert caught.value.message.startswith(f"Cannot reach SQL Server at 127.0.0.1:{info.port}")
    assert "refused" in caught.value.message and "S3cret" not in caught.value.message


def test_it_reports_a_silent_server_as_a_login_timeout():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    info = ConnectionInfo.from_url(f"mssql://dms:pw@127.0.0.1:{listener.getsockname()[1]}/shop")
    started = time.monotonic()
    try:
        report = SqlServerEngine(info).test_connection(EndpointRole.SOURCE, timeout=2)
    finally:
        stop.set()
        thread.join()
        for sock in held:
            sock.close()
        listener.close()
    assert time.monotonic() - started < 5
    assert not report.ok and "within the login timeout" in report.message


def test_it_reports_connection_failures_without_raising():
    info = ConnectionInfo.from_url(f"mssql://dms:pw@127.0.0.1:{_free_port()}/shop?readBackupOnly=Y")
    report = SqlServerEngine(info).test_connection(EndpointRole.SOURCE, timeout=2)
    assert not report.ok and "readBackupOnly" in report.message and report.cdc_ready is None
