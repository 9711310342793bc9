WITH activity AS (
    SELECT a.pid,
           a.usename AS "user",
           a.datname AS database,
           a.application_name AS application,
           CASE WHEN a.client_port = -1 THEN 'local'
                ELSE host(a.client_addr) || ':' || a.client_port END AS client,
           a.backend_type,
           a.state,
           a.wait_event_type,
           a.wait_event,
           a.query,
           a.query_start,
           a.xact_start,
           a.state_change,
           extract(epoch FROM now() - a.query_start)::float8 AS query_seconds,
           extract(epoch FROM now() - a.xact_start)::float8 AS xact_seconds,
           CASE WHEN a.wait_event_type = 'Lock' THEN pg_blocking_pids(a.pid)
                ELSE ARRAY[]::int[] END AS blocked_by
    FROM pg_stat_activity AS a
    WHERE a.pid <> pg_backend_pid()
),
clients AS (
    -- without pg_read_all_stats other users' sessions hide their backend type, not their database
    SELECT * FROM activity
    WHERE backend_type = 'client backend' OR (backend_type IS NULL AND database IS NOT NULL)
),
listed AS (
    -- every session doing something, and the most recently active of the idle ones: 2,000 idle
    -- connections are a count, not 2,000 rows to send, parse and draw every refresh
    SELECT * FROM activity WHERE state IS DISTINCT FROM 'idle'
    UNION ALL
    (SELECT * FROM activity WHERE state = 'idle' ORDER BY state_change DESC NULLS LAST LIMIT %(idle_listed)s)
),
user_tables AS (
    SELECT c.oid, c.relowner
    FROM pg_class AS c
    JOIN pg_namespace AS n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p')
      AND n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND n.nspname NOT LIKE 'pg\_toast%%'  -- doubled: the text is sent with parameters
)
SELECT (SELECT coalesce(json_agg(listed), '[]'::json) FROM listed)::text AS sessions,
       (SELECT count(*) FROM activity WHERE state = 'idle') AS idle_total,
       (SELECT coalesce(json_object_agg(state, n), json_build_object())
          FROM (SELECT coalesce(state, 'unknown') AS state, count(*) AS n FROM clients GROUP BY 1) AS s
       )::text AS by_state,
       (SELECT coalesce(json_object_agg(application, n), json_build_object())
          FROM (SELECT coalesce(application, '') AS application, count(*) AS n FROM clients GROUP BY 1) AS a
       )::text AS by_application,
       -- oncall's own session is left out of the lists, not out of the count
       (SELECT count(*) FROM pg_stat_activity
         WHERE backend_type = 'client backend'
            OR (backend_type IS NULL AND datid IS NOT NULL)) AS used,
       current_setting('max_connections')::int AS max_connections,
       current_setting('superuser_reserved_connections')::int AS superuser_reserved,
       {reserved} AS reserved,
       current_user AS role,
       current_database() AS database,
       (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS superuser,
       EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pg_monitor'
                 AND pg_has_role(oid, 'USAGE')) AS pg_monitor,
       EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pg_read_all_stats'
                 AND pg_has_role(oid, 'USAGE')) AS read_all_stats,
       EXISTS (SELECT 1 FROM user_tables WHERE pg_has_role(relowner, 'USAGE')) AS owns_tables,
       EXISTS (SELECT 1 FROM user_tables
                 WHERE has_table_privilege(oid, 'INSERT, UPDATE, DELETE, TRUNCATE')) AS writes_tables,
       EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pg_write_all_data'
                 AND pg_has_role(oid, 'USAGE')) AS write_all_data,
       (SELECT extversion FROM pg_extension WHERE extname = 'pg_stat_statements') AS pgss_version,
       (SELECT n.nspname FROM pg_extension AS e JOIN pg_namespace AS n ON n.oid = e.extnamespace
         WHERE e.extname = 'pg_stat_statements') AS pgss_schema,
       current_setting('default_transaction_read_only') AS read_only
