SELECT schemaname, relname, seq_scan, coalesce(idx_scan, 0) AS idx_scan,
       n_live_tup, n_dead_tup,
       last_vacuum, last_autovacuum, last_analyze, last_autoanalyze
FROM pg_stat_user_tables
WHERE seq_scan > coalesce(idx_scan, 0) OR n_dead_tup >= %(dead_tuples)s
ORDER BY n_dead_tup DESC, seq_scan - coalesce(idx_scan, 0) DESC, schemaname, relname
LIMIT %(limit)s
