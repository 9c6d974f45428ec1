-- The columns of one target table as the applier needs them: name, type with its modifier
-- (limits for error messages), and the base type without modifier (domains resolved), which
-- says whether values can be compared with = (json, xml and geometric types cannot).
SELECT a.attname,
       format_type(a.atttypid, a.atttypmod) AS full_type,
       format_type(CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE a.atttypid END, NULL) AS base_type
FROM pg_catalog.pg_attribute a
JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
WHERE n.nspname = %(schema)s AND c.relname = %(table)s AND c.relkind IN ('r', 'p')
  AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum
