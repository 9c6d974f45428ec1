"""Is a SQL Server endpoint ready for its role? Warnings a DBA can act on.

A source needs MS-CDC enabled on the database (each table is checked when the task
starts, see cdc_setup), SQL Server Agent running the capture and cleanup jobs, and a
cleanup retention long enough for a stopped task to resume. DMS also asks for the FULL
recovery model because it reads the log itself; reading change tables, this engine works
in SIMPLE too, so SIMPLE is a warning unless fatalOnSimpleModel=Y.

`source_findings` and `target_findings` are pure: they take the facts as the queries
(sql/server_facts.sql, agent_status.sql, cdc_jobs.sql) return them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .attributes import Settings
from .sqltext import literal, quote

AZURE_SQL_DATABASE = 5  # SERVERPROPERTY('EngineEdition'): no SQL Server Agent, a CDC scheduler instead
EXPRESS = 4  # no SQL Server Agent at all
MIN_RETENTION_MINUTES = 24 * 60


@dataclass
class Findings:
    blockers: list[str] = field(default_factory=list)  # CDC cannot work until these are fixed
    warnings: list[str] = field(default_factory=list)

    @property
    def all(self) -> tuple[str, ...]:
        return tuple(self.blockers + self.warnings)


def server_label(facts: Mapping[str, Any]) -> str:
    """'Microsoft SQL Server 2022 (RTM-CU12) - 16.0.4125.3 (X64)': the first line of @@VERSION."""
    text = str(facts.get("version_text") or "").strip()
    return text.splitlines()[0].strip() if text else f"SQL Server {facts.get('product_version', '')}".strip()


def source_findings(facts: Mapping[str, Any], agent: Sequence[str] | None, jobs: Sequence[Mapping[str, Any]] | None,
                    options: Settings) -> Findings:
    """What stands between this database and MS-CDC. `agent` is None when it could not be checked
    (no VIEW SERVER STATE), `jobs` None when msdb.dbo.cdc_jobs could not be read."""
    found = Findings()
    database = str(facts["database_name"])
    _database(found, facts, database, options)
    _recovery(found, facts, database, options)
    _agent(found, facts, agent)
    if facts["is_cdc_enabled"]:
        _jobs(found, jobs)
    _rights(found, facts, database, options)
    return found


def _database(found: Findings, facts: Mapping[str, Any], database: str, options: Settings) -> None:
    if facts["is_cdc_enabled"]:
        return
    can_enable = bool(facts["is_sysadmin"])
    if options.set_up_cdc and can_enable:
        found.warnings.append(f"MS-CDC is not enabled for database {database!r}; the task will enable it "
                              "(setUpMsCdcForTables=Y).")
        return
    found.blockers.append(f"MS-CDC is not enabled for database {database!r}. Run as sysadmin, in that database: "
                          f"EXEC sys.sp_cdc_enable_db; (Amazon RDS: EXEC msdb.dbo.rds_cdc_enable_db "
                          f"{literal(database)};), or set setUpMsCdcForTables=Y with a sysadmin login.")


def _recovery(found: Findings, facts: Mapping[str, Any], database: str, options: Settings) -> None:
    model = str(facts.get("recovery_model_desc") or "").upper()
    if model != "SIMPLE":
        return
    text = (f"Database {database!r} uses the SIMPLE recovery model. MS-CDC works, but DMS requires FULL "
            f"(ALTER DATABASE {quote(database)} SET RECOVERY FULL; then take a full backup).")
    (found.blockers if options.fatal_on_simple_model else found.warnings).append(
        text + (" fatalOnSimpleModel=Y makes this an error." if options.fatal_on_simple_model else ""))


def _agent(found: Findings, facts: Mapping[str, Any], agent: Sequence[str] | None) -> None:
    edition = int(facts.get("engine_edition") or 0)
    if edition == AZURE_SQL_DATABASE:
        return
    if edition == EXPRESS:
        found.blockers.append("SQL Server Express has no SQL Server Agent, so MS-CDC's capture job cannot run. "
                              "Use another edition for a CDC source.")
        return
    if agent is None:
        found.warnings.append("Could not check that SQL Server Agent runs (the login lacks VIEW SERVER STATE): "
                              "MS-CDC's capture job needs it. GRANT VIEW SERVER STATE TO the login to check.")
    elif not any(str(status).lower() == "running" for status in agent):
        state = ", ".join(agent) or "not installed"
        found.blockers.append(f"SQL Server Agent is {state.lower()}: MS-CDC's capture and cleanup jobs run in it. "
                              "Start it (Linux: mssql-conf set sqlagent.enabled true, then restart mssql-server).")


def _jobs(found: Findings, jobs: Sequence[Mapping[str, Any]] | None) -> None:
    if jobs is None:
        return
    kinds = {str(j["job_type"]).lower(): j for j in jobs}
    if "capture" not in kinds:
        found.blockers.append("The database has no MS-CDC capture job. Create it: "
                              "EXEC sys.sp_cdc_add_job @job_type = N'capture';")
    cleanup = kinds.get("cleanup")
    if cleanup is not None and int(cleanup["retention"] or 0) < MIN_RETENTION_MINUTES:
        found.warnings.append(f"The MS-CDC cleanup job keeps changes only {int(cleanup['retention'])} minutes: a task "
                              "stopped longer must reload. Keep at least a day: EXEC sys.sp_cdc_change_job "
                              "@job_type = N'cleanup', @retention = 4320;")


def _rights(found: Findings, facts: Mapping[str, Any], database: str, options: Settings) -> None:
    login = facts.get("login_name") or "the login"
    if not facts.get("can_select") and not facts.get("is_db_owner"):
        found.blockers.append(f"Login {login!r} cannot read tables in database {database!r}: grant db_datareader "
                              f"(ALTER ROLE db_datareader ADD MEMBER [<user>];).")
    if not facts.get("view_definition") and not facts.get("is_db_owner"):
        found.warnings.append(f"Login {login!r} lacks VIEW DEFINITION in {database!r}: tables it cannot see are "
                              "not listed. GRANT VIEW DEFINITION TO [<user>];")
    if options.set_up_cdc and not (facts.get("is_db_owner") or facts.get("is_sysadmin")):
        found.warnings.append(f"setUpMsCdcForTables=Y needs db_owner in {database!r} (sysadmin for the database "
                              f"itself); login {login!r} has neither, so a DBA must enable CDC on the tables.")


def target_findings(facts: Mapping[str, Any]) -> Findings:
    found = Findings()
    if not facts.get("can_create_table") and not facts.get("is_db_owner"):
        login = facts.get("login_name") or "the login"
        found.warnings.append(f"Login {login!r} cannot create tables in database {facts['database_name']!r}: "
                              "tables must exist already (target table preparation DO_NOTHING), or grant "
                              "CREATE TABLE and ALTER on the target schema.")
    return found

