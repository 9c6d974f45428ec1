"""Where browser tests save their screenshots.

The README shows the files under docs/screenshots/. Tests only overwrite them when
DMS_SCREENSHOTS=1 (`make screenshots`), so an ordinary test run leaves the working
tree clean; otherwise they go to a temporary folder (and are still checked).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def screenshot_path(name: str) -> Path:
    if os.environ.get("DMS_SCREENSHOTS") == "1":
        folder = ROOT / "docs" / "screenshots"
    else:
        folder = Path(tempfile.gettempdir()) / "dms-screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / name
