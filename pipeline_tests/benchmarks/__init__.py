"""Benchmarks: the seed scripts' way against the pipeline's, run by hand with ``python -m ...run``.

Scripts, not tests (no ``test_`` prefix, so pytest never collects them): they take minutes and their
numbers depend on the machine. See docs/performance.md for the command and the latest results.
"""
