-- The columns of one target table as the applier needs them: real types, character sets, nullability.
SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, CHARACTER_SET_NAME, COLLATION_NAME, IS_NULLABLE, CHARACTER_MAXIMUM_LENGTH
FROM information_schema.COLUMNS
WHERE TABLE_SCHEMA = %(database)s AND TABLE_NAME = %(table)s
ORDER BY ORDINAL_POSITION
