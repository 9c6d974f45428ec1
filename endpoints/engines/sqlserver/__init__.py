"""The Microsoft SQL Server engine, through pyodbc (Microsoft's ODBC driver, else FreeTDS).

Modules, one job each: connection (driver choice, connection string, TLS, session), errors
(pyodbc -> EngineError), attributes (extra connection attributes), typemap and values (types
and values), catalog (sys views -> SourceTable), reads (SELECT and batches), ddl, statements
and load (target side), applier (CDC apply on the target), lsn, cdc_setup and cdc_changes
(MS-CDC set-up and change rows), cdc_reader (one poll of the change tables) and cdc_stream
(the polling ChangeStream), readiness (Test connection checks), engine (the facade).
"""

from .engine import SqlServerEngine

__all__ = ["SqlServerEngine"]
