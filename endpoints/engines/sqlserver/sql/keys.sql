-- Primary keys and unique keys (constraints and unique indexes) of user tables, key columns in order.
-- Filtered, disabled and hypothetical indexes cover no whole table, so they are no keys.
SELECT
    s.name AS schema_name,
    o.name AS table_name,
    i.name AS index_name,
    i.is_primary_key,
    ic.key_ordinal,
    c.name AS column_name
FROM sys.indexes AS i
JOIN sys.objects AS o ON o.object_id = i.object_id
JOIN sys.schemas AS s ON s.schema_id = o.schema_id
JOIN sys.index_columns AS ic ON ic.object_id = i.object_id AND ic.index_id = i.index_id AND ic.key_ordinal > 0
JOIN sys.columns AS c ON c.object_id = ic.object_id AND c.column_id = ic.column_id
WHERE i.is_unique = 1
  AND i.has_filter = 0
  AND i.is_disabled = 0
  AND i.is_hypothetical = 0
  AND o.type = 'U'
  AND o.is_ms_shipped = 0
ORDER BY s.name, o.name, i.is_primary_key DESC, i.name, ic.key_ordinal;
