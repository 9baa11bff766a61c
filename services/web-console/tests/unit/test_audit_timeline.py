"""The IG audit's merged timeline (pure): the four services' pages merged newest first, each service's
position moving past its shown rows only, and a service that does not answer named, not a failure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from web_console.apis import Apis, ServiceUnavailable
from web_console.audit.timeline import Position, merged, why

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def trail(service: str, minutes: list[int]) -> list[dict[str, Any]]:
    """A service's rows, newest first, each with the cursor after it (here: its position in the list)."""
    rows = [
        {
            "id": i,
            "at": (START + timedelta(minutes=m)).isoformat(),
            "actor": f"{service}-user",
            "action": "read",
            "entity_type": "record",
            "entity_id": f"{service}-{m}",
            "reason": None,
            "detail": {},
        }
        for i, m in enumerate(sorted(minutes, reverse=True))
    ]
    return [{**r, "cursor": str(i + 1)} for i, r in enumerate(rows)]


class FakeApi:
    """A service's audit API: pages of its trail after a cursor, or no answer at all."""

    def __init__(self, name: str, rows: list[dict[str, Any]] | None) -> None:
        self.name, self.rows = name, rows

    def page(self, cursor: str | None, limit: int) -> dict[str, Any]:
        if self.rows is None:
            raise ServiceUnavailable(self.name, "down")
        start = int(cursor or 0)
        items = self.rows[start : start + limit]
        more = start + limit < len(self.rows)
        return {"items": items, "next_cursor": str(start + limit) if more else None, "records": 1}


def apis(**trails: list[int] | None) -> Apis:
    names = ("ifr", "cdf", "contract", "notification")
    return Apis(**{n: FakeApi(n, None if trails.get(n) is None else trail(n, trails[n])) for n in names})  # type: ignore[arg-type]


async def walk(platform: Apis, limit: int) -> tuple[list[list[str]], list[str]]:
    async def ask(api: Any, cursor: str | None) -> dict[str, Any]:
        return api.page(cursor, limit)

    pages, position, unanswered = [], Position.first(), []
    while True:
        timeline = await merged(platform, ask, position, limit)
        pages.append([e["entity_id"] for e in timeline.entries])
        unanswered = timeline.unanswered
        position = Position.decode(timeline.position.encode())  # as the next-page form carries it
        if not position.more:
            return pages, unanswered


async def test_pages_interleave_the_services_newest_first_without_repeats_or_gaps() -> None:
    platform = apis(ifr=[1, 5, 9], cdf=[2, 3, 4, 10], contract=[], notification=[6, 7, 8])
    pages, unanswered = await walk(platform, 3)
    assert pages == [
        ["cdf-10", "ifr-9", "notification-8"],
        ["notification-7", "notification-6", "ifr-5"],
        ["cdf-4", "cdf-3", "cdf-2"],
        ["ifr-1"],
    ]
    assert unanswered == []


async def test_a_service_that_does_not_answer_is_named_on_every_page() -> None:
    platform = apis(ifr=[1, 2, 3], cdf=None, contract=[4], notification=[])
    pages, unanswered = await walk(platform, 2)
    assert pages == [["contract-4", "ifr-3"], ["ifr-2", "ifr-1"]]
    assert unanswered == ["cdf"]


def test_a_forged_position_starts_again() -> None:
    assert Position.decode("not base64 at all!").cursors == Position.first().cursors


def test_why_says_the_reason_and_counts_what_a_list_showed() -> None:
    assert why({"reason": "event 1", "detail": {}}) == "event 1"
    assert why({"reason": None, "detail": {"by": "nhs_number", "found": 2, "ids": ["a", "b"]}}) == (
        "by NHS number; 2 records shown; 2 found"
    )
