"""Benchmarks: scripts that print the project's figures beside a baseline measured in the same run."""
