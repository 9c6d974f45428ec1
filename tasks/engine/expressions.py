"""add-column expressions: the SQLite subset DMS documents, parsed into a tuple tree.

Supported: `$COLUMN` references, string/number literals, NULL, TRUE/FALSE, `||`,
`+ - * / %`, comparisons (`= == != <> < <= > >=`), AND/OR/NOT, `IS [NOT] NULL`,
`CASE [x] WHEN .. THEN .. [ELSE ..] END`, parentheses, the functions in FUNCTIONS,
and the metadata `$AR_M_SOURCE_SCHEMA` / `$AR_M_SOURCE_TABLE_NAME`. Anything else
(operation_indicator, `$AR_H_*` headers, LIKE, ...) is refused here, when the mapping
is validated, with a message saying what is supported.

The tree (`Expression.ast`) is made of tuples:

    ("lit", value)                    int, float, str or None
    ("col", name)                     a source column ($NAME)
    ("meta", name)                    AR_M_SOURCE_SCHEMA or AR_M_SOURCE_TABLE_NAME
    ("neg", e) ("pos", e) ("not", e)
    ("bin", op, left, right)          op: || * / % + - < <= > >= = !=
    ("and", l, r) ("or", l, r)
    ("isnull", e, negated)
    ("case", base | None, ((when, then), ...), else | None)
    ("call", name, (args, ...))       name lower-case
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from endpoints.engines.plan import Expression

from .expression_eval import ExpressionError, evaluate

__all__ = ["FUNCTIONS", "METADATA", "ExpressionError", "evaluate", "parse_expression"]


# name -> (least, most) arguments; None for most means any number.
FUNCTIONS: dict[str, tuple[int, int | None]] = {
    "abs": (1, 1), "coalesce": (2, None), "date": (1, 1), "datetime": (1, 1), "ifnull": (2, 2),
    "instr": (2, 2), "length": (1, 1), "lower": (1, 1), "ltrim": (1, 2), "nullif": (2, 2),
    "replace": (3, 3), "round": (1, 2), "rtrim": (1, 2), "substr": (2, 3), "trim": (1, 2), "upper": (1, 1),
}
METADATA = ("AR_M_SOURCE_SCHEMA", "AR_M_SOURCE_TABLE_NAME")
_KEYWORDS = {"AND", "OR", "NOT", "IS", "NULL", "CASE", "WHEN", "THEN", "ELSE", "END", "TRUE", "FALSE"}
_UNSUPPORTED_WORDS = {"LIKE", "GLOB", "REGEXP", "MATCH", "IN", "BETWEEN", "ESCAPE", "COLLATE", "CAST", "EXISTS",
                      "SELECT", "ISNULL", "NOTNULL"}
_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<num>(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<str>'(?:[^']|'')*')
  | (?P<col>\$[A-Za-z0-9_]+)
  | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>\|\||<=|>=|==|!=|<>|[-+*/%<>=(),])
""", re.VERBOSE)
_INT64 = 2**63


@dataclass(frozen=True)
class _Token:
    kind: str  # num, str, col, word, op, end
    text: str
    pos: int


def parse_expression(text: str) -> Expression:
    """Parse an add-column expression; raises ExpressionError saying what is wrong."""
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError("the expression is empty; write e.g. $FIRST_NAME||' '||$LAST_NAME")
    parser = _Parser(_tokenize(text))
    tree = parser.expression()
    parser.expect_end()
    return Expression(text=text, ast=tree, columns=tuple(dict.fromkeys(_columns(tree))))


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            raise ExpressionError(_bad_character(text, pos))
        kind = match.lastgroup or ""
        if kind != "space":
            tokens.append(_Token(kind, match.group(), pos))
        pos = match.end()
    tokens.append(_Token("end", "", len(text)))
    return tokens


def _bad_character(text: str, pos: int) -> str:
    char = text[pos]
    if char == "'":
        return f"the string starting at position {pos + 1} is not closed with '"
    if char == '"':
        return (f'double quotes at position {pos + 1}: write strings in single quotes (\'text\') and columns '
                f"as $NAME")
    if char == "$":
        return f"'$' at position {pos + 1} must be followed by a column name, e.g. $LAST_NAME"
    return f"unexpected character {char!r} at position {pos + 1}"


class _Parser:
    def __init__(self, tokens: list[_Token]):
        self.tokens = tokens
        self.index = 0

    # -- token helpers ----------------------------------------------------------------------------
    @property
    def token(self) -> _Token:
        return self.tokens[self.index]

    def _next(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def _at_word(self, *words: str) -> bool:
        return self.token.kind == "word" and self.token.text.upper() in words

    def _at_op(self, *ops: str) -> bool:
        return self.token.kind == "op" and self.token.text in ops

    def _expect_word(self, word: str) -> None:
        if not self._at_word(word):
            raise ExpressionError(f"expected {word} {self._where()}")
        self._next()

    def _expect_op(self, op: str) -> None:
        if not self._at_op(op):
            raise ExpressionError(f"expected {op!r} {self._where()}")
        self._next()

    def _where(self) -> str:
        token = self.token
        if token.kind == "end":
            return "at the end of the expression"
        return f"at position {token.pos + 1}, found {token.text!r}"

    def expect_end(self) -> None:
        if self.token.kind != "end":
            self._refuse_word()
            raise ExpressionError(f"unexpected {self.token.text!r} at position {self.token.pos + 1}")

    def _refuse_word(self) -> None:
        if self.token.kind == "word" and self.token.text.upper() in _UNSUPPORTED_WORDS:
            raise ExpressionError(f"{self.token.text.upper()} is not supported in add-column expressions; supported: "
                                  "||, + - * / %, comparisons, AND, OR, NOT, IS [NOT] NULL, CASE and the functions "
                                  + ", ".join(sorted(FUNCTIONS)))

    # -- grammar, lowest precedence first ---------------------------------------------------------
    def expression(self) -> Any:
        left = self._and()
        while self._at_word("OR"):
            self._next()
            left = ("or", left, self._and())
        return left

    def _and(self) -> Any:
        left = self._not()
        while self._at_word("AND"):
            self._next()
            left = ("and", left, self._not())
        return left

    def _not(self) -> Any:
        if self._at_word("NOT"):
            self._next()
            return ("not", self._not())
        return self._equality()

    def _equality(self) -> Any:
        left = self._comparison()
        while True:
            if self._at_op("=", "==", "!=", "<>"):
                op = "=" if self._next().text in ("=", "==") else "!="
                left = ("bin", op, left, self._comparison())
            elif self._at_word("IS"):
                self._next()
                negated = self._at_word("NOT")
                if negated:
                    self._next()
                if not self._at_word("NULL"):
                    raise ExpressionError(f"only IS NULL and IS NOT NULL are supported {self._where()}")
                self._next()
                left = ("isnull", left, negated)
            else:
                self._refuse_word()
                return left

    def _comparison(self) -> Any:
        left = self._additive()
        while self._at_op("<", "<=", ">", ">="):
            op = self._next().text
            left = ("bin", op, left, self._additive())
        return left

    def _additive(self) -> Any:
        left = self._multiplicative()
        while self._at_op("+", "-"):
            op = self._next().text
            left = ("bin", op, left, self._multiplicative())
        return left

    def _multiplicative(self) -> Any:
        left = self._concat()
        while self._at_op("*", "/", "%"):
            op = self._next().text
            left = ("bin", op, left, self._concat())
        return left

    def _concat(self) -> Any:
        left = self._unary()
        while self._at_op("||"):
            self._next()
            left = ("bin", "||", left, self._unary())
        return left

    def _unary(self) -> Any:
        if self._at_op("-"):
            self._next()
            operand = self._unary()
            if operand[0] == "lit" and isinstance(operand[1], int | float) and not isinstance(operand[1], bool):
                return ("lit", _number(-operand[1]))
            return ("neg", operand)
        if self._at_op("+"):
            self._next()
            return ("pos", self._unary())
        return self._primary()

    def _primary(self) -> Any:
        token = self.token
        if token.kind == "num":
            self._next()
            return ("lit", _parse_number(token.text))
        if token.kind == "str":
            self._next()
            return ("lit", token.text[1:-1].replace("''", "'"))
        if token.kind == "col":
            self._next()
            return _reference(token.text[1:])
        if self._at_op("("):
            self._next()
            inner = self.expression()
            self._expect_op(")")
            return inner
        if token.kind == "word":
            return self._word()
        raise ExpressionError(f"expected a value {self._where()}")

    def _word(self) -> Any:
        token = self._next()
        upper = token.text.upper()
        if upper == "NULL":
            return ("lit", None)
        if upper in ("TRUE", "FALSE"):
            return ("lit", 1 if upper == "TRUE" else 0)
        if upper == "CASE":
            return self._case()
        if upper in _KEYWORDS or upper in _UNSUPPORTED_WORDS:
            self.index -= 1
            self._refuse_word()
            raise ExpressionError(f"unexpected {token.text} at position {token.pos + 1}")
        if self._at_op("("):
            return self._call(token)
        raise ExpressionError(f"{token.text!r} at position {token.pos + 1} is not a value: refer to a column as "
                              f"${token.text}, write text in single quotes ('{token.text}')")

    def _case(self) -> Any:
        if self._at_word("END"):
            raise ExpressionError(f"CASE needs at least one WHEN ... THEN ... {self._where()}")
        base = None if self._at_word("WHEN") else self.expression()
        branches = []
        while self._at_word("WHEN"):
            self._next()
            condition = self.expression()
            self._expect_word("THEN")
            branches.append((condition, self.expression()))
        if not branches:
            raise ExpressionError(f"CASE needs at least one WHEN ... THEN ... {self._where()}")
        default = None
        if self._at_word("ELSE"):
            self._next()
            default = self.expression()
        self._expect_word("END")
        return ("case", base, tuple(branches), default)

    def _call(self, name_token: _Token) -> Any:
        name = name_token.text.lower()
        _check_function(name, name_token.pos)
        self._expect_op("(")
        args: list[Any] = []
        if not self._at_op(")"):
            args.append(self.expression())
            while self._at_op(","):
                self._next()
                args.append(self.expression())
        self._expect_op(")")
        _check_arguments(name, args)
        return ("call", name, tuple(args))


def _parse_number(text: str) -> int | float:
    if any(c in text for c in ".eE"):
        return float(text)
    value = int(text)
    return value if value < _INT64 else float(value)  # SQLite reads too-large integers as reals


def _number(value: int | float) -> int | float:
    if isinstance(value, int) and not -_INT64 <= value < _INT64:
        return float(value)
    return value


def _reference(name: str) -> Any:
    if name in METADATA:
        return ("meta", name)
    if name.startswith("AR_H_"):
        raise ExpressionError(f"${name} is a change-header column, which is not supported: this engine does not "
                              f"expose DMS headers; supported metadata: $AR_M_SOURCE_SCHEMA, $AR_M_SOURCE_TABLE_NAME")
    if name.startswith("AR_M_"):
        raise ExpressionError(f"${name} is not supported in add-column expressions; supported metadata: "
                              f"$AR_M_SOURCE_SCHEMA, $AR_M_SOURCE_TABLE_NAME")
    return ("col", name)


def _check_function(name: str, pos: int) -> None:
    if name == "operation_indicator":
        raise ExpressionError("operation_indicator() is not supported: this engine applies deletes and updates to "
                              "the target instead of flagging rows")
    if name not in FUNCTIONS:
        raise ExpressionError(f"function {name}() at position {pos + 1} is not supported; supported: "
                              + ", ".join(f"{f}()" for f in sorted(FUNCTIONS)))


def _check_arguments(name: str, args: list[Any]) -> None:
    least, most = FUNCTIONS[name]
    if len(args) < least or (most is not None and len(args) > most):
        wanted = str(least) if least == most else (f"{least} or more" if most is None else f"{least} to {most}")
        raise ExpressionError(f"{name}() takes {wanted} argument{'s' if wanted != '1' else ''}, got {len(args)}")
    if name in ("date", "datetime") and args[0] != ("lit", "now"):
        raise ExpressionError(f"{name}() is supported only as {name}('now') (the current UTC time)")


def _columns(tree: Any) -> list[str]:
    """Column names in order of appearance; walks nodes and the tuples that group them (CASE, calls)."""
    if not isinstance(tree, tuple) or not tree:
        return []
    if tree[0] == "col":
        return [tree[1]]
    parts = tree[1:] if isinstance(tree[0], str) else tree
    found: list[str] = []
    for part in parts:
        found.extend(_columns(part))
    return found
