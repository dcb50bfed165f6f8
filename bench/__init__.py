"""Benchmarks of provider start-up and backend operations: `python -m bench`."""
