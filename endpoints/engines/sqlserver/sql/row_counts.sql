-- Estimated rows per user table: the heap or clustered index partitions (index_id 0 or 1).
SELECT
    s.name AS schema_name,
    o.name AS table_name,
    SUM(p.rows) AS estimated_rows
FROM sys.partitions AS p
JOIN sys.objects AS o ON o.object_id = p.object_id
JOIN sys.schemas AS s ON s.schema_id = o.schema_id
WHERE p.index_id IN (0, 1)
  AND o.type = 'U'
  AND o.is_ms_shipped = 0
GROUP BY s.name, o.name;
