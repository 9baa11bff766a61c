"""Synthetic national data: trusts, clinicians, patients, approvals and SACT files (seeded, reproducible)."""
