"""Capture refuses to start on a server whose binary log would lose or hide changes, saying what to change."""

from __future__ import annotations

import pytest

from endpoints.engines.errors import EngineError, ErrorKind
from endpoints.engines.mysql.capture_start import check_capture_ready

READY = {"log_bin": "ON", "binlog_format": "ROW", "binlog_row_image": "FULL", "binlog_row_metadata": "FULL",
         "server_id": "1", "binlog_expire_logs_seconds": "864000"}
ROOT_GRANTS = ["GRANT ALL PRIVILEGES ON *.* TO `root`@`localhost` WITH GRANT OPTION"]


class FakeServer:
    """Answers the statements check_capture_ready runs, as a server with these settings and grants would."""

    def __init__(self, settings: dict[str, str], grants: list[str], version: str = "10.11.19-MariaDB-log",
                 compression: str | None = None):
        self.settings, self.grants, self.version, self.compression = settings, grants, version, compression

    def get_server_info(self) -> str:
        return self.version

    def cursor(self) -> FakeCursor:
        return FakeCursor(self)


class FakeCursor:
    def __init__(self, server: FakeServer):
        self.server = server
        self.rows: list[tuple] = []

    def __enter__(self) -> FakeCursor:
        return self

    def __exit__(self, *exc) -> None:
        pass

    def execute(self, statement: str, *args) -> None:
        server = self.server
        if "binlog_transaction_compression" in statement:
            self.rows = [] if server.compression is None else [("binlog_transaction_compression", server.compression)]
        elif statement.startswith("SHOW GLOBAL VARIABLES") or "Variable_name IN" in statement:
            self.rows = list(server.settings.items())
        elif "CURRENT_USER" in statement:
            self.rows = [("dms@%",)]
        elif statement == "SHOW GRANTS":
            self.rows = [(g,) for g in server.grants]
        else:
            raise AssertionError(statement)

    def fetchall(self) -> list[tuple]:
        return self.rows

    def fetchone(self) -> tuple | None:
        return self.rows[0] if self.rows else None


def refusal(settings: dict[str, str], grants: list[str] = ROOT_GRANTS, **server) -> EngineError:
    with pytest.raises(EngineError) as refused:
        check_capture_ready(FakeServer(settings, grants, **server))
    return refused.value


def test_it_accepts_a_ready_server():
    check_capture_ready(FakeServer(READY, ROOT_GRANTS))
    check_capture_ready(FakeServer(READY, ["GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.* TO `dms`@`%`"]))
    check_capture_ready(FakeServer(READY, ["GRANT SUPER, REPLICATION SLAVE ON *.* TO `dms`@`%`"], version="8.0.36"))


@pytest.mark.parametrize(("changed", "message"), [
    ({"log_bin": "OFF"}, "Binary logging is off (log_bin=OFF)"),
    ({"binlog_format": "MIXED"}, "binlog_format=MIXED: CDC needs binlog_format=ROW"),
    ({"binlog_row_image": "MINIMAL"}, "binlog_row_image=MINIMAL: CDC needs binlog_row_image=FULL"),
    ({"binlog_row_metadata": "MINIMAL"}, "binlog_row_metadata=MINIMAL: CDC needs binlog_row_metadata=FULL (without "
                                         "it rows arrive without column names"),
    ({"server_id": "0"}, "server_id=0"),
])
def test_it_names_the_setting_to_change(changed, message):
    error = refusal({**READY, **changed})
    assert error.kind is ErrorKind.CONFIGURATION
    assert message in error.message


def test_it_refuses_servers_too_old_to_name_columns():
    settings = {k: v for k, v in READY.items() if k != "binlog_row_metadata"}
    error = refusal(settings, version="5.7.44-log")
    assert error.kind is ErrorKind.CONFIGURATION
    assert "no binlog_row_metadata setting (it came with MySQL 8.0.1)" in error.message


def test_it_refuses_compressed_transactions():
    error = refusal(READY, version="8.0.36", compression="ON")
    assert "binlog_transaction_compression=OFF" in error.message


@pytest.mark.parametrize(("version", "grants", "grant"), [
    ("10.11.19-MariaDB-log", ["GRANT SELECT ON *.* TO `dms`@`%`"], "GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.*"),
    ("10.11.19-MariaDB-log", ["GRANT REPLICATION SLAVE ON *.* TO `dms`@`%`"], "GRANT BINLOG MONITOR ON *.*"),
    ("8.0.36", ["GRANT REPLICATION CLIENT ON *.* TO `dms`@`%`"], "GRANT REPLICATION SLAVE ON *.*"),
    ("8.0.36", ["GRANT SELECT ON `app`.* TO `dms`@`%`"], "GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.*"),
])
def test_it_says_which_grant_to_run(version, grants, grant):
    error = refusal(READY, grants, version=version)
    assert error.kind is ErrorKind.PRIVILEGE
    assert f"Run: {grant} TO 'dms'@'%';" in error.message
