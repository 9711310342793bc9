SELECT s.query, s.calls, s.mean_time AS mean_ms, s.total_time AS total_ms, s.rows
FROM {schema}.pg_stat_statements AS s
ORDER BY s.mean_time DESC
LIMIT %(limit)s
