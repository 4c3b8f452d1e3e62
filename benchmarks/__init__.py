"""Benchmarks of jupyter_comm_bridge against the raw paths: ``python benchmarks/run.py``."""
