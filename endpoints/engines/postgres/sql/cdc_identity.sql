-- The replica identity of the selected tables. Publishing UPDATE or DELETE for a table without one
-- makes those statements fail ON THE SOURCE ("cannot update table ... because it does not have a
-- replica identity and publishes updates"), so such tables are published for inserts only.
SELECT n.nspname AS schema,
       c.relname AS name,
       c.relkind,
       c.relreplident AS identity,
       CASE c.relreplident
           WHEN 'f' THEN true
           WHEN 'd' THEN EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary)
           WHEN 'i' THEN EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisreplident)
           ELSE false END AS has_identity
FROM unnest(%(schemas)s::text[], %(names)s::text[]) AS w(schema, name)
JOIN pg_namespace n ON n.nspname = w.schema
JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = w.name
WHERE c.relkind IN ('r', 'p')
ORDER BY 1, 2
