-- Primary keys and unique keys (constraints or plain unique indexes) of the given relations,
-- column names in key order. Partial and expression indexes cannot identify rows: skipped.
SELECT i.indrelid AS table_oid,
       i.indisprimary AS is_primary,
       ARRAY(SELECT a.attname
             FROM unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
             JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
             WHERE k.ord <= i.indnkeyatts
             ORDER BY k.ord) AS columns
FROM pg_index i
JOIN pg_class ic ON ic.oid = i.indexrelid
WHERE i.indrelid = ANY (%(oids)s::oid[])
  AND (i.indisprimary OR i.indisunique)
  AND i.indisvalid
  AND i.indpred IS NULL
  AND i.indexprs IS NULL
ORDER BY i.indrelid, NOT i.indisprimary, ic.relname
