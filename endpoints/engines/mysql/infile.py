"""LOAD DATA LOCAL INFILE without trusting the server with our files.

PyMySQL sends whatever local file the server names in its LOCAL INFILE request, so a
hostile or compromised target could ask for any file the worker can read. This
connection answers only for the one file the loader is sending at that moment;
any other request gets an empty file and fails the statement.
"""

from __future__ import annotations

import pymysql
from pymysql.connections import Connection, MySQLResult
from pymysql.protocol import LoadLocalPacketWrapper


class _GuardedResult(MySQLResult):
    def _read_load_local_packet(self, first_packet) -> None:
        conn = self.connection
        requested = LoadLocalPacketWrapper(first_packet).filename
        allowed = getattr(conn, "allowed_infile", None)
        if allowed is None or requested != allowed:
            conn.write_packet(b"")  # an empty file keeps the protocol in step
            conn._read_packet()
            raise pymysql.err.OperationalError(
                2000, f"the server asked for local file {requested!r}, which this loader does not send")
        super()._read_load_local_packet(first_packet)


class GuardedConnection(Connection):
    """A PyMySQL connection whose LOAD DATA LOCAL only ever sends `allowed_infile`."""

    allowed_infile: bytes | None = None

    def _read_query_result(self, unbuffered: bool = False) -> int:
        # PyMySQL 1.2.4's method, with the guarded result class.
        self._result = None
        result = _GuardedResult(self)
        if unbuffered:
            result.init_unbuffered_query()
        else:
            result.read()
        self._result = result
        if result.server_status is not None:
            self.server_status = result.server_status
        return result.affected_rows
