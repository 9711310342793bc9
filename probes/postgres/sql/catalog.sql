WITH RECURSIVE path AS (SELECT unnest(current_schemas(true))::text AS nspname),
asked AS (
    SELECT a.*, CASE WHEN a.nsp = '' THEN quote_ident(a.name)
                     ELSE quote_ident(a.nsp) || '.' || quote_ident(a.name) END AS written
    FROM unnest(%(kinds)s::text[], %(schemas)s::text[], %(names)s::text[]) AS a(kind, nsp, name)
),
-- what each relation the statement names reads: itself, and through each user view or materialized view the
-- relations its rule's range tables name (":relid N" in the stored tree: a rule records no dependency on a
-- built-in, so pg_depend cannot say), view after view, down to the built-ins
reads (top, rel, depth) AS (
    SELECT c.oid, c.oid, 0
    FROM asked a JOIN pg_class c ON c.oid = to_regclass(a.written)
    WHERE a.kind = 'relation'
    UNION
    SELECT r.top, x.rel, r.depth + 1
    FROM reads r
    JOIN pg_rewrite w ON w.ev_class = r.rel AND w.ev_type = '1'
    CROSS JOIN LATERAL (
        SELECT DISTINCT t[1]::oid AS rel FROM regexp_matches(w.ev_action::text, ':relid (\d+)', 'g') AS t
    ) x
    WHERE r.rel >= %(first)s AND x.rel <> r.rel AND r.depth < 16
),
-- the first built-in each one reaches that holds credentials or that the server withholds from PUBLIC
withheld AS (
    SELECT DISTINCT ON (r.top) r.top, n.nspname || '.' || c.relname AS what
    FROM reads r
    JOIN pg_class c ON c.oid = r.rel
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE r.rel < %(first)s
      AND (NOT has_table_privilege('public', r.rel, 'SELECT')
           OR r.rel IN (SELECT to_regclass(x)::oid FROM unnest(%(credentials)s::text[]) AS x))
    ORDER BY r.top, r.depth, r.rel
),
member AS (
    SELECT d.classid, d.objid, e.extname::text FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid
    WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
)
SELECT a.kind, a.name, n.nspname::text,
       quote_ident(n.nspname) || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')',
       p.oid < %(first)s,
       p.provolatile::text, m.extname, n.nspname || '.' || p.proname, NULL::text
FROM asked a
JOIN pg_proc p ON p.proname = a.name
JOIN pg_namespace n ON n.oid = p.pronamespace
LEFT JOIN member m ON m.classid = 'pg_proc'::regclass AND m.objid = p.oid
WHERE a.kind IN ('function', 'attribute')
  AND (n.nspname = a.nsp OR (a.nsp = '' AND n.nspname IN (SELECT nspname FROM path)))
  AND (a.kind = 'function' OR p.pronargs = 1)
  AND p.oid >= %(first)s
UNION ALL
SELECT a.kind, a.name, n.nspname::text, o.oid::regoperator::text, o.oid < %(first)s,
       '', m.extname, fn.nspname || '.' || f.proname, NULL
FROM asked a
JOIN pg_operator o ON o.oprname = a.name
JOIN pg_namespace n ON n.oid = o.oprnamespace
JOIN pg_proc f ON f.oid = o.oprcode
JOIN pg_namespace fn ON fn.oid = f.pronamespace
LEFT JOIN member m ON m.classid = 'pg_operator'::regclass AND m.objid = o.oid
WHERE a.kind = 'operator' AND o.oid >= %(first)s
  AND (n.nspname = a.nsp OR (a.nsp = '' AND n.nspname IN (SELECT nspname FROM path)))
UNION ALL
SELECT a.kind, a.name, n.nspname::text, c.oid::regclass::text, c.oid < %(first)s,
       c.relkind::text || CASE WHEN c.relrowsecurity THEN '+rls' ELSE '' END, m.extname, NULL, h.what
FROM asked a
JOIN pg_class c ON c.oid = to_regclass(a.written)
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN member m ON m.classid = 'pg_class'::regclass AND m.objid = c.oid
LEFT JOIN withheld h ON h.top = c.oid
WHERE a.kind = 'relation' AND (c.oid >= %(first)s OR h.what IS NOT NULL)
UNION ALL
SELECT a.kind, a.name, n.nspname::text, format_type(t.oid, NULL), t.oid < %(first)s,
       t.typtype::text, m.extname, NULL, NULL
FROM asked a
JOIN pg_type t ON t.oid = to_regtype(a.written)
JOIN pg_namespace n ON n.oid = t.typnamespace
LEFT JOIN member m ON m.classid = 'pg_type'::regclass AND m.objid = t.oid
WHERE a.kind = 'type'
UNION ALL
SELECT 'cast', format_type(c.casttarget, NULL), fn.nspname::text,
       format_type(c.castsource, NULL) || ' AS ' || format_type(c.casttarget, NULL)
           || ' WITH FUNCTION ' || quote_ident(fn.nspname) || '.' || f.proname
           || '(' || pg_get_function_identity_arguments(f.oid) || ')',
       false, c.castcontext::text, NULL, fn.nspname || '.' || f.proname, NULL
FROM pg_cast c
JOIN pg_proc f ON f.oid = c.castfunc
JOIN pg_namespace fn ON fn.oid = f.pronamespace
WHERE f.oid >= %(first)s
