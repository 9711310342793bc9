SELECT s.query, s.calls, s.mean_exec_time AS mean_ms, s.total_exec_time AS total_ms, s.rows
FROM {schema}.pg_stat_statements AS s
WHERE s.toplevel
ORDER BY s.mean_exec_time DESC
LIMIT %(limit)s
