"""What the replica tests share: reading a served replica's metrics, and events with one effect each."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx

from casework.events import EventEnvelope
from embedded_stack.testing import envelope_for


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


def at_risk_data(run: str, n: int) -> dict[str, Any]:
    """A `contract.budget.at_risk` payload of its own budget line (notification-service mails each once);
    `run` and `n` are in its `financial_year`, so a test finds its own."""
    return {
        "provider_ods": "RRV",
        "financial_year": f"{run}-{n:04d}",
        "budget_line_id": str(uuid.uuid4()),
        "line_name": "CDF drugs",
        "budget": "1000.00",
        "forecast_outturn": "1200.00",
        "variance": "200.00",
        "margin_pct": "5",
    }


def at_risk(run: str, n: int) -> EventEnvelope:
    data = at_risk_data(run, n)
    return envelope_for("contract.budget.at_risk", data["budget_line_id"], data, source="test")
