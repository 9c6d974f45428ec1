"""The Microsoft SQL Server engine, through pyodbc (Microsoft's ODBC driver, else FreeTDS).

Modules, one job each: connection (driver choice, connection string, TLS, session), errors
(pyodbc -> EngineError), attributes (extra connection attributes), typemap and values (types
and values), catalog (sys views -> SourceTable), reads (SELECT and batches), ddl, statements
and load (target side), lsn, cdc_setup and cdc_changes (MS-CDC), readiness (Test connection
checks), engine (the facade).
"""

from .engine import SqlServerEngine

__all__ = ["SqlServerEngine"]
