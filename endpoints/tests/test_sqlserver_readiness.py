"""Test connection on SQL Server without a server: the findings from facts shaped as the checks return
them, and the report test_connection builds from a connection that answers those checks."""

from __future__ import annotations

import pyodbc

from endpoints.engines.base import EndpointRole
from endpoints.engines.conninfo import ConnectionInfo
from endpoints.engines.sqlserver import SqlServerEngine, engine
from endpoints.engines.sqlserver.attributes import Settings
from endpoints.engines.sqlserver.readiness import server_label, source_findings, target_findings
from endpoints.engines.sqlserver.sqlfiles import sql

VERSION = ("Microsoft SQL Server 2022 (RTM-CU12) (KB5033663) - 16.0.4095.4 (X64) \n\tNov 30 2023 10:42:04 \n"
           "\tCopyright (C) 2022 Microsoft Corporation\n\tDeveloper Edition (64-bit) on Linux (Ubuntu 22.04.3 LTS)")

# Shaped as sql/server_facts.sql returns them through pyodbc (IS_*/HAS_PERMS_BY_NAME are int, bit is bool).
READY = {"version_text": VERSION, "product_version": "16.0.4095.4", "engine_edition": 3, "database_name": "shop",
         "is_cdc_enabled": True, "recovery_model_desc": "FULL", "snapshot_isolation_state_desc": "OFF",
         "login_name": "dms", "is_sysadmin": 0, "is_db_owner": 1, "view_server_state": 1, "view_database_state": 1,
         "view_definition": 1, "can_select": 1, "can_create_table": 1}
JOBS = [{"job_type": "capture", "pollinginterval": 5, "retention": 0},
        {"job_type": "cleanup", "pollinginterval": 0, "retention": 4320}]


def test_it_labels_the_server_with_the_first_line_of_its_version():
    assert server_label(READY) == "Microsoft SQL Server 2022 (RTM-CU12) (KB5033663) - 16.0.4095.4 (X64)"


def test_it_finds_a_ready_source_ready():
    found = source_findings(READY, ["Running"], JOBS, Settings())
    assert found.blockers == [] and found.warnings == []


def test_it_prints_the_statement_enabling_cdc_on_the_database():
    found = source_findings(dict(READY, is_cdc_enabled=False), ["Running"], None, Settings())
    assert len(found.blockers) == 1
    assert "EXEC sys.sp_cdc_enable_db;" in found.blockers[0]
    assert "EXEC msdb.dbo.rds_cdc_enable_db N'shop';" in found.blockers[0]


def test_it_lets_a_sysadmin_task_enable_cdc_itself():
    facts = dict(READY, is_cdc_enabled=False, is_sysadmin=1)
    found = source_findings(facts, ["Running"], None, Settings(set_up_cdc=True))
    assert found.blockers == [] and "the task will enable it" in found.warnings[0]


def test_it_warns_on_simple_recovery_unless_told_it_is_fatal():
    facts = dict(READY, recovery_model_desc="SIMPLE")
    warned = source_findings(facts, ["Running"], JOBS, Settings())
    assert warned.blockers == [] and "ALTER DATABASE [shop] SET RECOVERY FULL" in warned.warnings[0]
    fatal = source_findings(facts, ["Running"], JOBS, Settings(fatal_on_simple_model=True))
    assert "fatalOnSimpleModel=Y" in fatal.blockers[0]


def test_it_needs_sql_server_agent_running():
    stopped = source_findings(READY, ["Stopped"], JOBS, Settings())
    assert "SQL Server Agent is stopped" in stopped.blockers[0] and "mssql-conf" in stopped.blockers[0]
    unknown = source_findings(READY, None, JOBS, Settings())
    assert unknown.blockers == [] and "VIEW SERVER STATE" in unknown.warnings[0]
    express = source_findings(dict(READY, engine_edition=4), None, JOBS, Settings())
    assert "Express" in express.blockers[0]
    azure = source_findings(dict(READY, engine_edition=5), None, JOBS, Settings())
    assert azure.blockers == [] and azure.warnings == []


def test_it_checks_the_cdc_jobs():
    no_capture = source_findings(READY, ["Running"], JOBS[1:], Settings())
    assert "EXEC sys.sp_cdc_add_job @job_type = N'capture';" in no_capture.blockers[0]
    short = [JOBS[0], dict(JOBS[1], retention=60)]
    assert "only 60 minutes" in source_findings(READY, ["Running"], short, Settings()).warnings[0]


def test_it_checks_the_logins_rights():
    facts = dict(READY, is_db_owner=0, can_select=0, view_definition=0)
    found = source_findings(facts, ["Running"], JOBS, Settings(set_up_cdc=True))
    assert "db_datareader" in found.blockers[0]
    assert any("VIEW DEFINITION" in w for w in found.warnings)
    assert any("setUpMsCdcForTables=Y needs db_owner" in w for w in found.warnings)


def test_it_warns_a_target_that_cannot_create_tables():
    assert target_findings(READY).all == ()
    found = target_findings(dict(READY, can_create_table=0, is_db_owner=0))
    assert "cannot create tables in database 'shop'" in found.warnings[0]


# ---- test_connection over a connection answering the checks -----------------------------------------

class FakeCursor:
    def __init__(self, answers):
        self.answers, self.description, self._rows = answers, None, []

    def execute(self, statement, *params):
        for name, answer in self.answers.items():
            if statement == sql(name):
                if isinstance(answer, Exception):
                    raise answer
                self.description = [(key,) for key in answer[0]] if answer else [("x",)]
                self._rows = [tuple(row.values()) for row in answer]
                return self
        raise AssertionError(f"unexpected statement {statement!r}")

    def fetchall(self):
        return self._rows


class FakeConnection:
    def __init__(self, answers):
        self.answers, self.closed = answers, False

    def cursor(self):
        return FakeCursor(self.answers)

    def close(self):
        self.closed = True


def _report(monkeypatch, answers, role=EndpointRole.SOURCE):
    connection = FakeConnection(answers)
    monkeypatch.setattr(engine, "connect", lambda conn, **kwargs: connection)
    report = SqlServerEngine(ConnectionInfo.from_url("mssql://dms:pw@db.example/shop")).test_connection(role)
    assert connection.closed
    return report


def test_it_reports_a_cdc_ready_source(monkeypatch):
    report = _report(monkeypatch, {"server_facts": [READY], "agent_status": [{"status_desc": "Running"}],
                                   "cdc_jobs": JOBS})
    assert report.ok and report.cdc_ready is True and report.warnings == ()
    assert report.server_version.startswith("Microsoft SQL Server 2022")


def test_it_reports_what_blocks_cdc_and_checks_it_could_not_make(monkeypatch):
    denied = pyodbc.ProgrammingError("42000", "[42000] [FreeTDS][SQL Server]VIEW SERVER STATE permission was denied "
                                              "on object 'server', database 'master'. (300) (SQLExecDirectW)")
    report = _report(monkeypatch, {"server_facts": [dict(READY, is_cdc_enabled=False)], "agent_status": denied,
                                   "cdc_jobs": []})
    assert report.ok and report.cdc_ready is False
    assert "sp_cdc_enable_db" in report.warnings[0] and any("VIEW SERVER STATE" in w for w in report.warnings)


def test_it_does_not_check_cdc_for_a_target(monkeypatch):
    report = _report(monkeypatch, {"server_facts": [READY]}, role=EndpointRole.TARGET)
    assert report.ok and report.cdc_ready is None


def test_it_reports_a_failing_check_without_raising(monkeypatch):
    lost = pyodbc.OperationalError("08S01", "[08S01] [FreeTDS][SQL Server]Write to the server failed (20006) "
                                            "(SQLExecDirectW)")
    report = _report(monkeypatch, {"server_facts": lost})
    assert not report.ok and "was lost while checking the server" in report.message

