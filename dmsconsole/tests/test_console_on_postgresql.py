"""The console on PostgreSQL: a representative part of the suite, run again with DATABASE_URL on PostgreSQL.

SQLite is the embedded default and what the rest of the suite uses; production runs on
PostgreSQL. This runs the authorization matrix, the endpoint and instance tests and one
Test connection through a real worker with the console's own database on PostgreSQL.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SUBSET = [
    "dmsconsole/tests/test_authorization.py",
    "dmsconsole/tests/test_dms_command.py",
    "endpoints/tests/test_endpoint_forms.py",
    "endpoints/tests/test_endpoint_secrets.py",
    "endpoints/tests/test_endpoint_delete.py",
    "tasks/tests/test_instances.py",
    "monitoring/tests/test_websocket_auth.py",
    "endpoints/tests/test_test_connection_live.py::test_it_tests_postgresql_and_mariadb_through_a_real_worker",
]


@pytest.mark.live
def test_it_passes_the_console_tests_with_its_database_on_postgresql(pg_database):
    url = pg_database()  # pytest-django creates test_<this name> beside it, so runs never collide
    env = {**os.environ, "DATABASE_URL": url}
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--no-header", *SUBSET],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    tail = "\n".join(result.stdout.splitlines()[-30:])
    assert result.returncode == 0, tail + result.stderr[-3000:]
    assert " passed" in tail and "failed" not in tail


def test_it_really_points_the_inner_run_at_postgresql():
    # The inner run's settings come from DATABASE_URL: check that path with a one-liner, cheaply.
    code = ("import django;django.setup();from django.db import connection;print(connection.vendor)")
    env = {**os.environ, "DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/postgres",
           "DJANGO_SETTINGS_MODULE": "dmsconsole.test_settings"}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    assert out.stdout.strip() == "postgresql", out.stderr
