"""The PostgreSQL engine (psycopg 3): connections, catalog, type mapping, full-load reads and writes.

CDC capture (pgoutput) lives in its own modules of this package.
"""

from .engine import PostgresEngine

__all__ = ["PostgresEngine"]
