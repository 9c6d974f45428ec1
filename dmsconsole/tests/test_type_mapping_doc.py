"""docs/type-mapping.md is generated from the engines' mapping tables and must be current."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_it_keeps_the_type_mapping_document_current():
    result = subprocess.run([sys.executable, "scripts/type_mapping_doc.py", "--check"], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_it_documents_every_engine_in_both_directions():
    text = (ROOT / "docs" / "type-mapping.md").read_text()
    assert "| PostgreSQL | bytea | BLOB |" in text
    assert "| MySQL / MariaDB | JSON | CLOB |" in text
    assert "| SQL Server | uniqueidentifier | STRING(36)" in text
    assert "| UINT8 | numeric(20,0)" in text
