"""DMS name patterns for object locators, compiled once into a matcher.

The syntax (case-sensitive, like DMS selection names):

    %        any run of characters, possibly empty
    _        exactly one character
    [...]    one character of a class: `[ab]` lists characters, `[a-d]` is a range,
             `[_]` is a literal underscore; `%` and `_` inside a class are literal
    other    the character itself

A `[` starts a class only when a `]` follows with at least one character between
(so a `]` right after `[` is a member); otherwise it is a literal `[`. Inside a class,
`x-y` is a range when x <= y; a `-` that cannot form such a range (first, last, or an
inverted pair) is a literal `-`.
DMS documents no negation (`[^a]`), so `^` is an ordinary member.

Places that need an exact name (explicit selection, table-settings, define-primary-key)
reject `%` and compare names literally: an underscore there is just an underscore.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class NamePattern:
    text: str
    literal: bool  # no wildcard at all: matching is plain equality
    _regex: re.Pattern[str] | None = None

    def matches(self, name: str) -> bool:
        if self._regex is None:
            return name == self.text
        return self._regex.fullmatch(name) is not None


def has_percent(text: str) -> bool:
    """True when an exact-name field holds the `%` wildcard DMS forbids there."""
    return "%" in text


@lru_cache(maxsize=4096)
def compile_pattern(text: str) -> NamePattern:
    parts, wild = _translate(text)
    if not wild:
        return NamePattern(text, True)
    return NamePattern(text, False, re.compile("".join(parts), re.DOTALL))


def _translate(text: str) -> tuple[list[str], bool]:
    parts: list[str] = []
    wild = False
    i = 0
    while i < len(text):
        char = text[i]
        if char == "%":
            parts.append(".*")
            wild = True
        elif char == "_":
            parts.append(".")
            wild = True
        elif char == "[" and (end := _class_end(text, i)) is not None:
            parts.append(_class_regex(text[i + 1:end]))
            wild = True
            i = end
        else:
            parts.append(re.escape(char))
        i += 1
    return parts, wild


def _class_end(text: str, start: int) -> int | None:
    end = text.find("]", start + 2)  # at least one member between the brackets
    return None if end < 0 else end


def class_members(body: str) -> list[tuple[str, str]]:
    """The (low, high) character ranges of a class body; a single character is (c, c)."""
    members: list[tuple[str, str]] = []
    i = 0
    while i < len(body):
        if i + 2 < len(body) and body[i + 1] == "-" and body[i] <= body[i + 2]:
            members.append((body[i], body[i + 2]))
            i += 3
        else:
            members.append((body[i], body[i]))
            i += 1
    return members


def _class_regex(body: str) -> str:
    pieces = []
    for low, high in class_members(body):
        pieces.append(_escape_in_class(low) if low == high else f"{_escape_in_class(low)}-{_escape_in_class(high)}")
    return "[" + "".join(pieces) + "]"


def _escape_in_class(char: str) -> str:
    return "\\" + char if char in "\\]^-[" else char
