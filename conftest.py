"""Fixtures for every test in the repository: see embedded_stack.testing."""

pytest_plugins = ["embedded_stack.testing"]
