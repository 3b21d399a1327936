"""Helpers the tests share with the benchmarks (which put tests/ on ``sys.path``)."""
