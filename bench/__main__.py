"""`python -m bench`: run every benchmark and print the numbers."""

import sys

from bench import app_bench, kube_bench, pg_bench, redis_bench, store_bench

sys.argv = sys.argv[:1]
print("== session store")
store_bench.main()
print("== app")
app_bench.main()
print("== Kubernetes: 10,000 pods in the simulator")
kube_bench.main()
print("== PostgreSQL: 2,000 sessions")
pg_bench.main()
print("== Redis: one round trip a refresh, 128 slow log entries, the sampler over 1,000,000 keys")
redis_bench.main()
