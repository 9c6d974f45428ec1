-- Identity columns of one target table; the parameter is its quoted name, e.g. N'[dbo].[orders]'.
SELECT c.name AS column_name
FROM sys.identity_columns AS c
WHERE c.object_id = OBJECT_ID(?, N'U');
