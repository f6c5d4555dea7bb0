"""Benchmarks of the desk on a PostgreSQL database of realistic volume (see docs/performance.md)."""
