-- MariaDB stores JSON as LONGTEXT with a json_valid() column check named after the column.
SELECT CONSTRAINT_SCHEMA, TABLE_NAME, CONSTRAINT_NAME
FROM information_schema.CHECK_CONSTRAINTS
WHERE LEVEL = 'Column'
  AND CHECK_CLAUSE = CONCAT('json_valid(`', REPLACE(CONSTRAINT_NAME, '`', '``'), '`)')
  AND CONSTRAINT_SCHEMA NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys')
  AND (%(all)s = 1 OR CONSTRAINT_SCHEMA IN %(schemas)s)
