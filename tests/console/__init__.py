"""The console's browser tests (a package, so that the platform they serve stops when they end)."""
