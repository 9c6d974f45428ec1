"""The MySQL / MariaDB engine (the registry maps both "mysql" and "mariadb" here).

Modules, one job each: connection (connect, TLS, session), errors (PyMySQL -> EngineError),
attributes (extra connection attributes), readiness (CDC prerequisites), engine (the facade).
"""

from .engine import MySQLEngine

__all__ = ["MySQLEngine"]
