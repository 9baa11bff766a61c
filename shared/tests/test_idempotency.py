"""The request fingerprint and stored body are what FastAPI's jsonable_encoder made of them before."""

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum

from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel, Field

from casework.idempotency import as_json, fingerprint


class Colour(StrEnum):
    RED = "red"


class Inner(BaseModel):
    when: datetime
    amount: Decimal


class Body(BaseModel):
    ident: uuid.UUID
    day: date
    colour: Colour
    answers: dict[str, bool]
    inner: list[Inner]
    aliased: str = Field(alias="otherName")
    optional: int | None = None


def test_model_encodes_as_jsonable_encoder_does() -> None:
    body = Body(
        ident=uuid.uuid4(),
        day=date(2026, 4, 1),
        colour=Colour.RED,
        answers={"B": True, "A": False},
        inner=[Inner(when=datetime(2026, 4, 1, 9, 30, tzinfo=UTC), amount=Decimal("12.50"))],
        otherName="x",
    )
    assert as_json(body) == jsonable_encoder(body)
    assert as_json({"body": body}) == jsonable_encoder({"body": body})
    assert fingerprint(body) == fingerprint(jsonable_encoder(body))
    assert fingerprint(body) != fingerprint(body.model_copy(update={"answers": {"A": True, "B": True}}))
