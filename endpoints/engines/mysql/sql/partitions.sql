-- Partition names of partitioned tables, in partition order.
SELECT TABLE_SCHEMA, TABLE_NAME, PARTITION_NAME
FROM information_schema.PARTITIONS
WHERE PARTITION_NAME IS NOT NULL
  AND TABLE_SCHEMA NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys')
  AND (%(all)s = 1 OR TABLE_SCHEMA IN %(schemas)s)
GROUP BY TABLE_SCHEMA, TABLE_NAME, PARTITION_NAME
ORDER BY TABLE_SCHEMA, TABLE_NAME, MIN(PARTITION_ORDINAL_POSITION)
