"""What the replica tests share: reading a served replica's metrics, and a served replica's process."""

from __future__ import annotations

import re

import httpx


def metric(url: str, name: str, **labels: str) -> float:
    """The sum of a counter's samples on a replica's /metrics whose labels include `labels`."""
    text = httpx.get(f"{url}/metrics", timeout=10).text
    total = 0.0
    for line in text.splitlines():
        match = re.match(rf"^{re.escape(name)}(?:{{(.*)}})? (\S+)$", line)
        if match is None:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', match.group(1) or ""))
        if all(found.get(k) == v for k, v in labels.items()):
            total += float(match.group(2))
    return total
