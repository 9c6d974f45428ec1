-- Columns of the given relations in ordinal order, with what the type mapping needs:
-- the base type of domains, the typmod decoded into length / precision / scale.
WITH cols AS (
    SELECT a.attrelid, a.attnum, a.attname, a.atttypid, a.atttypmod, a.attnotnull,
           a.attgenerated <> '' AS generated,
           a.attidentity <> '' AS identity,
           pg_get_expr(d.adbin, d.adrelid) AS default_expr,
           t.typtype = 'd' AS is_domain,
           CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE a.atttypid END AS base_oid,
           CASE WHEN t.typtype = 'd' THEN t.typtypmod ELSE a.atttypmod END AS base_typmod
    FROM pg_attribute a
    JOIN pg_type t ON t.oid = a.atttypid
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    WHERE a.attrelid = ANY (%(oids)s::oid[]) AND a.attnum > 0 AND NOT a.attisdropped
)
SELECT c.attrelid AS table_oid,
       c.attname AS name,
       format_type(c.atttypid, c.atttypmod) AS native_type,
       NOT c.attnotnull AS nullable,
       c.generated,
       c.identity,
       c.default_expr,
       c.is_domain,
       format_type(c.base_oid, NULL) AS base_name,
       -- arrays and their elements: the element decides whether the type is built in
       CASE WHEN b.typcategory = 'A' AND b.typelem <> 0 THEN e.typtype ELSE b.typtype END AS kind,
       (CASE WHEN b.typcategory = 'A' AND b.typelem <> 0 THEN en.nspname ELSE bn.nspname END) = 'pg_catalog'
           AS builtin,
       CASE WHEN c.base_typmod < 0 THEN NULL
            WHEN format_type(c.base_oid, NULL) IN ('character', 'character varying') THEN c.base_typmod - 4
            WHEN format_type(c.base_oid, NULL) IN ('bit', 'bit varying') THEN c.base_typmod
            END AS length,
       CASE WHEN c.base_typmod < 0 THEN NULL
            WHEN format_type(c.base_oid, NULL) = 'numeric' THEN ((c.base_typmod - 4) >> 16) & 65535
            WHEN format_type(c.base_oid, NULL) IN ('timestamp without time zone', 'timestamp with time zone',
                                                   'time without time zone', 'time with time zone')
                THEN c.base_typmod
            WHEN format_type(c.base_oid, NULL) = 'interval' THEN c.base_typmod & 65535
            END AS precision,
       -- numeric scale is an 11-bit signed field (negative scales since PostgreSQL 15)
       CASE WHEN c.base_typmod >= 0 AND format_type(c.base_oid, NULL) = 'numeric'
                THEN (((c.base_typmod - 4) & 2047) # 1024) - 1024
            END AS scale
FROM cols c
JOIN pg_type b ON b.oid = c.base_oid
JOIN pg_namespace bn ON bn.oid = b.typnamespace
LEFT JOIN pg_type e ON e.oid = b.typelem
LEFT JOIN pg_namespace en ON en.oid = e.typnamespace
ORDER BY c.attrelid, c.attnum
