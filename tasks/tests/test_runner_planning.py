"""The runner plans once per start: the plan a caller just made for the estimates is the one run() uses."""

from __future__ import annotations

import psycopg
import pytest

from endpoints.engines.conninfo import ConnectionInfo
from endpoints.tests.postgres_support import run_sql
from tasks.engine import runner as runner_module
from tasks.engine.reporting import RecordingReporter
from tasks.engine.runner import MigrationType, StartMode, TaskRunner, TaskSpec

pytestmark = pytest.mark.live

MAPPINGS = {"rules": [{"rule-type": "selection", "rule-id": "1", "rule-name": "1",
                       "object-locator": {"schema-name": "app", "table-name": "%"}, "rule-action": "include"}]}


def test_run_starts_from_the_plan_just_made_and_later_runs_plan_afresh(pg_database, tmp_path, monkeypatch):
    source, target = pg_database(), pg_database()
    run_sql(source, "CREATE SCHEMA app", "CREATE TABLE app.items (id integer PRIMARY KEY, name text)",
            "INSERT INTO app.items VALUES (1, 'one'), (2, 'two')")
    planned = []
    real = runner_module.build_task_plan
    monkeypatch.setattr(runner_module, "build_task_plan", lambda *args: planned.append(args) or real(*args))
    spec = TaskSpec(task_id="plans", source=ConnectionInfo.from_url(source), target=ConnectionInfo.from_url(target),
                    migration_type=MigrationType.FULL_LOAD, table_mappings=MAPPINGS, task_settings={},
                    spool_dir=tmp_path / "spool", executor="thread")
    runner = TaskRunner(spec, RecordingReporter())

    estimates = {(p.source_schema, p.source_table) for p in runner.plan().tables}
    assert estimates == {("app", "items")}
    first = runner.run(StartMode.START)
    assert first.ok, first.error
    assert len(planned) == 1  # the run used the plan made for the estimates

    run_sql(source, "CREATE TABLE app.added (id integer PRIMARY KEY)")
    again = runner.run(StartMode.RELOAD)  # a restart: the source may have changed since
    assert again.ok, again.error
    assert len(planned) == 2
    with psycopg.connect(target, autocommit=True) as conn:
        assert conn.execute("SELECT to_regclass('app.added') IS NOT NULL").fetchone() == (True,)
