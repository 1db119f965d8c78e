"""Benchmarks: ``python -m bench`` prints medians and ratios against references run the same way."""
