"""T-SQL text helpers: identifiers in [brackets], string literals, parameter lists.

Every name that reaches a statement (schema, table, column, capture instance) goes
through `quote`; string values that cannot be parameters (inside EXEC, OBJECT_ID)
go through `literal`. Nothing from a user or a source is pasted raw.
"""

from __future__ import annotations

from collections.abc import Iterable


def quote(name: str) -> str:
    """[name] with ']' doubled, as SQL Server's QUOTENAME does."""
    if "\x00" in name:
        raise ValueError(f"{name!r} holds a NUL character and cannot be an SQL Server identifier")
    return "[" + name.replace("]", "]]") + "]"


def qualified(schema: str, table: str) -> str:
    return f"{quote(schema)}.{quote(table)}"


def literal(text: str) -> str:
    """N'text' with quotes doubled: a Unicode string literal."""
    if "\x00" in text:
        raise ValueError(f"{text!r} holds a NUL character and cannot be an SQL Server string literal")
    return "N'" + text.replace("'", "''") + "'"


def column_list(names: Iterable[str]) -> str:
    return ", ".join(quote(n) for n in names)


def placeholders(count: int) -> str:
    return ", ".join("?" * count)
