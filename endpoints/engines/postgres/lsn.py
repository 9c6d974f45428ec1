"""PostgreSQL log sequence numbers: the text form 'X/Y' (as pg_current_wal_lsn() prints it) and integers."""

from __future__ import annotations

import re

from ..errors import EngineError, ErrorKind

_LSN = re.compile(r"^\s*([0-9A-Fa-f]{1,8})/([0-9A-Fa-f]{1,8})\s*$")


def parse_lsn(text: str) -> int:
    """'16/B374D848' -> 0x16B374D848. Raises EngineError naming the expected form."""
    high, slash, low = text.partition("/") if isinstance(text, str) else ("", "", "")
    digits = high + low
    if slash and 0 < len(high) <= 8 and 0 < len(low) <= 8 and digits.isascii() and digits.isalnum():
        try:  # the form the stream itself writes, on the apply path for every transaction: no regex
            return (int(high, 16) << 32) | int(low, 16)
        except ValueError:
            pass
    match = _LSN.match(text or "")
    if not match:
        raise EngineError(f"{text!r} is not a PostgreSQL log position: give an LSN such as 4AF/B00000D0 "
                          "(SELECT pg_current_wal_lsn() prints one).", kind=ErrorKind.CONFIGURATION)
    high, low = match.groups()
    return (int(high, 16) << 32) | int(low, 16)


def format_lsn(value: int) -> str:
    """0x16B374D848 -> '16/B374D848' (PostgreSQL's own spelling: upper case, no leading zeros)."""
    return "%X/%X" % (value >> 32, value & 0xFFFFFFFF)  # noqa: UP031 - faster than the f-string, per transaction


def is_lsn(text: str) -> bool:
    return bool(_LSN.match(text or ""))
