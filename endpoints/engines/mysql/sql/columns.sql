-- Every column of the chosen schemas, in ordinal order, with the facts the type mapping needs.
SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, DATA_TYPE, IS_NULLABLE, COLUMN_DEFAULT, EXTRA,
       CHARACTER_MAXIMUM_LENGTH, NUMERIC_PRECISION, NUMERIC_SCALE, DATETIME_PRECISION
FROM information_schema.COLUMNS
WHERE TABLE_SCHEMA NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys')
  AND (%(all)s = 1 OR TABLE_SCHEMA IN %(schemas)s)
ORDER BY TABLE_SCHEMA, TABLE_NAME, ORDINAL_POSITION
