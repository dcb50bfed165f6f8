"""Run every benchmark with its default sizes: `.venv/bin/python -m bench`."""

import sys

from bench import delivery, dns, garage, postgresql, proxmox, startup

for benchmark in (startup, postgresql, dns, proxmox, garage, delivery):
    sys.argv = sys.argv[:1]
    benchmark.main()
    print()
