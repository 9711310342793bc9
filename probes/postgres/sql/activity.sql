WITH activity AS MATERIALIZED (
    -- pg_stat_activity is read once and its rows kept (MATERIALIZED): 2,000 sessions cost one read of the
    -- server's backend table, not one per question asked of it. Each listed session is a JSON array in the
    -- order of snapshot.SESSION_FIELDS (no keys repeated 350 times), ages and "addr:port" are made in Python.
    SELECT pid, usename, datname, application_name, client_addr, client_port, backend_type, state,
           wait_event_type, wait_event, query, query_start, xact_start, state_change
    FROM pg_stat_activity
    WHERE pid <> pg_backend_pid()
),
listed AS (
    -- every session doing something, and the most recently active of the idle ones: 2,000 idle
    -- connections are a count, not 2,000 rows to send, parse and draw every refresh.
    -- Only a session waiting on a lock can be blocked, so pg_blocking_pids (which takes the lock
    -- manager's locks) runs for those alone.
    SELECT json_build_array(a.pid, a.usename, a.datname, a.application_name, host(a.client_addr),
                            a.client_port, a.backend_type, a.state, a.wait_event_type, a.wait_event,
                            a.query, a.query_start, a.xact_start, a.state_change,
                            CASE WHEN a.wait_event_type = 'Lock' THEN pg_blocking_pids(a.pid) END) AS session
    FROM (SELECT * FROM activity WHERE state IS DISTINCT FROM 'idle'
          UNION ALL
          (SELECT * FROM activity WHERE state = 'idle'
           ORDER BY state_change DESC NULLS LAST LIMIT %(idle_listed)s)) AS a
),
counts AS (
    -- one pass for every count: by state and application, and whether a client (without
    -- pg_read_all_stats other users' sessions hide their backend type, not their database)
    SELECT state, application_name AS application,
           backend_type = 'client backend' OR (backend_type IS NULL AND datname IS NOT NULL) AS client,
           count(*) AS n
    FROM activity
    GROUP BY 1, 2, 3
),
user_tables AS (
    SELECT c.oid, c.relowner
    FROM pg_class AS c
    JOIN pg_namespace AS n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p')
      AND n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND n.nspname NOT LIKE 'pg\_toast%%'  -- doubled: the text is sent with parameters
)
SELECT (SELECT coalesce(json_agg(session), '[]'::json) FROM listed)::text AS sessions,
       (SELECT coalesce(json_agg(json_build_array(state, application, client, n)), '[]'::json)
          FROM counts)::text AS counts,
       now() AS now,
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
