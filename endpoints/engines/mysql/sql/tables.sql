-- Tables and views of the chosen schemas (databases); system schemas never.
-- %(all)s: 1 to list every user schema; else %(schemas)s is a non-empty tuple of names.
SELECT TABLE_SCHEMA, TABLE_NAME, TABLE_TYPE, COALESCE(TABLE_ROWS, 0)
FROM information_schema.TABLES
WHERE TABLE_SCHEMA NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys')
  AND TABLE_TYPE IN ('BASE TABLE', 'VIEW', 'SYSTEM VERSIONED')
  AND (%(all)s = 1 OR TABLE_SCHEMA IN %(schemas)s)
ORDER BY TABLE_SCHEMA, TABLE_NAME
