"""Helpers of bench/fuzz.py (a package, so `./run.sh bench` does not run them as benchmarks)."""
