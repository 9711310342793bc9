"""`python -m bench`: run every benchmark and print the numbers."""

import sys

from bench import app_bench, store_bench

sys.argv = sys.argv[:1]
print("== session store")
store_bench.main()
print("== app")
app_bench.main()
