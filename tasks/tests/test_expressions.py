"""add-column expressions: parsing, SQLite-semantics evaluation, and what is refused."""

from __future__ import annotations

import datetime as dt
import sqlite3
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tasks.engine.expressions import ExpressionError, evaluate, parse_expression

META = {"AR_M_SOURCE_SCHEMA": "hr", "AR_M_SOURCE_TABLE_NAME": "employees"}


def run(text: str, row: dict | None = None, **kwargs) -> object:
    return evaluate(parse_expression(text), row or {}, META, **kwargs)


# ---- parsing --------------------------------------------------------------------------------


def test_it_parses_into_a_tuple_tree_and_lists_columns() -> None:
    expression = parse_expression("$FIRST_NAME||'_'||$LAST_NAME")
    assert expression.text == "$FIRST_NAME||'_'||$LAST_NAME"
    assert expression.ast == ("bin", "||", ("bin", "||", ("col", "FIRST_NAME"), ("lit", "_")), ("col", "LAST_NAME"))
    assert expression.columns == ("FIRST_NAME", "LAST_NAME")


def test_it_follows_sqlite_precedence() -> None:
    assert parse_expression("1 + 2 * 3").ast == ("bin", "+", ("lit", 1), ("bin", "*", ("lit", 2), ("lit", 3)))
    assert parse_expression("NOT $a = 1 AND $b OR $c").ast == (
        "or", ("and", ("not", ("bin", "=", ("col", "a"), ("lit", 1))), ("col", "b")), ("col", "c"))
    assert parse_expression("$a || $b * 2").ast == (
        "bin", "*", ("bin", "||", ("col", "a"), ("col", "b")), ("lit", 2))


def test_it_parses_case_calls_and_null_tests() -> None:
    expression = parse_expression("CASE WHEN $x IS NULL THEN upper($y) ELSE 'n' END")
    assert expression.ast == ("case", None, ((("isnull", ("col", "x"), False), ("call", "upper", (("col", "y"),))),),
                              ("lit", "n"))
    assert expression.columns == ("x", "y")


def test_it_lists_each_column_once_in_order_of_appearance() -> None:
    expression = parse_expression("coalesce($b, $a, $b) || CASE $c WHEN 1 THEN $a END")
    assert expression.columns == ("b", "a", "c")


def test_it_reads_keywords_and_function_names_in_any_case() -> None:
    assert parse_expression("case when $x is not null then Upper($x) end").columns == ("x",)


def test_it_keeps_metadata_apart_from_columns() -> None:
    expression = parse_expression("$AR_M_SOURCE_SCHEMA || '.' || $AR_M_SOURCE_TABLE_NAME")
    assert expression.columns == ()
    assert run("$AR_M_SOURCE_SCHEMA || '.' || $AR_M_SOURCE_TABLE_NAME") == "hr.employees"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the expression is empty; write e.g. $FIRST_NAME||' '||$LAST_NAME"),
        ("operation_indicator('D', 'U', 'I')",
         "operation_indicator() is not supported: this engine applies deletes and updates to the target instead "
         "of flagging rows"),
        ("$AR_H_STREAM_POSITION",
         "$AR_H_STREAM_POSITION is a change-header column, which is not supported: this engine does not expose DMS "
         "headers; supported metadata: $AR_M_SOURCE_SCHEMA, $AR_M_SOURCE_TABLE_NAME"),
        ("$AR_H_CHANGE_SEQ || 'x'",
         "$AR_H_CHANGE_SEQ is a change-header column, which is not supported: this engine does not expose DMS "
         "headers; supported metadata: $AR_M_SOURCE_SCHEMA, $AR_M_SOURCE_TABLE_NAME"),
        ("$AR_M_SOURCE_COLUMN_NAME",
         "$AR_M_SOURCE_COLUMN_NAME is not supported in add-column expressions; supported metadata: "
         "$AR_M_SOURCE_SCHEMA, $AR_M_SOURCE_TABLE_NAME"),
        ("hex($a)",
         "function hex() at position 1 is not supported; supported: abs(), coalesce(), date(), datetime(), "
         "ifnull(), instr(), length(), lower(), ltrim(), nullif(), replace(), round(), rtrim(), substr(), trim(), "
         "upper()"),
        ("$a LIKE 'x%'",
         "LIKE is not supported in add-column expressions; supported: ||, + - * / %, comparisons, AND, OR, NOT, "
         "IS [NOT] NULL, CASE and the functions abs, coalesce, date, datetime, ifnull, instr, length, lower, "
         "ltrim, nullif, replace, round, rtrim, substr, trim, upper"),
        ("$a IN (1, 2)",
         "IN is not supported in add-column expressions; supported: ||, + - * / %, comparisons, AND, OR, NOT, "
         "IS [NOT] NULL, CASE and the functions abs, coalesce, date, datetime, ifnull, instr, length, lower, "
         "ltrim, nullif, replace, round, rtrim, substr, trim, upper"),
        ("'open", "the string starting at position 1 is not closed with '"),
        ('"text"', "double quotes at position 1: write strings in single quotes ('text') and columns as $NAME"),
        ("$ || 'a'", "'$' at position 1 must be followed by a column name, e.g. $LAST_NAME"),
        ("FIRST_NAME || 'a'",
         "'FIRST_NAME' at position 1 is not a value: refer to a column as $FIRST_NAME, write text in single "
         "quotes ('FIRST_NAME')"),
        ("substr($a)", "substr() takes 2 to 3 arguments, got 1"),
        ("upper($a, $b)", "upper() takes 1 argument, got 2"),
        ("coalesce($a)", "coalesce() takes 2 or more arguments, got 1"),
        ("datetime('2020-01-01')", "datetime() is supported only as datetime('now') (the current UTC time)"),
        ("date($d, '+1 day')", "date() takes 1 argument, got 2"),
        ("($a + 1", "expected ')' at the end of the expression"),
        ("$a + ", "expected a value at the end of the expression"),
        ("$a $b", "unexpected '$b' at position 4"),
        ("0 + NOT 1", "unexpected NOT at position 5"),
        ("$a IS 5", "only IS NULL and IS NOT NULL are supported at position 7, found '5'"),
        ("CASE END", "CASE needs at least one WHEN ... THEN ... at position 6, found 'END'"),
        ("CASE WHEN 1 'a' END", "expected THEN at position 13, found \"'a'\""),
        ("1 ; 2", "unexpected character ';' at position 3"),
    ],
)
def test_it_refuses_what_is_not_supported_with_a_clear_message(text: str, message: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        parse_expression(text)
    assert str(caught.value) == message


# ---- evaluation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7 / 2", 3),
        ("-7 / 2", -3),
        ("7 / 2.0", 3.5),
        ("7 / 0", None),
        ("7.0 / 0", None),
        ("7 % 3", 1),
        ("-7 % 3", -1),
        ("7.5 % 2", 1.0),
        ("10 % 0", None),
        ("1 + '2'", 3),
        ("'12abc' + 1", 13),
        ("'abc' + 1", 1),
        ("0.1 + 0.2", 0.30000000000000004),
        ("9223372036854775807 + 1", 9.223372036854776e18),
        ("'a' || NULL", None),
        ("NULL || 'a'", None),
        ("1 || 2", "12"),
        ("1.0 || 'x'", "1.0x"),
        ("1e20 || ''", "1.0e+20"),
        ("(-0.0) || ''", "0.0"),
        ("(0.1 + 0.2) || ''", "0.3"),
        ("0.1 + 0.2 || ''", 0.30000000000000004),  # || binds tighter than +
        ("NULL + 1", None),
        ("-NULL", None),
        ("NULL AND 0", 0),
        ("NULL AND 1", None),
        ("NULL OR 1", 1),
        ("NULL OR 0", None),
        ("NOT NULL", None),
        ("NOT 0", 1),
        ("NOT 'abc'", 1),
        ("1 = 1.0", 1),
        ("'1' = 1", 0),
        ("'a' < 1", 0),
        ("NULL = NULL", None),
        ("NULL IS NULL", 1),
        ("1 IS NOT NULL", 1),
        ("TRUE AND FALSE", 0),
        ("CASE WHEN 0 THEN 'a' WHEN NULL THEN 'b' ELSE 'c' END", "c"),
        ("CASE 2 WHEN 1 THEN 'one' WHEN 2 THEN 'two' END", "two"),
        ("CASE 3 WHEN 1 THEN 'one' END", None),
        ("CASE NULL WHEN NULL THEN 1 ELSE 0 END", 0),
        ("upper('abcé')", "ABCé"),  # SQLite folds ASCII letters only
        ("lower('ABCÉ')", "abcÉ"),
        ("upper(NULL)", None),
        ("length('héllo')", 5),
        ("length(12.50)", 4),
        ("length(NULL)", None),
        ("substr('hello', 2)", "ello"),
        ("substr('hello', 2, 3)", "ell"),
        ("substr('hello', 0, 2)", "h"),
        ("substr('hello', -3)", "llo"),
        ("substr('hello', -3, 2)", "ll"),
        ("substr('hello', 3, -2)", "he"),
        ("substr('hello', -10, 8)", "hel"),
        ("substr(NULL, 1)", None),
        ("trim('  a  ')", "a"),
        ("ltrim('xxaxx', 'x')", "axx"),
        ("rtrim('xxaxx', 'x')", "xxa"),
        ("trim('abc', '')", "abc"),
        ("replace('aaa', 'a', 'bb')", "bbbbbb"),
        ("replace('abc', '', 'x')", "abc"),
        ("replace('abc', NULL, 'x')", None),
        ("ifnull(NULL, 'd')", "d"),
        ("coalesce(NULL, NULL, 3)", 3),
        ("coalesce(NULL, NULL)", None),
        ("nullif(1, 1)", None),
        ("nullif(1, '1')", 1),
        ("abs(-5)", 5),
        ("abs('-5')", 5.0),
        ("abs('x')", 0.0),
        ("round(2.5)", 3.0),
        ("round(-2.5)", -3.0),
        ("round(2.675, 2)", 2.68),
        ("round(1.005, 2)", 1.01),
        ("round('3.7')", 4.0),
        ("round(12345.678, -1)", 12346.0),
        ("round(NULL)", None),
        ("instr('hello', 'l')", 3),
        ("instr('hello', 'z')", 0),
        ("instr('abc', '')", 1),
        ("instr(NULL, 'a')", None),
        ("-'3'", -3),
        ("+'abc'", "abc"),
        ("- - 3", 3),
        ("(1 + 2) * 3", 9),
    ],
)
def test_it_evaluates_with_sqlite_semantics(text: str, expected: object) -> None:
    result = run(text)
    assert result == expected
    assert type(result) is type(expected)


def test_it_reads_column_values_as_sqlite_would_hold_them() -> None:
    row = {"price": Decimal("12.50"), "qty": Decimal("3"), "born": dt.date(1990, 5, 17), "active": True,
           "seen": dt.datetime(2024, 1, 2, 3, 4, 5), "name": "Ann", "blob": b"\x00ab", "nothing": None}
    assert run("$price * $qty", row) == 37.5
    assert run("$qty / 2", row) == 1  # an integral NUMERIC is an INTEGER
    assert run("$born || ''", row) == "1990-05-17"
    assert run("$seen || ''", row) == "2024-01-02 03:04:05"
    assert run("$active + 1", row) == 2
    assert run("length($blob)", row) == 3
    assert run("$name || ' ' || $nothing", row) is None
    assert run("upper($name)", row) == "ANN"


def test_it_compares_a_numeric_column_with_text_numerically() -> None:
    assert run("$n = '10'", {"n": 10}) == 1
    assert run("$n < '9'", {"n": 10}) == 0
    assert run("$t = 10", {"t": "10"}) == 1  # text column: the number becomes text
    assert run("$t < 9", {"t": "10"}) == 1  # compared as text: '10' < '9'


def test_it_gives_the_current_utc_time_for_now() -> None:
    now = dt.datetime(2025, 3, 4, 5, 6, 7)
    assert run("datetime('now')", now=now) == "2025-03-04 05:06:07"
    assert run("date('now')", now=now) == "2025-03-04"
    assert len(run("datetime('now')")) == 19


def test_it_says_which_column_a_row_lacks() -> None:
    with pytest.raises(ExpressionError, match=r"the row has no column 'b' for \$b"):
        run("$a || $b", {"a": "x"})


# ---- against SQLite itself ------------------------------------------------------------------

LITERALS = st.sampled_from(["0", "1", "2", "-3", "7", "2.5", "-0.5", "10.0", "NULL", "'a'", "'12'", "'3.5x'",
                            "''", "'Hello'", "$n", "$r", "$t", "$z"])
BINARY = ["+", "-", "*", "/", "%", "||", "=", "!=", "<", "<=", ">", ">=", "AND", "OR"]
CALLS = ["upper({0})", "lower({0})", "length({0})", "abs({0})", "round({0})", "round({0}, 1)", "trim({0})",
         "ifnull({0}, {1})", "coalesce({0}, {1})", "nullif({0}, {1})", "instr({0}, {1})", "substr({0}, {1})",
         "substr({0}, {1}, 2)", "replace({0}, {1}, 'x')", "(({0}) IS NULL)", "(NOT ({0}))", "-({0})",
         "CASE WHEN {0} THEN {1} ELSE 'e' END", "CASE {0} WHEN {1} THEN 'same' END"]


def expressions():
    return st.recursive(
        LITERALS,
        lambda inner: st.one_of(
            st.tuples(inner, st.sampled_from(BINARY), inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
            st.tuples(st.sampled_from(CALLS), inner, inner).map(lambda t: t[0].format(t[1], t[2])),
        ),
        max_leaves=6,
    )


@pytest.fixture(scope="module")
def sqlite_row():
    connection = sqlite3.connect(":memory:")
    connection.execute("CREATE TABLE r (n INTEGER, r REAL, t TEXT, z INTEGER)")
    connection.execute("INSERT INTO r VALUES (12, 2.5, '10', NULL)")
    yield connection
    connection.close()


@settings(max_examples=400, deadline=None)
@given(expressions())
def test_it_agrees_with_sqlite(sqlite_row, text: str) -> None:
    expected = sqlite_row.execute("SELECT " + text.replace("$", "") + " FROM r").fetchone()[0]
    result = run(text, {"n": 12, "r": 2.5, "t": "10", "z": None})
    assert result == expected and type(result) is type(expected), text
