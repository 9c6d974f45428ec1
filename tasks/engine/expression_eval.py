"""Evaluating add-column expression trees with SQLite's semantics.

Values are SQLite's storage classes: None (NULL), int (64-bit INTEGER), float (REAL),
str (TEXT) and bytes (BLOB). Row values arrive in the engine's canonical forms and are
first brought to those classes the way SQLite would hold them (Decimal -> INTEGER or
REAL, dates -> ISO text, bool -> 0/1). Then SQLite's rules hold: NULL propagates
through operators and most functions, `||` with NULL is NULL, integer division
truncates, division by zero is NULL, AND/OR use three-valued logic, and comparisons
apply column affinity (a $COLUMN holding a number compares numerically with '10').
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from fractions import Fraction
from typing import Any

from endpoints.engines.plan import Expression

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_NUMERIC_PREFIX = re.compile(r"\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)")
_WHOLE_NUMBER = re.compile(r"\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\s*")
_ASCII_UPPER = str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


class ExpressionError(ValueError):
    """A problem with an expression, worded for the person who wrote it."""


def evaluate(expression: Expression, row: Mapping[str, object], meta: Mapping[str, str], *,
             now: dt.datetime | None = None) -> object:
    """The expression's value for one row. `row` maps source column names to values; `meta`
    holds AR_M_SOURCE_SCHEMA and AR_M_SOURCE_TABLE_NAME; `now` fixes datetime('now') (UTC)."""
    return _Evaluator(row, meta, now).value(expression.ast)


# ---- storage classes ------------------------------------------------------------------------


def sqlite_value(value: object) -> Any:
    """A canonical engine value as SQLite would store it."""
    if value is None or isinstance(value, str | float):
        return value
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value if _INT64_MIN <= value <= _INT64_MAX else float(value)
    if isinstance(value, Decimal):
        if value == value.to_integral_value() and _INT64_MIN <= value <= _INT64_MAX:
            return int(value)
        return float(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


def real_text(value: float) -> str:
    """A REAL as SQLite prints it (15 significant digits, always with a decimal point)."""
    if math.isinf(value):
        return "Inf" if value > 0 else "-Inf"
    text = f"{value + 0.0:.15g}" if value else "0"  # SQLite prints -0.0 as 0.0
    if "e" in text:
        mantissa, exponent = text.split("e")
        return (mantissa if "." in mantissa else mantissa + ".0") + "e" + exponent
    return text if "." in text else text + ".0"


def to_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return real_text(value)
    return bytes(value).decode("utf-8", "replace")


def to_number(value: Any) -> int | float:
    """A value used in arithmetic: text and blobs read their leading number, else 0."""
    if isinstance(value, int | float):
        return value
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
    match = _NUMERIC_PREFIX.match(text)
    if match is None:
        return 0
    return _number_from_text(match.group(1))


def _number_from_text(text: str) -> int | float:
    if any(c in text for c in ".eE"):
        return float(text)
    number = int(text)
    return number if _INT64_MIN <= number <= _INT64_MAX else float(number)


def _int_value(value: Any) -> int:
    """sqlite3_value_int64: reals truncate toward zero, text reads its leading number."""
    number = to_number(value)
    if isinstance(number, float):
        if math.isnan(number):
            return 0
        return max(_INT64_MIN, min(_INT64_MAX, int(number)))
    return number


def _truth(value: Any) -> bool | None:
    return None if value is None else to_number(value) != 0


# ---- comparisons ----------------------------------------------------------------------------


def _affinity(node: Any, value: Any) -> str | None:
    # Only a column reference carries an affinity; it follows what the column holds.
    if node[0] != "col" or value is None:
        return None
    if isinstance(value, int | float):
        return "numeric"
    return "text" if isinstance(value, str) else "blob"


def _numeric_affinity(value: Any) -> Any:
    if isinstance(value, str) and _WHOLE_NUMBER.fullmatch(value):
        return _number_from_text(value.strip())
    return value


def _rank(value: Any) -> int:
    return 0 if isinstance(value, int | float) else 1 if isinstance(value, str) else 2


def compare_values(left: Any, right: Any) -> int:
    """SQLite's ordering of two non-NULL values: numbers < text < blobs."""
    left_rank, right_rank = _rank(left), _rank(right)
    if left_rank != right_rank:
        return -1 if left_rank < right_rank else 1
    return (left > right) - (left < right)


_COMPARE: dict[str, Callable[[int], bool]] = {
    "=": lambda c: c == 0, "!=": lambda c: c != 0, "<": lambda c: c < 0,
    "<=": lambda c: c <= 0, ">": lambda c: c > 0, ">=": lambda c: c >= 0,
}


# ---- arithmetic -----------------------------------------------------------------------------


def _integer_or_real(exact: int, approximate: Callable[[], float]) -> int | float:
    return exact if _INT64_MIN <= exact <= _INT64_MAX else approximate()


def _arithmetic(op: str, left: Any, right: Any) -> Any:
    if left is None or right is None:
        return None
    a, b = to_number(left), to_number(right)
    both_int = isinstance(a, int) and isinstance(b, int)
    if op == "/":
        return _divide(a, b, both_int)
    if op == "%":
        return _remainder(a, b, both_int)
    if both_int:
        exact = a + b if op == "+" else a - b if op == "-" else a * b
        return _integer_or_real(exact, lambda: _real_op(op, float(a), float(b)))
    return _real_op(op, float(a), float(b))


def _real_op(op: str, a: float, b: float) -> float | None:
    result = a + b if op == "+" else a - b if op == "-" else a * b
    return None if math.isnan(result) else result


def _divide(a: int | float, b: int | float, both_int: bool) -> Any:
    if b == 0:
        return None
    if both_int:
        quotient = abs(a) // abs(b)
        exact = quotient if (a < 0) == (b < 0) else -quotient
        return _integer_or_real(exact, lambda: float(a) / float(b))
    result = float(a) / float(b)
    return None if math.isnan(result) else result


def _remainder(a: int | float, b: int | float, both_int: bool) -> Any:
    # SQLite: remainder of the operands taken as integers; the sign follows the dividend.
    dividend, divisor = (a, b) if both_int else (_int_value(a), _int_value(b))
    if divisor == 0:
        return None
    magnitude = abs(dividend) % abs(divisor)
    result = -magnitude if dividend < 0 else magnitude
    return result if both_int else float(result)


def _negate(value: Any) -> Any:
    if value is None:
        return None
    number = to_number(value)
    if isinstance(number, int):
        return _integer_or_real(-number, lambda: -float(number))
    return -number


# ---- functions ------------------------------------------------------------------------------


def _substr(text: Any, start: Any, length: Any = ...) -> Any:
    if text is None or start is None or length is None:
        return None
    subject: str | bytes = text if isinstance(text, bytes) else to_text(text)
    size = len(subject)
    p1 = _int_value(start)
    negative = False
    if length is ...:
        p2 = size + abs(p1) + 1  # "to the end", whatever p1 is
    else:
        p2 = _int_value(length)
        if p2 < 0:
            p2, negative = -p2, True
    if p1 < 0:
        p1 += size
        if p1 < 0:
            p2 = max(p2 + p1, 0)
            p1 = 0
    elif p1 > 0:
        p1 -= 1
    elif p2 > 0:
        p2 -= 1
    if negative:
        p1 -= p2
        if p1 < 0:
            p2 += p1
            p1 = 0
    return subject[p1:p1 + max(p2, 0)]


def _trim(kind: str) -> Callable[..., Any]:
    def trim(value: Any, characters: Any = " ") -> Any:
        if value is None or characters is None:
            return None
        text, chars = to_text(value), to_text(characters)
        return text.strip(chars) if kind == "both" else text.lstrip(chars) if kind == "left" else text.rstrip(chars)

    return trim


def _length(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, bytes):
        return len(value)
    return len(to_text(value).split("\0", 1)[0])


def _replace(value: Any, old: Any, new: Any) -> Any:
    if value is None or old is None or new is None:
        return None
    pattern = to_text(old)
    return value if pattern == "" else to_text(value).replace(pattern, to_text(new))


def _abs(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, int):
        return _integer_or_real(abs(value), lambda: float(abs(value)))
    return abs(float(to_number(value)))


def _round(value: Any, digits: Any = 0) -> Any:
    if value is None or digits is None:
        return None
    number = float(to_number(value))
    places = max(0, min(30, _int_value(digits)))
    if places == 0 and abs(number) < _INT64_MAX - 1:
        # SQLite adds 0.5 in double precision and truncates; keep that exact arithmetic.
        return float(int(number + 0.5)) if number >= 0 else -float(int(-number + 0.5))
    if math.isinf(number) or math.isnan(number) or number == 0:
        return number
    return _printf_round(number, places)


def _printf_round(number: float, places: int) -> float:
    """round() for places > 0 the way SQLite does it: print with %.Nf, read back.

    SQLite's printf adds half a unit of the last place plus a nudge of 3e-16 times the
    value (so 2.675 prints as 2.68), then writes at most 16 significant digits,
    truncating the rest. Exact fractions stand in for its long double arithmetic, so a
    result may differ from SQLite's in the 16th or 17th significant digit, never before.
    """
    magnitude = Fraction(abs(number))
    binary_exponent = math.frexp(abs(number))[1] - 1
    rounder = Fraction(5, 10 ** (places + 1))
    if places + int(binary_exponent / 3) < 15:
        rounder += magnitude * Fraction(3, 10**16)
    magnitude += rounder
    decimals = min(places, 15 - _decimal_exponent(magnitude))
    scale = Fraction(10) ** decimals
    truncated = Fraction(math.floor(magnitude * scale)) / scale
    return -float(truncated) if number < 0 else float(truncated)


def _decimal_exponent(value: Fraction) -> int:
    """floor(log10(value)) for a positive fraction, exactly."""
    exponent = math.floor(math.log10(value))
    while Fraction(10) ** exponent > value:
        exponent -= 1
    while Fraction(10) ** (exponent + 1) <= value:
        exponent += 1
    return exponent


def _instr(haystack: Any, needle: Any) -> Any:
    if haystack is None or needle is None:
        return None
    if isinstance(haystack, bytes) and isinstance(needle, bytes):
        return haystack.find(needle) + 1
    return to_text(haystack).find(to_text(needle)) + 1


def _nullif(left: Any, right: Any) -> Any:
    if left is not None and right is not None and compare_values(left, right) == 0:
        return None
    return left


def _coalesce(*values: Any) -> Any:
    return next((v for v in values if v is not None), None)


def _case(translation: dict[int, str]) -> Callable[[Any], Any]:
    # SQLite's upper()/lower() change ASCII letters only.
    return lambda value: None if value is None else to_text(value).translate(translation)


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "abs": _abs, "coalesce": _coalesce, "ifnull": _coalesce, "instr": _instr, "length": _length,
    "lower": _case(_ASCII_LOWER), "upper": _case(_ASCII_UPPER), "ltrim": _trim("left"), "rtrim": _trim("right"),
    "trim": _trim("both"), "nullif": _nullif, "replace": _replace, "round": _round, "substr": _substr,
}


# ---- the walk -------------------------------------------------------------------------------


class _Evaluator:
    def __init__(self, row: Mapping[str, object], meta: Mapping[str, str], now: dt.datetime | None):
        self.row = row
        self.meta = meta
        self.now = now

    def value(self, node: Any) -> Any:
        return getattr(self, "_" + node[0])(node)

    def _lit(self, node: Any) -> Any:
        return node[1]

    def _col(self, node: Any) -> Any:
        try:
            return sqlite_value(self.row[node[1]])
        except KeyError:
            raise ExpressionError(f"the row has no column {node[1]!r} for ${node[1]}") from None

    def _meta(self, node: Any) -> Any:
        return self.meta.get(node[1])

    def _neg(self, node: Any) -> Any:
        return _negate(self.value(node[1]))

    def _pos(self, node: Any) -> Any:
        return self.value(node[1])  # SQLite's unary + changes nothing, not even text

    def _not(self, node: Any) -> Any:
        truth = _truth(self.value(node[1]))
        return None if truth is None else int(not truth)

    def _and(self, node: Any) -> Any:
        left, right = _truth(self.value(node[1])), _truth(self.value(node[2]))
        if left is False or right is False:
            return 0
        return None if left is None or right is None else 1

    def _or(self, node: Any) -> Any:
        left, right = _truth(self.value(node[1])), _truth(self.value(node[2]))
        if left is True or right is True:
            return 1
        return None if left is None or right is None else 0

    def _isnull(self, node: Any) -> Any:
        is_null = self.value(node[1]) is None
        return int(is_null != node[2])

    def _bin(self, node: Any) -> Any:
        op, left_node, right_node = node[1], node[2], node[3]
        left, right = self.value(left_node), self.value(right_node)
        if op == "||":
            return None if left is None or right is None else to_text(left) + to_text(right)
        if op in _COMPARE:
            return self._compare(op, left_node, left, right_node, right)
        return _arithmetic(op, left, right)

    def _compare(self, op: str, left_node: Any, left: Any, right_node: Any, right: Any) -> Any:
        if left is None or right is None:
            return None
        left_affinity, right_affinity = _affinity(left_node, left), _affinity(right_node, right)
        if left_affinity == "numeric" and right_affinity != "numeric":
            right = _numeric_affinity(right)
        elif right_affinity == "numeric" and left_affinity != "numeric":
            left = _numeric_affinity(left)
        elif left_affinity == "text" and right_affinity is None and isinstance(right, int | float):
            right = to_text(right)
        elif right_affinity == "text" and left_affinity is None and isinstance(left, int | float):
            left = to_text(left)
        return int(_COMPARE[op](compare_values(left, right)))

    def _case(self, node: Any) -> Any:
        _, base_node, branches, default = node
        base = self.value(base_node) if base_node is not None else None
        for condition, result in branches:
            if base_node is None:
                hit = _truth(self.value(condition))
            else:
                hit = bool(self._compare("=", base_node, base, condition, self.value(condition)))
            if hit:
                return self.value(result)
        return None if default is None else self.value(default)

    def _call(self, node: Any) -> Any:
        name, args = node[1], node[2]
        if name in ("date", "datetime"):
            now = self.now or dt.datetime.now(dt.UTC)
            return now.strftime("%Y-%m-%d" if name == "date" else "%Y-%m-%d %H:%M:%S")
        return FUNCTIONS[name](*(self.value(arg) for arg in args))
