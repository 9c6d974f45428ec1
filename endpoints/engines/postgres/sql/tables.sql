-- Tables, partitioned tables (parents only), views and materialized views of the user schemas.
-- Partitions are loaded through their parent; extension-owned tables are not user data.
SELECT c.oid,
       n.nspname AS schema,
       c.relname AS name,
       c.relkind AS relkind,
       CASE WHEN c.relkind = 'p' THEN
                (SELECT coalesce(sum(greatest(p.reltuples, 0)), 0)::bigint
                 FROM pg_partition_tree(c.oid) t JOIN pg_class p ON p.oid = t.relid
                 WHERE t.isleaf)
            WHEN c.relkind IN ('r', 'm') THEN greatest(c.reltuples, 0)::bigint
            ELSE 0 END AS estimated_rows,
       CASE WHEN c.relkind = 'p' THEN
                ARRAY(SELECT p.relname FROM pg_partition_tree(c.oid) t JOIN pg_class p ON p.oid = t.relid
                      WHERE t.isleaf ORDER BY p.relname)
            ELSE '{}'::name[] END AS partitions
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'v', 'm')
  AND NOT c.relispartition
  AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
  AND n.nspname !~ '^pg_(toast_)?temp_'
  AND (%(schemas)s::text[] IS NULL OR n.nspname = ANY (%(schemas)s::text[]))
  AND NOT EXISTS (SELECT 1 FROM pg_depend d
                  WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY n.nspname, c.relname
