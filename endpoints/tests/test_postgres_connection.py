"""PostgreSQL connections: test_connection reports, error kinds and wording, SSL parameters."""

from __future__ import annotations

import os
import re
import socket
import stat
from dataclasses import replace

import psycopg
import pytest

from endpoints.engines.base import EndpointRole
from endpoints.engines.conninfo import ConnectionInfo
from endpoints.engines.errors import EngineError, ErrorKind
from endpoints.engines.postgres import PostgresEngine
from endpoints.engines.postgres.connection import connect, connection_params
from endpoints.tests.postgres_support import engine_for, fetch, throwaway_role

PWCHECK_ROLE = "dms_pwcheck"
PWCHECK_PASSWORD = "dms-pwcheck-secret"


def _info(url: str, **changes) -> ConnectionInfo:
    return replace(ConnectionInfo.from_url(url), **changes)


def _connect_error(info: ConnectionInfo, timeout: float = 5) -> EngineError:
    with pytest.raises(EngineError) as caught:
        connect(info, timeout=timeout).close()
    return caught.value


@pytest.mark.live
def test_it_reports_the_server_version(pg_database):
    url = pg_database()
    report = engine_for(url).test_connection(EndpointRole.TARGET, timeout=5)
    expected = fetch(url, "SHOW server_version")[0][0]
    assert report.ok is True
    assert re.match(r"^\d+\.\d+", report.server_version)
    assert report.server_version == expected
    assert report.cdc_ready is None


@pytest.mark.live
def test_it_finds_a_superuser_source_ready_for_cdc(pg_database):
    report = engine_for(pg_database()).test_connection(EndpointRole.SOURCE, timeout=5)
    assert report.ok is True
    assert report.warnings == ()
    assert report.cdc_ready is True


@pytest.mark.live
def test_it_warns_when_the_source_user_lacks_replication(pg_database):
    url = pg_database()
    with throwaway_role("NOSUPERUSER", "NOREPLICATION") as role:
        report = PostgresEngine(_info(url, username=role)).test_connection(EndpointRole.SOURCE, timeout=5)
    assert report.ok is True
    assert report.cdc_ready is False
    assert len(report.warnings) == 1
    assert f'ALTER ROLE "{role}" WITH REPLICATION' in report.warnings[0]
    assert "rds_replication" in report.warnings[0]


@pytest.mark.live
def test_it_accepts_a_user_with_the_replication_attribute(pg_database):
    url = pg_database()
    with throwaway_role("NOSUPERUSER", "REPLICATION") as role:
        report = PostgresEngine(_info(url, username=role)).test_connection(EndpointRole.SOURCE, timeout=5)
    assert report.cdc_ready is True
    assert report.warnings == ()


@pytest.mark.live
def test_it_warns_about_a_missing_named_slot_and_publication(pg_database):
    url = pg_database()
    engine = engine_for(url, slotName="no_such_slot", publicationName="no_such_pub")
    report = engine.test_connection(EndpointRole.SOURCE, timeout=5)
    assert report.cdc_ready is False
    assert len(report.warnings) == 2
    assert "replication slot 'no_such_slot', which does not exist" in report.warnings[0]
    assert "publication 'no_such_pub', which does not exist" in report.warnings[1]


@pytest.mark.live
def test_it_reports_an_unknown_database(pg_database):
    info = _info(pg_database(), database="dmst_no_such_db")
    error = _connect_error(info)
    assert error.kind is ErrorKind.UNKNOWN_DATABASE
    assert error.permanent is True
    assert 'database "dmst_no_such_db" does not exist' in error.message
    assert "127.0.0.1:5432" in error.message
    report = PostgresEngine(info).test_connection(EndpointRole.SOURCE, timeout=5)
    assert report.ok is False
    assert report.message == error.message


@pytest.mark.live
def test_it_reports_an_unknown_role(pg_database):
    error = _connect_error(_info(pg_database(), username="dmst_no_such_role"))
    assert error.kind is ErrorKind.AUTH
    assert 'user (role) "dmst_no_such_role" does not exist' in error.message


@pytest.mark.live
def test_it_reports_a_wrong_password_without_showing_it(pg_database):
    wrong = "wrong-secret-1234"
    error = _connect_error(_info(pg_database(), username=PWCHECK_ROLE, password=wrong))
    assert error.kind is ErrorKind.AUTH
    assert f'the password for user "{PWCHECK_ROLE}" is wrong or missing' in error.message
    assert wrong not in error.message


@pytest.mark.live
def test_it_words_a_wrong_password_the_same_whatever_the_password(pg_database):
    error = _connect_error(_info(pg_database(), username=PWCHECK_ROLE, password="wrong"))
    assert f'the password for user "{PWCHECK_ROLE}" is wrong or missing' in error.message


@pytest.mark.live
def test_it_connects_with_the_right_password(pg_database):
    info = _info(pg_database(), username=PWCHECK_ROLE, password=PWCHECK_PASSWORD)
    with connect(info, timeout=5) as conn:
        assert conn.execute("SELECT current_user").fetchone() == (PWCHECK_ROLE,)


@pytest.mark.live
def test_it_reports_a_closed_port_as_unreachable(pg_database):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    error = _connect_error(_info(pg_database(), port=port))
    assert error.kind is ErrorKind.UNREACHABLE
    assert error.permanent is False
    assert f"nothing accepts connections on 127.0.0.1:{port}" in error.message


@pytest.mark.live
def test_it_reports_an_unknown_host_as_unreachable(pg_database):
    error = _connect_error(_info(pg_database(), host="dmst-no-such-host.invalid"))
    assert error.kind is ErrorKind.UNREACHABLE
    assert 'the server name "dmst-no-such-host.invalid" cannot be resolved' in error.message


@pytest.mark.live
def test_it_reports_a_silent_server_as_a_timeout(pg_database):
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)  # accepts the TCP handshake, never answers
        port = silent.getsockname()[1]
        error = _connect_error(_info(pg_database(), port=port), timeout=2)
    assert error.kind is ErrorKind.TIMEOUT
    assert f"127.0.0.1:{port}" in error.message


@pytest.mark.live
def test_it_reports_tls_required_by_a_server_without_ssl(pg_database):
    url = pg_database()
    if fetch(url, "SHOW ssl")[0][0] == "on":
        pytest.skip("the test server has SSL on")
    error = _connect_error(_info(url, ssl_mode="require"))
    assert error.kind is ErrorKind.TLS
    assert "server does not support SSL" in error.message


@pytest.mark.live
def test_it_reports_a_missing_connect_privilege(pg_database):
    url = pg_database()
    database = ConnectionInfo.from_url(url).database
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'REVOKE CONNECT ON DATABASE "{database}" FROM PUBLIC')
    with throwaway_role() as role:
        error = _connect_error(_info(url, username=role))
    assert error.kind is ErrorKind.PRIVILEGE
    assert f'user "{role}" lacks a privilege' in error.message
    assert f'permission denied for database "{database}"' in error.message


@pytest.mark.live
def test_it_reports_a_missing_select_privilege_while_reading(pg_database):
    from endpoints.engines.base import RowFormat
    from endpoints.engines.plan import identity_plan

    url = pg_database()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE secret (id integer PRIMARY KEY)")
    owner = engine_for(url)
    [table] = owner.list_tables()
    with throwaway_role() as role:
        engine = PostgresEngine(_info(url, username=role))
        plan = identity_plan(table, engine, source_engine="postgres")
        with pytest.raises(EngineError) as caught:
            list(engine.read(plan, None, fmt=RowFormat.PYTHON, batch_rows=10))
    assert caught.value.kind is ErrorKind.PRIVILEGE
    assert "while reading table public.secret" in caught.value.message
    assert "permission denied for table secret" in caught.value.message


def test_it_needs_a_ca_certificate_for_verify_modes():
    info = ConnectionInfo("postgres", "db.example.com", 5432, "app", "u", ssl_mode="verify-full")
    with pytest.raises(EngineError) as caught, connection_params(info, timeout=5):
        pass
    assert caught.value.kind is ErrorKind.CONFIGURATION
    assert "needs the server's CA certificate" in caught.value.message


def test_it_writes_the_ca_certificate_to_a_private_file_and_removes_it():
    pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    info = ConnectionInfo("postgres", "db.example.com", 5432, "app", "u", ssl_mode="verify-ca", ca_certificate=pem)
    with connection_params(info, timeout=5) as params:
        path = params["sslrootcert"]
        assert params["sslmode"] == "verify-ca"
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        with open(path) as handle:
            assert handle.read() == pem
    assert not os.path.exists(path)


def test_it_maps_dms_ssl_none_to_libpq_disable():
    info = ConnectionInfo("postgres", "db.example.com", 5432, "app", "u", password="pw")
    with connection_params(info, timeout=3.2) as params:
        assert params["sslmode"] == "disable"
        assert params["connect_timeout"] == 4
        assert params["password"] == "pw"


@pytest.mark.live
def test_it_runs_the_after_connect_script(pg_database):
    engine = engine_for(pg_database(), afterConnectScript="SET application_name = 'dmst_after_connect'")
    with connect(engine.conn, timeout=5) as conn:
        assert conn.execute("SHOW application_name").fetchone() == ("dmst_after_connect",)


@pytest.mark.live
def test_it_reports_a_failing_after_connect_script(pg_database):
    engine = engine_for(pg_database(), afterConnectScript="SET no_such_setting_x = 1")
    error = _connect_error(engine.conn)
    assert error.kind is ErrorKind.CONFIGURATION
    assert "afterConnectScript" in error.message


def test_it_lists_the_dms_extra_connection_attributes():
    expected = {"slotName", "pluginName", "heartbeatEnable", "heartbeatFrequency", "heartbeatSchema",
                "captureDdls", "ddlArtifactsSchema", "executeTimeout", "mapBooleanAsBoolean", "mapJsonbAsClob",
                "mapLongVarcharAs", "afterConnectScript", "failTasksOnLobTruncation", "maxFileSize",
                "publicationName", "logicalDecodingWorkMem"}
    assert set(PostgresEngine.extra_attributes) == expected
    assert all(PostgresEngine.extra_attributes[name].strip() for name in expected)


def test_it_is_registered_under_postgres():
    from endpoints.engines import get_engine

    assert get_engine("postgres") is PostgresEngine
    assert psycopg.__version__.startswith("3.")


def test_it_does_not_verify_the_server_in_require_mode():
    pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    info = ConnectionInfo("postgres", "db.example.com", 5432, "app", "u", ssl_mode="require", ca_certificate=pem)
    with connection_params(info, timeout=5) as params:
        assert params["sslmode"] == "require"
        assert "sslrootcert" not in params


READY = {"wal_level": "logical", "max_slots": 10, "used_slots": 2, "max_wal_senders": 10, "used_wal_senders": 1,
         "wal_sender_timeout_ms": 60000, "is_superuser": False, "has_replication": True, "rds_replication": False}


def test_it_names_each_server_setting_cdc_needs():
    from endpoints.engines.postgres.readiness import setting_warnings

    assert setting_warnings(READY, "app") == []
    assert setting_warnings({**READY, "has_replication": False, "rds_replication": True}, "app") == []
    [wal] = setting_warnings({**READY, "wal_level": "replica"}, "app")
    assert wal.startswith("wal_level is 'replica': CDC needs wal_level = logical")
    assert "rds.logical_replication = 1" in wal
    [slots] = setting_warnings({**READY, "used_slots": 10}, "app")
    assert slots.startswith("No free replication slot: 10 of max_replication_slots = 10 are in use")
    [senders] = setting_warnings({**READY, "max_wal_senders": 1, "used_wal_senders": 0}, "app")
    assert senders.startswith("max_wal_senders = 1 with 0 in use")
    [timeout] = setting_warnings({**READY, "wal_sender_timeout_ms": 5000}, "app")
    assert timeout.startswith("wal_sender_timeout = 5000 ms: CDC tasks fail below 10 s")
    assert setting_warnings({**READY, "wal_sender_timeout_ms": 0}, "app") == []
