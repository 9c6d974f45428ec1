"""The MySQL / MariaDB engine (the registry maps both "mysql" and "mariadb" here).

Modules, one job each:
    engine       the facade the task runner sees
    connection   connect (TLS modes, utf8mb4, session in UTC, afterConnectScript/initstmt)
    errors       PyMySQL errors -> EngineError in a DBA's words
    attributes   DMS extra connection attributes
    readiness    Test connection checks (binlog settings, replication grants, local_infile)
    catalog      tables, columns, keys, partitions (queries in sql/*.sql)
    typemap      MySQL <-> DMS types, as data tables with documentation rows
    where        DMS filters and key-range segments as parameterised WHERE clauses
    copytext     SELECT expressions that make the server write bulk-load text lines
    wire         one-column result rows read off the wire as bytes
    values       canonical Python values parsed from those lines
    reader       streaming reads with a per-reader consistent snapshot
    split        key ranges for parallel loading
    snapshot     the binlog position a full load starts from
    ddl          target databases and tables as DMS creates them, deferred keys
    loadfile     Python rows as LOAD DATA text
    infile       LOAD DATA LOCAL that only sends the loader's own file
    writer       full-load writes (LOAD DATA LOCAL, else multi-row INSERT)
    control      DMS control tables, the awsdms_txn_state checkpoint table, awsdms_table_state
  change data capture (source):
    positions    binlog positions ("file:pos"), ordering, SHOW MASTER STATUS
    binlog       the binlog event stream (mysql-replication) and its errors
    assembler    events -> transactions, pieces and DDL
    statements   Query events: transaction control, DDL, statement-logged rows
    shapes       each row's columns from its table map
    binlog_values  binlog values -> canonical values
    capture      the ChangeStream (reader thread, bounded queue)
    capture_start  readiness checks and begin_capture
    timemap      CdcStartTime -> a binlog position
  apply (target):
    applier      the Applier: transactional apply on one connection
    apply_sql, apply_sets, apply_load, apply_meta, apply_errors, apply_state  its statements and helpers
"""

from .engine import MySQLEngine

__all__ = ["MySQLEngine"]
