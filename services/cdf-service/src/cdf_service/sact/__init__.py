"""The SACT worker: claims stored submissions, validates and writes their rows in pieces, and calls the
use cases that match them to approvals and finish them (the upload's storage: use_cases.sact_intake)."""
