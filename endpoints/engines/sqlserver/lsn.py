"""SQL Server log sequence numbers: binary(10) <-> the text DMS and fn_dblog print.

An LSN is VLF sequence (4 bytes) : log block (4 bytes) : log record (2 bytes), big-endian,
so the 10 bytes read as one unsigned 80-bit integer order LSNs exactly as SQL Server
does. Text form: '00000014:00000061:0001' (hex, 8:8:4 digits); '0x00000014000000610001'
(how binary(10) prints) is read too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import EngineError, ErrorKind

_SIZE = 10
_MAX = (1 << (8 * _SIZE)) - 1
_COLON = re.compile(r"^([0-9A-Fa-f]{1,8}):([0-9A-Fa-f]{1,8}):([0-9A-Fa-f]{1,4})$")
_HEX = re.compile(r"^0[xX]([0-9A-Fa-f]{20})$")


@dataclass(frozen=True, order=True)
class Lsn:
    value: int

    @classmethod
    def from_bytes(cls, raw: bytes) -> Lsn:
        if len(raw) != _SIZE:
            raise ValueError(f"an LSN is {_SIZE} bytes, not {len(raw)}")
        return cls(int.from_bytes(raw, "big"))

    @classmethod
    def parse(cls, text: str) -> Lsn:
        """'00000014:00000061:0001' or '0x00000014000000610001'; anything else is a CONFIGURATION error."""
        stripped = text.strip()
        if match := _COLON.match(stripped):
            vlf, block, record = (int(part, 16) for part in match.groups())
            return cls((vlf << 48) | (block << 16) | record)
        if match := _HEX.match(stripped):
            return cls(int(match[1], 16))
        raise EngineError(f"{text!r} is not a SQL Server LSN: write it as DMS prints it, e.g. "
                          "00000014:00000061:0001 (or as binary, 0x00000014000000610001).",
                          kind=ErrorKind.CONFIGURATION)

    def to_bytes(self) -> bytes:
        return self.value.to_bytes(_SIZE, "big")

    @property
    def parts(self) -> tuple[int, int, int]:
        return self.value >> 48, (self.value >> 16) & 0xFFFFFFFF, self.value & 0xFFFF

    def __str__(self) -> str:
        vlf, block, record = self.parts
        return f"{vlf:08X}:{block:08X}:{record:04X}"

    def increment(self) -> Lsn:
        """The next LSN, as sys.fn_cdc_increment_lsn: nothing lies between the two, so an interval
        starting there continues one that ended at self without a gap or an overlap."""
        if self.value >= _MAX:
            raise ValueError("the highest LSN has no successor")
        return Lsn(self.value + 1)

    def decrement(self) -> Lsn:
        """The previous LSN, as sys.fn_cdc_decrement_lsn."""
        if self.value <= 0:
            raise ValueError("LSN 0 has no predecessor")
        return Lsn(self.value - 1)


ZERO = Lsn(0)
