"""`make demo` (scripts/demo.py): it comes up, answers, stops on Ctrl-C, and a second run reuses the first.

The demo gets its own folder (DMS_DEMO_DIR) and fresh demo databases (DMS_DEMO_SOURCE_URL /
DMS_DEMO_TARGET_URL), so it never touches a developer's .demo or another run's databases.
The embedded Redis/PostgreSQL path is exercised by hand (see the README); it needs root
to run PostgreSQL as a system user and a fixed folder under /var/tmp.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.live, pytest.mark.slow]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _demo_env(tmp_path: Path, pg_database, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in {"DJANGO_SETTINGS_MODULE", "DATABASE_URL", "SECRET_KEY", "DMS_ENCRYPTION_KEY"}}
    env.update({"DMS_DEMO_DIR": str(tmp_path / "demo"), "DMS_DEMO_SOURCE_URL": pg_database(),
                "DMS_DEMO_TARGET_URL": pg_database(), "DMS_DEMO_PORT": str(port)})
    return env


def _get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.read().decode()


def test_it_comes_up_answers_and_stops_on_ctrl_c_then_reuses_its_setup(tmp_path, pg_database):
    port = _free_port()
    env = _demo_env(tmp_path, pg_database, port)
    log = tmp_path / "demo.out"
    with open(log, "w") as out:
        demo = subprocess.Popen([sys.executable, "scripts/demo.py"], cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        while "The console is up" not in log.read_text():
            assert demo.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.5)
        first = log.read_text()
        assert "Password (shown once):" in first
        status, body = _get(f"http://127.0.0.1:{port}/login/")
        assert status == 200 and "Sign in" in body
        assert _get(f"http://127.0.0.1:{port}/healthz") == (200, '{"status": "ok"}')
        demo.send_signal(signal.SIGINT)  # what Ctrl-C sends
        assert demo.wait(timeout=60) == 0
    finally:
        if demo.poll() is None:
            os.killpg(demo.pid, signal.SIGKILL)
    stopped = log.read_text()
    assert "stopped worker" in stopped and "stopped web" in stopped
    with pytest.raises(OSError):
        _get(f"http://127.0.0.1:{port}/healthz")

    again = subprocess.run([sys.executable, "scripts/demo.py"], cwd=ROOT, env={**env, "DMS_DEMO_EXIT_AFTER_START": "1"},
                           capture_output=True, text=True, timeout=180)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "its password was printed by the first" in again.stdout
    assert "created" not in again.stdout  # instance, endpoints and data are reused
    assert (tmp_path / "demo" / "env").read_text().count("DMS_ENCRYPTION_KEY=") == 1
