"""Identifier quoting and statement splitting: the only places SQL text is assembled from names."""

from __future__ import annotations

from collections.abc import Iterable


def quote(name: str) -> str:
    """A MySQL identifier in backticks, embedded backticks doubled.

    '%' is doubled too, because PyMySQL %-formats statement text: statements holding quoted
    names are therefore always executed with a parameter tuple (possibly empty)."""
    if "\x00" in name:
        raise ValueError(f"identifier {name!r} contains a NUL character")
    return "`" + name.replace("`", "``").replace("%", "%%") + "`"


def qualified(schema: str, table: str) -> str:
    return f"{quote(schema)}.{quote(table)}"


def column_list(names: Iterable[str]) -> str:
    return ", ".join(quote(n) for n in names)


def split_statements(script: str) -> list[str]:
    """Split a script on semicolons outside quotes and comments (for afterConnectScript/initstmt,
    which DMS accepts as several statements; multi-statement mode stays off on our connections)."""
    statements: list[str] = []
    current: list[str] = []
    i, n = 0, len(script)
    while i < n:
        ch = script[i]
        if ch in "'\"`":
            end = _quoted_end(script, i)
            current.append(script[i:end])
            i = end
            continue
        if script.startswith("--", i) or ch == "#":
            end = script.find("\n", i)
            i = n if end < 0 else end
            continue
        if script.startswith("/*", i):
            end = script.find("*/", i + 2)
            i = n if end < 0 else end + 2
            continue
        if ch == ";":
            statements.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    statements.append("".join(current))
    return [s.strip() for s in statements if s.strip()]


def _quoted_end(script: str, start: int) -> int:
    """Index just past the quoted token that starts at `start` (doubled quotes and backslashes kept)."""
    quote_char = script[start]
    i = start + 1
    while i < len(script):
        ch = script[i]
        if ch == "\\" and quote_char != "`":
            i += 2
            continue
        if ch == quote_char:
            if script.startswith(quote_char * 2, i):
                i += 2
                continue
            return i + 1
        i += 1
    return len(script)


def select_from(expressions: str, schema: str, table: str, where: str = "", *, partition: str | None = None) -> str:
    """SELECT <expressions> FROM `schema`.`table` [PARTITION (`p`)] <where>: expressions and where
    are built from quoted names and %s placeholders only."""
    source = qualified(schema, table) + (f" PARTITION ({quote(partition)})" if partition else "")
    return f"SELECT {expressions} FROM {source}{where}"  # noqa: S608 - names quoted
