"""The engine stays Django-free: the import-linter contract in pyproject.toml holds."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("dmsconsole", "endpoints", "tasks", "monitoring")


def _lint(cwd: Path) -> subprocess.CompletedProcess:
    lint = Path(sys.executable).with_name("lint-imports")
    return subprocess.run([str(lint), "--no-cache"], cwd=cwd, capture_output=True, text=True)


def test_it_keeps_the_engine_free_of_django_celery_and_channels():
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


def test_it_would_catch_an_engine_module_importing_django(tmp_path):
    # The contract must fail when broken: break it in a copy of the tree and check it is caught.
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    (tmp_path / "tasks" / "engine" / "contract_probe.py").write_text("import django  # noqa: F401\n")
    result = _lint(tmp_path)
    assert result.returncode != 0
    assert "tasks.engine.contract_probe -> django" in result.stdout
