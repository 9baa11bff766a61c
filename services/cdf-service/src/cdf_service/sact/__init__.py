"""SACT intake: streamed upload, background processing in chunks, matching to approvals."""
