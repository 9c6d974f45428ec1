"""A prefork pool child forked while the worker's heartbeat thread used SQLite could never write again
(SQLite's in-process lock bookkeeping is copied into the child): forks wait for database work to end."""

from __future__ import annotations

import os
import signal
import sqlite3
import threading
import time

from tasks.forkguard import no_fork


def test_it_makes_a_fork_wait_until_database_work_ends_and_the_child_can_write(tmp_path):
    path = str(tmp_path / "console.sqlite3")
    setup = sqlite3.connect(path)
    setup.execute("CREATE TABLE beats (n int)")
    setup.commit()
    setup.close()
    started = threading.Event()

    def heartbeat() -> None:
        with no_fork():  # every SQLite call: a fork amid one also copies SQLite's held mutexes
            conn = sqlite3.connect(path, timeout=5, isolation_level=None)
            conn.execute("BEGIN IMMEDIATE")
            started.set()
            conn.execute("INSERT INTO beats VALUES (1)")
            time.sleep(0.5)
            conn.execute("COMMIT")
            conn.close()

    thread = threading.Thread(target=heartbeat)
    thread.start()
    started.wait()
    asked = time.monotonic()
    pid = os.fork()  # what billiard does when it starts a pool child
    if pid == 0:
        try:
            sqlite3.connect(path, timeout=2, isolation_level=None).execute("INSERT INTO beats VALUES (2)")
        except sqlite3.OperationalError:
            os._exit(1)
        os._exit(0)
    waited = time.monotonic() - asked
    thread.join()
    deadline = time.monotonic() + 20
    while (done := os.waitpid(pid, os.WNOHANG))[0] == 0:
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            raise AssertionError("the forked child hung")
        time.sleep(0.05)
    assert waited >= 0.4  # the fork waited for the transaction to commit
    assert os.waitstatus_to_exitcode(done[1]) == 0  # and the child could write
