"""Benchmarks: `python -m bench` (or `make bench`) runs each module in bench.__main__.MODULES and prints figures."""
