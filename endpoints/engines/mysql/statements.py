"""What a binary log Query event says: transaction control, DDL on which tables, or a statement-logged DML.

In ROW format row changes arrive as row events; Query events carry BEGIN/COMMIT/ROLLBACK, DDL
(ALTER, TRUNCATE, DROP, RENAME, CREATE ...) and, when some session logged in STATEMENT format,
DML text that row-based capture cannot turn into rows. Only the start of a statement is read:
enough to know its kind and the tables it names (qualified or in the event's default database).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    BEGIN = "begin"
    COMMIT = "commit"
    ROLLBACK = "rollback"
    CONTROL = "control"  # SAVEPOINT, ROLLBACK TO, XA ...: part of a transaction, nothing to capture
    ALTER = "alter"
    TRUNCATE = "truncate"
    DROP = "drop"
    RENAME = "rename"
    CREATE = "create"
    DML = "dml"  # INSERT/UPDATE/DELETE/REPLACE/LOAD logged as a statement
    OTHER = "other"


TableName = tuple[str | None, str]  # (schema or None for the default database, table)


@dataclass(frozen=True)
class Statement:
    kind: Kind
    tables: tuple[TableName, ...] = ()  # the tables the statement changes (RENAME: the old names)
    temporary: bool = False


# Tokens: ("word", text) for keywords and bare identifiers, ("id", text) for quoted identifiers,
# ("sym", char) for punctuation. Quoted strings are skipped; comments are dropped.
Token = tuple[str, str]
_WORD_EXTRA = set("_$")


def tokens(text: str, limit: int = 400) -> list[Token]:
    """The first `limit` tokens of a statement (enough for every prefix read here)."""
    out: list[Token] = []
    i, n = 0, len(text)
    while i < n and len(out) < limit:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif text.startswith("/*!", i) or text.startswith("/*M!", i):
            # executable comment: its body is code; skip the marker and version digits
            i += 3 if text[i + 2] == "!" else 4
            while i < n and text[i].isdigit():
                i += 1
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end < 0 else end + 2
        elif text.startswith("*/", i):
            i += 2  # the end of an executable comment
        elif ch == "#" or text.startswith("-- ", i):
            end = text.find("\n", i)
            i = n if end < 0 else end + 1
        elif ch in "`\"":
            j, parts = i + 1, []
            while j < n:
                if text[j] == ch:
                    if j + 1 < n and text[j + 1] == ch:
                        parts.append(ch)
                        j += 2
                        continue
                    break
                parts.append(text[j])
                j += 1
            out.append(("id", "".join(parts)))
            i = j + 1
        elif ch == "'":
            j = i + 1
            while j < n and text[j] != "'":
                j += 2 if text[j] == "\\" else 1
            i = j + 1
        elif ch.isalnum() or ch in _WORD_EXTRA or ord(ch) > 127:
            j = i
            while j < n and (text[j].isalnum() or text[j] in _WORD_EXTRA or ord(text[j]) > 127):
                j += 1
            out.append(("word", text[i:j]))
            i = j
        else:
            out.append(("sym", ch))
            i += 1
    return out


class _Reader:
    def __init__(self, toks: list[Token]):
        self.toks = toks
        self.i = 0

    def peek_word(self, offset: int = 0) -> str:
        k = self.i + offset
        if k < len(self.toks) and self.toks[k][0] == "word":
            return self.toks[k][1].upper()
        return ""

    def take(self, *words: str) -> bool:
        if self.peek_word() in words:
            self.i += 1
            return True
        return False

    def skip(self, *words: str) -> None:
        while self.take(*words):
            pass

    def sym(self, char: str) -> bool:
        if self.i < len(self.toks) and self.toks[self.i] == ("sym", char):
            self.i += 1
            return True
        return False

    def name(self) -> TableName | None:
        """[schema.]table at the cursor."""
        first = self._identifier()
        if first is None:
            return None
        if self.sym("."):
            second = self._identifier()
            return (first, second) if second is not None else None
        return (None, first)

    def names(self) -> tuple[TableName, ...]:
        found = []
        while True:
            name = self.name()
            if name is None:
                break
            found.append(name)
            if not self.sym(","):
                break
        return tuple(found)

    def _identifier(self) -> str | None:
        if self.i >= len(self.toks):
            return None
        kind, text = self.toks[self.i]
        if kind == "sym":
            return None
        self.i += 1
        return text


def parse(text: str) -> Statement:
    """The kind of a Query event's statement and the tables it changes."""
    r = _Reader(tokens(text))
    first = r.peek_word()
    if first in ("BEGIN", "COMMIT", "ROLLBACK"):
        if first == "ROLLBACK" and r.peek_word(1) == "TO":
            return Statement(Kind.CONTROL)
        if first == "BEGIN" and r.peek_word(1) in ("NOT", "ATOMIC"):
            return Statement(Kind.OTHER)  # a compound statement (stored program body), not a transaction start
        return Statement(Kind(first.lower()))
    if first == "START" and r.peek_word(1) == "TRANSACTION":
        return Statement(Kind.BEGIN)
    if first in ("SAVEPOINT", "RELEASE", "XA"):
        return Statement(Kind.CONTROL)
    r.i += 1
    if first == "ALTER":
        r.skip("ONLINE", "OFFLINE", "IGNORE")
        if r.take("TABLE"):
            r.skip("IF", "EXISTS")
            name = r.name()
            return Statement(Kind.ALTER, (name,) if name else ())
        return Statement(Kind.OTHER)
    if first == "TRUNCATE":
        r.take("TABLE")
        name = r.name()
        return Statement(Kind.TRUNCATE, (name,) if name else ())
    if first == "DROP":
        temporary = r.take("TEMPORARY")
        if r.take("TABLE", "TABLES"):
            r.skip("IF", "EXISTS")
            return Statement(Kind.DROP, r.names(), temporary=temporary)
        return Statement(Kind.OTHER)
    if first == "RENAME" and r.take("TABLE", "TABLES"):
        r.skip("IF", "EXISTS")
        olds = []
        while True:
            old = r.name()
            if old is None or not r.take("TO"):
                break
            olds.append(old)
            r.name()
            if not r.sym(","):
                break
        return Statement(Kind.RENAME, tuple(olds))
    if first == "CREATE":
        r.skip("OR", "REPLACE")
        temporary = r.take("TEMPORARY")
        if r.take("TABLE"):
            r.skip("IF", "NOT", "EXISTS")
            name = r.name()
            return Statement(Kind.CREATE, (name,) if name else (), temporary=temporary)
        return Statement(Kind.OTHER)
    return _dml(first, r)


def _dml(first: str, r: _Reader) -> Statement:
    if first in ("INSERT", "REPLACE"):
        r.skip("LOW_PRIORITY", "DELAYED", "HIGH_PRIORITY", "IGNORE", "INTO")
    elif first == "UPDATE":
        r.skip("LOW_PRIORITY", "IGNORE")
    elif first == "DELETE":
        r.skip("LOW_PRIORITY", "QUICK", "IGNORE")
        if not r.take("FROM"):
            # multi-table DELETE t1, t2 FROM ...: the named tables are the ones changed
            return Statement(Kind.DML, r.names())
    elif first == "LOAD":
        # LOAD DATA [LOCAL] INFILE 'file' [REPLACE|IGNORE] INTO TABLE name
        while r.i < len(r.toks) and not r.take("TABLE"):
            r.i += 1
    else:
        return Statement(Kind.OTHER)
    return Statement(Kind.DML, r.names())
