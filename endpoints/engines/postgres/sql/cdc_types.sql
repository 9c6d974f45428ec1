-- Type facts for the (type oid, type modifier) pairs of pgoutput Relation messages, shaped like
-- columns.sql: the native spelling, the base type of domains, the modifier decoded into
-- length / precision / scale. Types dropped since the change was written are simply missing.
WITH wanted AS (
    SELECT w.type_oid, w.typmod
    FROM unnest(%(oids)s::oid[], %(mods)s::int[]) AS w(type_oid, typmod)
), cols AS (
    SELECT w.type_oid, w.typmod,
           t.typtype = 'd' AS is_domain,
           CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE w.type_oid END AS base_oid,
           CASE WHEN t.typtype = 'd' THEN t.typtypmod ELSE w.typmod END AS base_typmod
    FROM wanted w
    JOIN pg_type t ON t.oid = w.type_oid
)
SELECT c.type_oid,
       c.typmod,
       format_type(c.type_oid, c.typmod) AS native_type,
       c.is_domain,
       format_type(c.base_oid, NULL) AS base_name,
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
       CASE WHEN c.base_typmod >= 0 AND format_type(c.base_oid, NULL) = 'numeric'
                THEN (((c.base_typmod - 4) & 2047) # 1024) - 1024
            END AS scale
FROM cols c
JOIN pg_type b ON b.oid = c.base_oid
JOIN pg_namespace bn ON bn.oid = b.typnamespace
LEFT JOIN pg_type e ON e.oid = b.typelem
LEFT JOIN pg_namespace en ON en.oid = e.typnamespace
