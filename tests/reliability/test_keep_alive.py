"""An idle connection from a pooled client is closed by the client, never by the service under it.

httpx keeps an idle connection 5 s by default and uvicorn closed its side after 5 s too: a request sent
in the instant the server gave the connection up was reset, and the console showed "not answering".
The service now keeps idle connections longer than the console's pool does (casework.keep_alive).
"""

import socket
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from casework.keep_alive import CLIENT_KEEP_ALIVE_S, SERVER_KEEP_ALIVE_S, pooled_limits
from embedded_stack.testing import TestStack

UVICORN_DEFAULT_KEEP_ALIVE_S = 5


@pytest.fixture(scope="module")
def notification(stack: TestStack) -> Iterator[str]:
    with stack.served("notification", RUN_WORKERS="false") as url:
        yield url


def ask(conn: socket.socket) -> bytes:
    conn.sendall(b"GET /health/live HTTP/1.1\r\nHost: service\r\n\r\n")
    answer = b""
    while b'{"status":"ok"}' not in answer:
        chunk = conn.recv(65536)
        if not chunk:
            break  # the service closed the connection
        answer += chunk
    return answer


def test_a_connection_idle_longer_than_uvicorns_default_is_still_served(notification: str) -> None:
    address = urlsplit(notification)
    with socket.create_connection((address.hostname, address.port), timeout=10) as conn:
        assert ask(conn).startswith(b"HTTP/1.1 200")
        time.sleep(UVICORN_DEFAULT_KEEP_ALIVE_S + 1.5)
        assert ask(conn).startswith(b"HTTP/1.1 200"), "the service closed an idle connection its clients still hold"


def test_the_console_pool_lets_idle_connections_go_before_the_services_do() -> None:
    assert pooled_limits().keepalive_expiry == CLIENT_KEEP_ALIVE_S < SERVER_KEEP_ALIVE_S
