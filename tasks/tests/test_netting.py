"""Batch apply netting (tasks.engine.netting): every combination of changes of one key, written out."""

from __future__ import annotations

from endpoints.engines.base import UNCHANGED, Op, TargetChange
from endpoints.engines.catalog import SourceColumn, SourceTable
from endpoints.engines.plan import ColumnPlan, TablePlan
from endpoints.engines.types import DmsType, T
from tasks.engine.apply_writer import Item, runs
from tasks.engine.netting import net, net_runs
from tasks.engine.routing import Route, RouteStatus

_ = UNCHANGED


def route(name: str = "t", columns: tuple[str, ...] = ("id", "a", "b"), key: tuple[str, ...] = ("id",)) -> Route:
    source = SourceTable("s", name, tuple(SourceColumn(c, "integer", DmsType(T.INT4)) for c in columns),
                         primary_key=key)
    plan = TablePlan(source, "s", name, tuple(ColumnPlan(c, DmsType(T.INT4), "integer", source=c) for c in columns),
                     key)
    return Route(plan, RouteStatus.REPLICATING)


R = route()


def ins(row: tuple, r: Route = R) -> Item:
    return Item(r, TargetChange(Op.INSERT, row=row))


def upd(key: tuple, row: tuple, r: Route = R) -> Item:
    return Item(r, TargetChange(Op.UPDATE, key=key, row=row))


def dele(key: tuple, r: Route = R) -> Item:
    return Item(r, TargetChange(Op.DELETE, key=key))


def show(items: list[Item]) -> list[tuple]:
    """(table, op, key, row) per item, to compare with expected values written out."""
    return [(i.route.plan.target_table, i.change.op.value, i.change.key, i.change.row) for i in items]


# ---- one key --------------------------------------------------------------------------------------

def test_it_folds_an_insert_and_its_updates_into_one_insert():
    out = net([ins((1, 10, 20)), upd((1,), (1, 11, _)), upd((1,), (1, _, 22))])
    assert show(out) == [("t", "I", None, (1, 11, 22))]


def test_it_drops_an_insert_deleted_in_the_same_window():
    assert net([ins((1, 10, 20)), upd((1,), (1, 11, 21)), dele((1,))]) == []


def test_it_keeps_only_the_delete_of_an_updated_row():
    out = net([upd((1,), (1, 11, 21)), upd((1,), (1, 12, _)), dele((1,))])
    assert show(out) == [("t", "D", (1,), None)]


def test_it_turns_a_delete_and_an_insert_into_a_delete_then_an_insert():
    out = net([dele((1,)), ins((1, 10, 20)), upd((1,), (1, _, 21))])
    assert show(out) == [("t", "D", (1,), None), ("t", "I", None, (1, 10, 21))]


def test_it_keeps_one_delete_when_a_recreated_row_is_deleted_again():
    out = net([dele((1,)), ins((1, 10, 20)), dele((1,))])
    assert show(out) == [("t", "D", (1,), None)]


def test_it_merges_updates_later_values_winning_and_unsent_values_taken_from_earlier_images():
    out = net([upd((1,), (1, 11, _)), upd((1,), (1, 12, _)), upd((1,), (1, _, 30))])
    assert show(out) == [("t", "U", (1,), (1, 12, 30))]


def test_it_keeps_unchanged_values_no_image_of_the_window_sent():
    out = net([upd((1,), (1, 11, _)), upd((1,), (1, 12, _))])
    assert show(out) == [("t", "U", (1,), (1, 12, _))]


def test_it_keeps_a_complete_update_an_update():
    out = net([upd((1,), (1, 11, 21)), upd((1,), (1, 12, 22))])
    assert show(out) == [("t", "U", (1,), (1, 12, 22))]


# ---- keys that move -------------------------------------------------------------------------------

def test_it_moves_a_key_as_a_delete_and_an_insert_when_the_new_image_is_complete():
    out = net([upd((1,), (5, 11, 21)), upd((5,), (5, 12, _))])
    assert show(out) == [("t", "D", (1,), None), ("t", "I", None, (5, 12, 21))]


def test_it_follows_a_key_moved_twice():
    out = net([upd((1,), (2, 11, 21)), upd((2,), (3, _, 22))])
    assert show(out) == [("t", "D", (1,), None), ("t", "I", None, (3, 11, 22))]


def test_it_moves_an_inserted_row_with_one_insert_at_its_last_key():
    out = net([ins((1, 10, 20)), upd((1,), (7, _, 21))])
    assert show(out) == [("t", "I", None, (7, 10, 21))]


def test_it_moves_a_row_onto_a_key_deleted_earlier_in_the_window():
    out = net([dele((2,)), upd((1,), (2, 11, 21))])
    assert show(out) == [("t", "D", (2,), None), ("t", "D", (1,), None),
                         ("t", "I", None, (2, 11, 21))]


def test_it_reuses_the_key_a_moved_row_left():
    out = net([upd((1,), (2, 11, 21)), ins((1, 0, 0))])
    assert show(out) == [("t", "D", (1,), None), ("t", "I", None, (2, 11, 21)),
                         ("t", "I", None, (1, 0, 0))]


def test_it_passes_a_window_through_when_a_key_moves_with_an_incomplete_image():
    window = [upd((3,), (3, 1, 1)), upd((1,), (2, 11, _)), ins((1, 0, 0))]
    assert net(window) == window


def test_it_passes_a_window_through_when_a_row_moves_onto_a_live_key():
    window = [ins((2, 0, 0)), upd((1,), (2, 11, 21))]
    assert net(window) == window


# ---- sequences the source could not have produced --------------------------------------------------

def test_it_passes_through_a_second_insert_of_a_live_key():
    window = [ins((1, 0, 0)), ins((1, 1, 1))]
    assert net(window) == window


def test_it_passes_through_a_change_of_a_row_the_window_removed():
    deleted_twice = [dele((1,)), dele((1,))]
    updated_after_delete = [upd((1,), (1, 2, 2)), dele((1,)), upd((1,), (1, 3, 3))]
    updated_after_move = [upd((1,), (2, 2, 2)), upd((1,), (1, 3, 3))]
    assert net(deleted_twice) == deleted_twice
    assert net(updated_after_delete) == updated_after_delete
    assert net(updated_after_move) == updated_after_move


def test_it_passes_through_keys_it_cannot_hash():
    window = [ins(([1], 0, 0)), upd(([1],), ([1], 1, 1))]
    assert net(window) == window


# ---- runs and tables ------------------------------------------------------------------------------

def test_it_orders_each_table_deletes_then_inserts_then_updates():
    out = net([
        upd((1,), (1, 11, 21)), ins((2, 0, 0)), dele((3,)), upd((4,), (4, 1, 1)),
        ins((5, 0, 0)), dele((6,)),
    ])
    assert show(out) == [
        ("t", "D", (3,), None), ("t", "D", (6,), None),
        ("t", "I", None, (2, 0, 0)), ("t", "I", None, (5, 0, 0)),
        ("t", "U", (1,), (1, 11, 21)), ("t", "U", (4,), (4, 1, 1)),
    ]


def test_it_groups_updates_by_the_values_they_set():
    out = net([upd((1,), (1, 1, _)), upd((2,), (2, 2, 2)), upd((3,), (3, 3, _)),
               upd((4,), (4, _, 4)), upd((5,), (5, 5, 5))])
    assert show(out) == [
        ("t", "U", (2,), (2, 2, 2)), ("t", "U", (5,), (5, 5, 5)),
        ("t", "U", (1,), (1, 1, _)), ("t", "U", (3,), (3, 3, _)),
        ("t", "U", (4,), (4, _, 4)),
    ]


def test_it_keeps_tables_in_the_order_they_first_appear():
    a, b = route("a"), route("b")
    out = net([ins((1, 0, 0), b), ins((1, 0, 0), a), upd((1,), (1, 9, 9), b),
               dele((2,), a)])
    assert show(out) == [("b", "I", None, (1, 9, 9)), ("a", "D", (2,), None),
                         ("a", "I", None, (1, 0, 0))]


def test_it_nets_each_side_of_a_truncate_on_its_own():
    truncate = Item(R, TargetChange(Op.TRUNCATE))
    out = net([ins((1, 0, 0)), upd((1,), (1, 5, _)), truncate, ins((1, 7, 7)),
               upd((1,), (1, 8, _))])
    assert show(out) == [("t", "I", None, (1, 5, 0)), ("t", "T", None, None),
                         ("t", "I", None, (1, 8, 7))]


def test_it_nets_each_side_of_a_ddl_on_its_own():
    ddl = Item(R, TargetChange(Op.DDL))
    out = net([upd((1,), (1, 5, _)), upd((1,), (1, 6, _)), ddl, dele((1,))])
    assert show(out) == [("t", "U", (1,), (1, 6, _)), ("t", "DDL", None, None),
                         ("t", "D", (1,), None)]


def test_it_passes_keyless_tables_through_in_source_order():
    log = route("log", ("seq", "msg"), key=())
    window = [ins((1, "a"), log), ins((1, "a"), log), dele((1, "a"), log),
              upd((1, "a"), (2, "b"), log)]
    assert net(window) == window


def test_it_nets_by_composite_key():
    lines = route("lines", ("order_id", "line", "qty"), key=("order_id", "line"))
    out = net([ins((7, 1, 1), lines), ins((7, 2, 1), lines), upd((7, 1), (7, 1, 5), lines),
               dele((7, 2), lines), upd((8, 1), (8, 3, 2), lines)])
    assert show(out) == [("lines", "D", (8, 1), None), ("lines", "I", None, (7, 1, 5)),
                         ("lines", "I", None, (8, 3, 2))]


def test_it_leaves_a_single_change_and_an_empty_window_alone():
    one = [upd((1,), (1, _, _))]
    assert net(one) == one
    assert net([]) == []


def test_it_keeps_the_key_of_a_key_column_the_update_did_not_send():
    out = net([upd((1,), (_, 5, _)), upd((1,), (_, 6, 7))])
    assert show(out) == [("t", "U", (1,), (_, 6, 7))]


# ---- netted and unnetted windows end in the same rows ------------------------------------------------

def _apply(rows: dict[tuple, tuple], items: list[Item]) -> dict[tuple, tuple]:
    """The target after applying items in order (one key column: position 0)."""
    rows = dict(rows)
    for item in items:
        change = item.change
        if change.op is Op.INSERT:
            key = (change.row[0],)
            assert key not in rows, f"insert of existing key {key}"
            rows[key] = change.row
        elif change.op is Op.UPDATE:
            old = rows.pop(change.key, None)
            if old is not None:
                new = tuple(o if v is UNCHANGED else v for o, v in zip(old, change.row, strict=True))
                assert (new[0],) not in rows
                rows[(new[0],)] = new
        else:
            rows.pop(change.key, None)
    return rows


def _random_window(rnd, rows: dict[tuple, tuple], size: int) -> list[Item]:
    """Changes a source could produce from `rows`, keys 1..8, with unsent values and key moves."""
    live = dict(rows)
    items = []
    for _n in range(size):
        free = [k for k in range(1, 9) if (k,) not in live]
        op = rnd.choice("IUUDM")
        if op == "I" and free:
            row = (rnd.choice(free), rnd.randint(0, 9), rnd.randint(0, 9))
            live[(row[0],)] = row
            items.append(ins(row))
        elif op in "UM" and live:
            key = rnd.choice(sorted(live))
            target = rnd.choice(free) if op == "M" and free else key[0]
            row = (target if op == "M" else rnd.choice([target, _]),
                   rnd.choice([rnd.randint(0, 9), _]), rnd.choice([rnd.randint(0, 9), _]))
            old = live.pop(key)
            live[(target,)] = tuple(o if v is _ else v for o, v in zip(old, row, strict=True))
            items.append(upd(key, row))
        elif op == "D" and live:
            key = rnd.choice(sorted(live))
            del live[key]
            items.append(dele(key))
    return items


def test_it_nets_random_windows_to_the_same_rows_as_applying_them_one_by_one():
    import random

    rnd = random.Random(7)
    netted_away = passed_through = 0
    for _round in range(3000):
        start = {(k,): (k, rnd.randint(0, 9), rnd.randint(0, 9)) for k in range(1, 9) if rnd.random() < 0.5}
        window = _random_window(rnd, start, rnd.randint(0, 12))
        out = net(window)
        assert _apply(start, out) == _apply(start, window), (start, show(window), show(out))
        netted_away += len(window) - len(out)
        passed_through += len(window) > 1 and out == window
    # changes netted away, and windows that came out as they went in (nothing to net, or a key moved
    # with unsent values): fixed by the seed
    assert (netted_away, passed_through) == (2859, 1308)


def _cut(window_runs) -> list[tuple]:
    return [(r.route.key, r.op, r.changes) for r in window_runs]


def test_its_runs_are_the_runs_of_its_items_and_only_netted_update_runs_are_marked_distinct():
    """The writer applies net_runs() as they come, and skips cutting a `distinct` run: its runs must be
    what cutting the netted items would give, and a run marked distinct must hold no two changes of a
    row and no key move (else one set statement would apply it wrongly)."""
    import random

    rnd = random.Random(11)
    marked = 0
    for _round in range(3000):
        start = {(k,): (k, rnd.randint(0, 9), rnd.randint(0, 9)) for k in range(1, 9) if rnd.random() < 0.5}
        window = _random_window(rnd, start, rnd.randint(0, 12))
        if rnd.random() < 0.3:
            window = window + [upd((k,), (k, rnd.randint(0, 9), _), route("u")) for k in range(1, 4)]
        cut = net_runs(window)
        assert _cut(cut) == _cut(runs(net(window))), show(window)
        for run in cut:
            if run.distinct:
                marked += 1
                assert run.op is Op.UPDATE
                keys = [c.key for c in run.changes]
                assert len(set(keys)) == len(keys)
                assert all(c.row[0] is _ or (c.row[0],) == c.key for c in run.changes)
    assert marked > 1000


def test_a_window_it_cannot_net_is_cut_as_it_came_and_not_marked_distinct():
    window = [upd((1,), (2, 11, _)), upd((2,), (2, 12, 5)), upd((3,), (3, 1, 1))]  # a key moved, image incomplete
    cut = net_runs(window)
    assert _cut(cut) == _cut(runs(window))
    assert not any(run.distinct for run in cut)
