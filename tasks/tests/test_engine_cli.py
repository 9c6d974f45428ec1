"""`python -m tasks.engine`: the runner without the console, on real PostgreSQL databases."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.live


def engine(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tasks.engine", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture
def source_and_target(pg_database):
    source, target = pg_database(), pg_database()
    with psycopg.connect(source) as conn:
        conn.execute("""
            CREATE SCHEMA sales;
            CREATE TABLE sales.orders (id bigint PRIMARY KEY, status varchar(20), amount numeric(12,2), note text);
            INSERT INTO sales.orders SELECT g, 'new', g * 1.25, 'note ' || g FROM generate_series(1, 5000) g;
            CREATE TABLE sales.customers (id int PRIMARY KEY, name varchar(40));
            INSERT INTO sales.customers VALUES (1, 'Ada'), (2, 'Grace'), (3, NULL);
            CREATE TABLE sales.tmp_scratch (id int PRIMARY KEY);
            ANALYZE;
        """)
    return source, target


def write_json(tmp_path: Path, name: str, document: dict) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(document))
    return str(path)


def include(schema: str, table: str = "%", rule_id: str = "1") -> dict:
    return {"rule-type": "selection", "rule-id": rule_id, "rule-name": f"r{rule_id}",
            "object-locator": {"schema-name": schema, "table-name": table}, "rule-action": "include"}


def test_it_loads_every_selected_table_and_exits_zero(source_and_target, tmp_path):
    source, target = source_and_target
    mappings = {"rules": [include("sales"), {**include("sales", "tmp%", "2"), "rule-action": "exclude"}]}
    result = engine("run", "--source", source, "--target", target,
                    "--table-mappings", write_json(tmp_path, "m.json", mappings), "--threads")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Stop Reason FULL_LOAD_ONLY_FINISHED" in result.stdout
    assert "sales   orders     Table completed  5000" in result.stdout
    with psycopg.connect(target) as conn:
        assert conn.execute("SELECT count(*), sum(amount) FROM sales.orders").fetchone() == (5000, 15628125)
        assert conn.execute("SELECT id, name FROM sales.customers ORDER BY id").fetchall() == [
            (1, "Ada"), (2, "Grace"), (3, None)]
        assert conn.execute("SELECT to_regclass('sales.tmp_scratch')").fetchone() == (None,)


def test_it_loads_a_table_in_key_ranges_each_row_once(source_and_target, tmp_path):
    source, target = source_and_target
    ranges = {"rule-type": "table-settings", "rule-id": "2", "rule-name": "ranges",
              "object-locator": {"schema-name": "sales", "table-name": "orders"},
              "parallel-load": {"type": "ranges", "columns": ["id"], "boundaries": [["1000"], ["2500"], ["4000"]]}}
    settings = {"FullLoadSettings": {"MaxFullLoadSubTasks": 3, "CommitRate": 700}}
    result = engine("run", "--source", source, "--target", target,
                    "--table-mappings", write_json(tmp_path, "m.json", {"rules": [include("sales", "orders"), ranges]}),
                    "--task-settings", write_json(tmp_path, "s.json", settings))
    assert result.returncode == 0, result.stdout + result.stderr
    # counted exactly, though progress from the loader processes may arrive after their results
    assert "sales   orders  Table completed  5000" in result.stdout
    with psycopg.connect(target) as conn:
        assert conn.execute("SELECT count(*), count(DISTINCT id), min(id), max(id) FROM sales.orders").fetchone() == (
            5000, 5000, 1, 5000)


def test_it_prints_the_plan_without_moving_data(source_and_target, tmp_path):
    source, target = source_and_target
    rename = {"rule-type": "transformation", "rule-id": "2", "rule-name": "rename", "rule-target": "table",
              "object-locator": {"schema-name": "sales", "table-name": "customers"}, "rule-action": "rename",
              "value": "clients"}
    result = engine("plan", "--source", source, "--target", target,
                    "--table-mappings", write_json(tmp_path, "m.json", {"rules": [include("sales", "cust%"), rename]}))
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    assert [(t["source"]["table"], t["target"]["schema"], t["target"]["table"]) for t in plan["tables"]] == [
        ("customers", "sales", "clients")]
    assert [(c["name"], c["source_type"], c["intermediate_type"], c["target_type"])
            for c in plan["tables"][0]["columns"]] == [
        ("id", "integer", "INT4", "integer"), ("name", "character varying(40)", "WSTRING(40)", "character varying(40)")]
    with psycopg.connect(target) as conn:
        assert conn.execute("SELECT to_regnamespace('sales')").fetchone() == (None,)


def test_it_exits_2_listing_every_error_of_an_invalid_document(source_and_target, tmp_path):
    source, target = source_and_target
    bad = {"rules": [{"rule-type": "selection", "rule-id": "one", "rule-name": "r",
                      "object-locator": {"schema-name": "sales", "table-name": "%"}, "rule-action": "includ"}]}
    for command in ("plan", "run"):
        result = engine(command, "--source", source, "--target", target,
                        "--table-mappings", write_json(tmp_path, "bad.json", bad))
        assert result.returncode == 2, (command, result.stdout, result.stderr)
        assert 'rules[0].rule-id (rule-id "one", rule-name "r"): got "one"' in result.stderr
        assert 'rules[0].rule-action (rule-id "one", rule-name "r"): got "includ"' in result.stderr


def test_it_exits_1_when_a_table_fails(source_and_target, tmp_path):
    source, target = source_and_target
    with psycopg.connect(target) as conn:  # a view on the target table blocks DROP_AND_CREATE
        conn.execute("CREATE SCHEMA sales; CREATE TABLE sales.customers (id int); "
                     "CREATE VIEW sales.v AS SELECT * FROM sales.customers")
    result = engine("run", "--source", source, "--target", target,
                    "--table-mappings", write_json(tmp_path, "m.json", {"rules": [include("sales", "%o%")]}))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "customers  Table error" in result.stdout
    assert "orders     Table completed  5000" in result.stdout
