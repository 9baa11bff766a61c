"""What the console benchmarks share: signing in at the console through the OpenID provider as a dev
persona (the browser's redirects followed by hand) and timing one kind of request, page or API call."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

import httpx

from bench.harness import Latencies
from embedded_stack.oidc import persona


def signed_in_console(console_url: str, persona_id: str) -> httpx.Cookies:
    """Sign in at the console through the provider over HTTP (the browser's redirects, followed by hand)."""
    with httpx.Client(timeout=20, follow_redirects=False) as client:
        response = client.get(f"{console_url}/sign-in")
        while response.is_redirect:
            location = str(response.next_request.url) if response.next_request else response.headers["location"]
            if "/interaction/" in location and not location.endswith("/login"):
                client.get(location)
                response = client.post(f"{location}/login", data={"persona": persona_id})
                continue
            response = client.get(location)
        assert response.status_code == 200 and persona(persona_id).name in response.text, response.status_code
        return client.cookies


async def timed(name: str, n: int, call: Callable[[], Awaitable[httpx.Response]]) -> Latencies:
    """`n` calls one after another (one client, keep-alive); each must answer 200."""
    samples = []
    started = time.perf_counter()
    for _ in range(n):
        t0 = time.perf_counter()
        response = await call()
        samples.append((time.perf_counter() - t0) * 1000)
        assert response.status_code == 200, (name, response.status_code, response.text[:300])
    return Latencies(name, samples, time.perf_counter() - started)
