"""Benchmarks behind `redisha bench`: commands that print figures, not timed tests."""
