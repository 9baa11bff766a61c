"""How long an idle HTTP connection is kept open, on each side of a call between our processes.

A pooled client that keeps an idle connection as long as the server does (httpx and uvicorn both
default to 5 s) races the server's close: a request sent in the instant the server gives the
connection up is answered by a reset, and the caller sees a service that "is not answering" although
nothing is wrong (the console showed its 503 page for a stale variation form in CI this way). The
server keeps idle connections longer than any client of ours does, so it is always the client that
lets a connection go first, at a moment when it is not sending on it.
"""

from __future__ import annotations

import httpx

# Longer than a client here keeps a connection, and than the 60 s idle timeout of the usual load
# balancers in front of a service (they too must be the ones to close first).
SERVER_KEEP_ALIVE_S = 75
CLIENT_KEEP_ALIVE_S = 30


def pooled_limits() -> httpx.Limits:
    """httpx's default pool limits, with idle connections given up before any server of ours closes them."""
    return httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=CLIENT_KEEP_ALIVE_S)
