"""Benchmarks: run each script directly (see benchmarks/README.md)."""
