-- ALTER TABLE statements MS-CDC recorded for captured tables, committed in an LSN range (both ends
-- included). One row per capture instance of the table: the reader keeps one per statement.
SELECT OBJECT_SCHEMA_NAME(h.source_object_id) AS schema_name, OBJECT_NAME(h.source_object_id) AS table_name,
    h.ddl_lsn, h.ddl_time, h.ddl_command
FROM cdc.ddl_history AS h
WHERE h.ddl_lsn BETWEEN CAST(? AS binary(10)) AND CAST(? AS binary(10))
ORDER BY h.ddl_lsn;
