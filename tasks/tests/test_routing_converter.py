"""Route.converter: the fast per-relation to_target of the take loops gives what to_target gives."""

from __future__ import annotations

import pytest

from endpoints.engines.base import UNCHANGED, Op, Relation, RowChange
from endpoints.engines.catalog import SourceColumn, SourceTable
from endpoints.engines.plan import ColumnPlan, TablePlan
from endpoints.engines.types import DmsType, T
from tasks.engine.routing import Route, RouteStatus

COLUMNS = ("id", "a", "b")


def route(key: tuple[str, ...] = ("id",)) -> Route:
    source = SourceTable("s", "t", tuple(SourceColumn(c, "integer", DmsType(T.INT4)) for c in COLUMNS),
                         primary_key=key)
    plan = TablePlan(source, "s", "t", tuple(ColumnPlan(c, DmsType(T.INT4), "integer", source=c) for c in COLUMNS),
                     key)
    return Route(plan, RouteStatus.REPLICATING)


RELATION = Relation("s", "t", COLUMNS, ("id",))
CHANGES = [
    RowChange(Op.UPDATE, RELATION, None, (1, 10, 20)),  # key kept: the common case
    RowChange(Op.UPDATE, RELATION, (1, None, None), (2, 10, 20)),  # key moved: the old key comes in before
    RowChange(Op.UPDATE, RELATION, None, (3, UNCHANGED, 5)),  # a value not sent
    RowChange(Op.INSERT, RELATION, None, (4, 1, 2)),
    RowChange(Op.DELETE, RELATION, (5, None, None), None),
]


@pytest.mark.parametrize("change", CHANGES, ids=["update", "key-moved", "unchanged-value", "insert", "delete"])
def test_the_converter_gives_what_to_target_gives(change):
    r = route()
    assert r.converter(RELATION.columns)(change) == r.to_target(change)


def test_the_converter_refuses_an_update_without_its_key_as_to_target_does():
    r = route()
    change = RowChange(Op.UPDATE, RELATION, None, (UNCHANGED, 1, 2))
    with pytest.raises(ValueError, match="no value for a key column"):
        r.to_target(change)
    with pytest.raises(ValueError, match="no value for a key column"):
        r.converter(RELATION.columns)(change)


def test_other_column_orders_and_composite_keys_take_to_target_itself():
    r = route()
    reordered = ("b", "id", "a")
    assert r.converter(reordered) == r.to_target
    change = RowChange(Op.UPDATE, Relation("s", "t", reordered, ("id",)), None, (20, 1, 10))
    assert r.converter(reordered)(change).row == (1, 10, 20)
    composite = route(("id", "a"))
    assert composite.converter(COLUMNS) == composite.to_target
