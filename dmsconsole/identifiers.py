"""DMS resource identifiers: 1-N ASCII letters, digits and hyphens, starting with a letter,
with no trailing hyphen and no two hyphens in a row (endpoints and tasks: 255, instances: 63)."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError

_ALLOWED = re.compile(r"[A-Za-z0-9-]*")


def identifier_problems(value: str, max_length: int) -> list[str]:
    problems: list[str] = []
    if not value:
        return ["It must not be empty."]
    if len(value) > max_length:
        problems.append(f"It must be at most {max_length} characters long (it has {len(value)}).")
    if not _ALLOWED.fullmatch(value):
        bad = sorted({c for c in value if not (c.isascii() and (c.isalnum() or c == "-"))})
        problems.append("It may contain only letters, digits and hyphens (not " + " ".join(repr(c) for c in bad) + ").")
    if not (value[0].isascii() and value[0].isalpha()):
        problems.append("It must start with a letter.")
    if value.endswith("-"):
        problems.append("It must not end with a hyphen.")
    if "--" in value:
        problems.append("It must not contain two hyphens in a row.")
    return problems


def validate_identifier(value: str, max_length: int) -> None:
    problems = identifier_problems(value, max_length)
    if problems:
        raise ValidationError(problems, code="invalid_identifier")
