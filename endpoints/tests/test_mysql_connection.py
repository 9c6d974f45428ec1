"""MySQL/MariaDB connections: Test connection, error kinds and messages, TLS modes, scripts, CDC readiness."""

from __future__ import annotations

import socket
import threading
from dataclasses import replace
from urllib.parse import urlparse

import pytest

from endpoints.engines.base import EndpointRole
from endpoints.engines.conninfo import ConnectionInfo
from endpoints.engines.errors import EngineError, ErrorKind
from endpoints.engines.mysql import MySQLEngine
from endpoints.engines.mysql.connection import connect, ssl_options
from endpoints.engines.mysql.readiness import cdc_setting_warnings, global_privileges, target_setting_warnings
from endpoints.engines.mysql.sqltext import quote, split_statements
from endpoints.engines.registry import get_engine

from .mysql_helpers import temp_user


def _engine(url: str, **changes) -> MySQLEngine:
    return MySQLEngine(replace(ConnectionInfo.from_url(url), **changes))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ---- no database needed ------------------------------------------------------------------------

def test_it_is_registered_for_mysql_and_mariadb():
    assert get_engine("mysql") is MySQLEngine
    assert get_engine("mariadb") is MySQLEngine


def test_it_quotes_identifiers_with_backticks():
    assert quote("plain") == "`plain`"
    assert quote("we`ird") == "`we``ird`"


def test_it_splits_scripts_outside_quotes_and_comments():
    script = "SET @a = 'x;y'; -- note; here\nSET @b = `c;d`;/* x;y */ SET @c = \"it\\\";s\""
    assert split_statements(script) == ["SET @a = 'x;y'", "SET @b = `c;d`", 'SET @c = "it\\";s"']


def test_it_reads_global_privileges_from_show_grants():
    lines = ["GRANT SELECT, REPLICATION SLAVE, BINLOG MONITOR ON *.* TO `u`@`%` IDENTIFIED BY PASSWORD '*AB'",
             "GRANT ALL PRIVILEGES ON `db`.* TO `u`@`%`"]
    assert global_privileges(lines) == {"SELECT", "REPLICATION SLAVE", "BINLOG MONITOR"}


def test_it_asks_for_a_ca_certificate_in_verify_modes():
    info = ConnectionInfo.from_url("mysql://u:secret@db.example:3306/app?sslmode=verify-ca")
    with pytest.raises(EngineError) as caught:
        ssl_options(info)
    assert caught.value.kind is ErrorKind.CONFIGURATION
    assert "CA certificate" in caught.value.message


def test_it_turns_tls_off_in_mode_none():
    assert ssl_options(ConnectionInfo.from_url("mysql://u@h/db")) == {"ssl_disabled": True}


def test_it_names_each_binlog_setting_cdc_needs():
    warnings = cdc_setting_warnings({"log_bin": "OFF", "binlog_format": "MIXED", "binlog_row_image": "MINIMAL",
                                     "binlog_row_metadata": "MINIMAL", "server_id": "0",
                                     "binlog_expire_logs_seconds": "3600"})
    assert warnings == [
        "Binary logging is off (log_bin=OFF): CDC reads the binary log. Start the server with log_bin "
        "(e.g. log_bin=mysql-bin in my.cnf) and restart it.",
        "binlog_format=MIXED: CDC needs binlog_format=ROW (STATEMENT or MIXED logging loses row values). Set it "
        "in my.cnf (or SET GLOBAL binlog_format='ROW') and restart the server or reconnect clients.",
        "binlog_row_image=MINIMAL: CDC needs binlog_row_image=FULL (other images leave columns out of updates "
        "and deletes). Set it in my.cnf (or SET GLOBAL binlog_row_image='FULL') and restart the server or "
        "reconnect clients.",
        "binlog_row_metadata=MINIMAL: CDC needs binlog_row_metadata=FULL (without it rows arrive without column "
        "names). Set it in my.cnf (or SET GLOBAL binlog_row_metadata='FULL') and restart the server or "
        "reconnect clients.",
        "server_id=0: CDC needs a server id of at least 1. Set server_id in my.cnf and restart.",
        "Binary logs are kept only 1 h: keep them at least 24 h (binlog_expire_logs_seconds=86400 or more) so a "
        "stopped task can resume.",
    ]


def test_it_accepts_a_server_without_binlog_row_metadata():
    # MySQL before 8.0.1 and MariaDB before 10.5 have no binlog_row_metadata: not a problem to report.
    assert cdc_setting_warnings({"log_bin": "ON", "binlog_format": "ROW", "binlog_row_image": "FULL",
                                 "server_id": "7", "expire_logs_days": "2"}) == []


def test_it_warns_a_target_without_load_data_local():
    assert target_setting_warnings({"local_infile": "OFF"}) == [
        "local_infile=OFF: full loads will use multi-row INSERT, about half as fast as LOAD DATA LOCAL. "
        "Set local_infile=ON (SET GLOBAL local_infile=ON and in my.cnf) to load faster."]
    assert target_setting_warnings({"local_infile": "ON"}) == []


def test_it_describes_the_dms_extra_attributes():
    names = set(MySQLEngine.extra_attributes)
    assert {"eventsPollInterval", "serverTimezone", "afterConnectScript", "cleanSourceMetadataOnMismatch",
            "executeTimeout", "targetDbType", "parallelLoadThreads", "maxFileSize", "initstmt",
            "skipTableSuspensionForPartitionDdl"} <= names


# ---- live --------------------------------------------------------------------------------------

@pytest.mark.live
def test_it_reports_a_good_source_connection_as_cdc_ready(mysql_database):
    report = _engine(mysql_database()).test_connection(EndpointRole.SOURCE, timeout=5)
    assert report.ok, report.message
    assert report.server_version.startswith("MariaDB 10.")
    assert report.warnings == ()
    assert report.cdc_ready is True


@pytest.mark.live
def test_it_does_not_check_cdc_for_a_target(mysql_database):
    report = _engine(mysql_database()).test_connection(EndpointRole.TARGET, timeout=5)
    assert report.ok
    assert report.cdc_ready is None
    assert report.warnings == ()  # local_infile is ON on the test server


@pytest.mark.live
def test_it_reports_an_unknown_database(mysql_database):
    url = mysql_database()
    engine = _engine(url, database="dmst_missing_db")
    report = engine.test_connection(EndpointRole.SOURCE, timeout=5)
    assert not report.ok
    assert "has no database 'dmst_missing_db'" in report.message
    with pytest.raises(EngineError) as caught:
        connect(engine.conn, timeout=5)
    assert caught.value.kind is ErrorKind.UNKNOWN_DATABASE
    assert caught.value.permanent


@pytest.mark.live
def test_it_reports_a_bad_password_without_showing_it(mysql_database):
    url = mysql_database()
    with temp_user() as (user, _password):
        engine = _engine(url, username=user, password="wrong-Pa55word")
        with pytest.raises(EngineError) as caught:
            connect(engine.conn, timeout=5)
        report = engine.test_connection(EndpointRole.SOURCE, timeout=5)
    assert caught.value.kind is ErrorKind.AUTH
    assert user in caught.value.message
    assert "127.0.0.1:3306" in caught.value.message
    assert "wrong-Pa55word" not in caught.value.message
    assert not report.ok and "refused the login" in report.message


@pytest.mark.live
def test_it_names_the_database_a_user_may_not_use(mysql_database):
    url = mysql_database()
    with temp_user() as (user, password):
        with pytest.raises(EngineError) as caught:
            connect(_engine(url, username=user, password=password).conn, timeout=5)
    assert caught.value.kind is ErrorKind.PRIVILEGE
    assert f"User '{user}' may not use database '{urlparse(url).path.lstrip('/')}'" in caught.value.message


@pytest.mark.live
def test_it_reports_a_closed_port_as_unreachable(mysql_database):
    engine = _engine(mysql_database(), port=_free_port())
    with pytest.raises(EngineError) as caught:
        connect(engine.conn, timeout=5)
    assert caught.value.kind is ErrorKind.UNREACHABLE
    assert not caught.value.permanent
    assert f"127.0.0.1:{engine.conn.port}" in caught.value.message


@pytest.mark.live
def test_it_reports_a_silent_server_as_a_timeout(mysql_database):
    # A socket that accepts connections but never says hello, like a firewall black hole behind a proxy.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    accepted: list[socket.socket] = []
    thread = threading.Thread(target=lambda: accepted.append(listener.accept()[0]), daemon=True)
    thread.start()
    try:
        engine = _engine(mysql_database(), port=listener.getsockname()[1])
        report = engine.test_connection(EndpointRole.TARGET, timeout=1)
        with pytest.raises(EngineError) as caught:
            connect(engine.conn, timeout=1, read_timeout=1)
    finally:
        for sock in accepted:
            sock.close()
        listener.close()
    assert caught.value.kind is ErrorKind.TIMEOUT
    assert not report.ok and "timeout" in report.message


@pytest.mark.live
def test_it_refuses_to_go_on_without_tls_when_required(mysql_database):
    # The test server has TLS disabled (have_ssl=DISABLED): require must fail rather than fall back.
    engine = _engine(mysql_database(), ssl_mode="require")
    with pytest.raises(EngineError) as caught:
        connect(engine.conn, timeout=5)
    assert caught.value.kind is ErrorKind.TLS


@pytest.mark.live
def test_it_warns_when_the_user_lacks_replication_privileges(mysql_database):
    url = mysql_database()
    database = urlparse(url).path.lstrip("/")
    with temp_user(f"SELECT ON `{database}`.*") as (user, password):
        report = _engine(url, username=user, password=password).test_connection(EndpointRole.SOURCE, timeout=5)
    assert report.ok
    assert report.cdc_ready is False
    assert report.warnings == (
        f"User '{user}'@'%' lacks REPLICATION SLAVE and BINLOG MONITOR: CDC cannot read the binary log. "
        f"Run: GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.* TO '{user}'@'%';",
    )


@pytest.mark.live
def test_it_accepts_replication_client_as_binlog_monitor(mysql_database):
    url = mysql_database()
    database = urlparse(url).path.lstrip("/")
    with temp_user(f"SELECT ON `{database}`.*", "REPLICATION CLIENT, REPLICATION SLAVE ON *.*") as (user, password):
        report = _engine(url, username=user, password=password).test_connection(EndpointRole.SOURCE, timeout=5)
    assert report.cdc_ready is True, report.warnings


@pytest.mark.live
def test_it_runs_the_after_connect_script_and_sets_utc(mysql_database):
    url = mysql_database() + "?afterConnectScript=" + "SET @dms_a = 'x;y'; SET @dms_b = 7"
    raw = connect(ConnectionInfo.from_url(url), timeout=5)
    try:
        with raw.cursor() as cursor:
            cursor.execute("SELECT @dms_a, @dms_b, @@session.time_zone, @@session.character_set_client")
            assert cursor.fetchone() == ("x;y", 7, "+00:00", "utf8mb4")
    finally:
        raw.close()


@pytest.mark.live
def test_it_goes_on_when_the_after_connect_script_fails(mysql_database):
    url = mysql_database() + "?afterConnectScript=SELECT no_such_column"
    report = MySQLEngine(ConnectionInfo.from_url(url)).test_connection(EndpointRole.TARGET, timeout=5)
    assert report.ok


@pytest.mark.live
def test_it_fails_the_connection_when_initstmt_fails(mysql_database):
    url = mysql_database() + "?initstmt=SET no_such_variable = 1"
    report = MySQLEngine(ConnectionInfo.from_url(url)).test_connection(EndpointRole.TARGET, timeout=5)
    assert not report.ok
    assert "initstmt" in report.message
