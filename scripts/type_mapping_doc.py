"""Render docs/type-mapping.md from the engines' own mapping tables.

    python scripts/type_mapping_doc.py          # rewrite the document
    python scripts/type_mapping_doc.py --check  # exit 1 if the document is stale (used by the tests)

The tables are data in each engine's typemap module (DOC_SOURCE_ROWS, DOC_TARGET_ROWS), so
the document cannot drift from what the code does.
"""

from __future__ import annotations

import sys
from importlib import import_module
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DOC = ROOT / "docs" / "type-mapping.md"
ENGINES = (("PostgreSQL", "postgres"), ("MySQL / MariaDB", "mysql"), ("SQL Server", "sqlserver"))

HEADER = """# Data type mapping

Every source column is mapped to an AWS DMS intermediate type, and every target column
type is made from one, following DMS's published tables (deviations are in the notes).
Homogeneous migrations (PostgreSQL to PostgreSQL, MySQL to MySQL, SQL Server to SQL
Server) keep the source's native type. A type that cannot be carried is reported in the
plan (`python -m tasks.engine plan`, the wizard's preview) before any data moves.

This file is generated from the code by `python scripts/type_mapping_doc.py`; a test
fails when it is out of date.
"""


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render() -> str:
    modules = {label: import_module(f"endpoints.engines.{name}.typemap") for label, name in ENGINES}
    lines = [HEADER, "## Source types to DMS types", "",
             "| Source engine | Source type | DMS type | Note |", "|---|---|---|---|"]
    for label, module in modules.items():
        for native, dms, note in module.DOC_SOURCE_ROWS:
            lines.append(f"| {label} | {_cell(native)} | {_cell(dms)} | {_cell(note)} |")
    lines += ["", "## DMS types to target types", "",
              "| DMS type | " + " | ".join(modules) + " |", "|---|" + "---|" * len(modules)]
    targets = {label: {} for label in modules}
    order: list[str] = []
    for label, module in modules.items():
        for dms, native, note in module.DOC_TARGET_ROWS:
            if dms not in order:
                order.append(dms)
            targets[label][dms] = native + (f" ({note})" if note else "")
    for dms in order:
        cells = [_cell(targets[label].get(dms, "not supported")) for label in modules]
        lines.append(f"| {dms} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> int:
    text = render()
    if "--check" in sys.argv:
        if not DOC.exists() or DOC.read_text() != text:
            print("docs/type-mapping.md is out of date: run python scripts/type_mapping_doc.py", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
