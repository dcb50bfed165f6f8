"""Run every benchmark with its default sizes: `.venv/bin/python -m bench`."""

import sys

from bench import dns, garage, postgresql, startup

for benchmark in (startup, postgresql, dns, garage):
    sys.argv = sys.argv[:1]
    benchmark.main()
    print()
