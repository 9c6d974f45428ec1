"""MySQL applier speed: runs of 5,000 changes on a 1M-row table, on each path, printed as rows/s.

Run with `pytest -s -m slow endpoints/tests/test_mysql_apply_speed.py` to see the figures. The
assertions only hold the shape (staged updates well ahead of one statement per update), not the
figures of one machine.
"""

from __future__ import annotations

import random
import time
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from endpoints.engines.base import Op, TargetChange
from endpoints.tests.mysql_helpers import plan_for, query, run
from endpoints.tests.test_mysql_apply import PATHS, applier

pytestmark = [pytest.mark.live, pytest.mark.slow]

ROWS = 1_000_000
RUN = 5000
T0 = datetime(2024, 1, 1)


@pytest.fixture(scope="module")
def big(request) -> str:
    """One 1M-row table for the whole module (a fresh database, dropped at the end)."""
    from conftest import MYSQL_URL, _mysql_admin, _new_name, _url_with_db

    name = _new_name()
    admin = _mysql_admin()
    admin.cursor().execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    url = _url_with_db(MYSQL_URL, name)
    digits = "(SELECT 0 d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL " \
             "SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9)"
    number = " + ".join(f"d{i}.d * {10 ** i}" for i in range(6)) + " + 1"
    tables = ", ".join(f"{digits} d{i}" for i in range(6))
    run(url, "CREATE TABLE big (id bigint PRIMARY KEY, a int, s varchar(50), v decimal(12,2), t datetime(6))",
        f"INSERT INTO big SELECT n, n % 1000, CONCAT('name ', n), n / 100, '2024-01-01' + INTERVAL n SECOND "
        f"FROM (SELECT {number} AS n FROM {tables}) AS numbers")
    yield url
    admin.cursor().execute(f"DROP DATABASE IF EXISTS `{name}`")
    admin.close()


def _row(rnd: random.Random, key: int) -> tuple:
    return (key, rnd.randint(0, 999), f"changed {key}", Decimal(rnd.randint(0, 10**6)) / 100,
            T0 + timedelta(seconds=key, microseconds=7))


def _timed(url: str, path: str, prepare, apply, repeats: int = 3) -> float:
    """The best rows/s of `repeats` runs: prepare(ap) -> changes (untimed), apply(ap, changes) timed,
    each in its own transaction, committed afterwards (the commit is the loop's, not the primitive's)."""
    best = float("inf")
    for _ in range(repeats):
        ap = applier(url, path)
        ap.begin()
        changes = prepare(ap)
        started = time.perf_counter()
        assert apply(ap, changes) == RUN
        best = min(best, time.perf_counter() - started)
        ap.commit()
        ap.close()
    return RUN / best


@pytest.mark.parametrize("path", PATHS)
def test_it_applies_runs_of_5000_on_a_1m_row_table(big, path, capsys):
    rnd = random.Random(7)
    plan = plan_for(big, "big")
    top = [query(big, "SELECT MAX(id) FROM big")[0][0]]

    def new_rows(ap) -> list[tuple]:
        top[0] += RUN
        return [_row(rnd, top[0] - RUN + 1 + i) for i in range(RUN)]

    def existing(ap) -> list[int]:
        return rnd.sample(range(1, ROWS + 1), RUN)

    def inserted_keys(ap) -> list[tuple]:
        rows = new_rows(ap)
        ap.insert(plan, rows)
        return [(r[0],) for r in rows]

    figures = {
        "insert": _timed(big, path, new_rows, lambda ap, rows: ap.insert(plan, rows)),
        "upsert": _timed(big, path, lambda ap: [_row(rnd, k) for k in existing(ap)],
                         lambda ap, rows: ap.insert(plan, rows, upsert=True)),
        "update": _timed(big, path, lambda ap: [TargetChange(Op.UPDATE, key=(k,), row=_row(rnd, k))
                                                for k in existing(ap)],
                         lambda ap, changes: ap.update(plan, changes)),
        "delete": _timed(big, path, inserted_keys, lambda ap, keys: ap.delete(plan, keys)),
    }
    with capsys.disabled():
        print(f"\n{path:8s} " + "  ".join(f"{op} {rate:8.0f} rows/s" for op, rate in figures.items()))
    if path != "rows":
        # staged updates are several times faster than one statement per update (measured 3-5x)
        row_update = _timed(big, "rows", lambda ap: [TargetChange(Op.UPDATE, key=(k,), row=_row(rnd, k))
                                                      for k in existing(ap)],
                            lambda ap, changes: ap.update(plan, changes), repeats=1)
        assert figures["update"] > 1.5 * row_update
