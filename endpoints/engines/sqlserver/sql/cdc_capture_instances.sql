-- Every capture instance of the database with its captured columns in ordinal order.
-- min_lsn is the low end of the instance's validity interval (raised by the cleanup job).
SELECT
    ct.capture_instance,
    OBJECT_SCHEMA_NAME(ct.source_object_id) AS schema_name,
    OBJECT_NAME(ct.source_object_id) AS table_name,
    sys.fn_cdc_get_min_lsn(ct.capture_instance) AS min_lsn,
    ct.create_date,
    ct.supports_net_changes,
    cc.column_name,
    cc.column_ordinal,
    cc.is_computed
FROM cdc.change_tables AS ct
JOIN cdc.captured_columns AS cc ON cc.object_id = ct.object_id
ORDER BY ct.capture_instance, cc.column_ordinal;
