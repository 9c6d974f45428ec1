-- Columns of user tables and views, with the system type behind any alias type.
-- max_length is in bytes (-1 for (max)); CLR types (hierarchyid, geography, geometry, user CLR types)
-- have no system base row, so their own name is the base.
SELECT
    s.name AS schema_name,
    o.name AS table_name,
    o.type AS object_type,
    c.column_id,
    c.name AS column_name,
    ut.name AS type_name,
    CASE WHEN ut.is_assembly_type = 1 THEN ut.name ELSE bt.name END AS base_type,
    c.max_length,
    c.precision,
    c.scale,
    c.is_nullable,
    c.is_identity,
    c.is_computed,
    cc.definition AS computed_definition,
    dc.definition AS default_definition
FROM sys.objects AS o
JOIN sys.schemas AS s ON s.schema_id = o.schema_id
JOIN sys.columns AS c ON c.object_id = o.object_id
JOIN sys.types AS ut ON ut.user_type_id = c.user_type_id
LEFT JOIN sys.types AS bt ON bt.user_type_id = ut.system_type_id
LEFT JOIN sys.computed_columns AS cc ON cc.object_id = c.object_id AND cc.column_id = c.column_id
LEFT JOIN sys.default_constraints AS dc ON dc.object_id = c.default_object_id
WHERE o.type IN ('U', 'V')
  AND o.is_ms_shipped = 0
  AND s.name NOT IN ('sys', 'INFORMATION_SCHEMA', 'cdc')
ORDER BY s.name, o.name, c.column_id;
