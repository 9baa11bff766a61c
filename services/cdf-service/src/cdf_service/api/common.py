"""Helpers the CDF routers share."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)


def from_row(model: type[M], row: object, **extra: Any) -> M:
    """A response model from an ORM row's attributes (unset nullable columns read as None) plus extras."""
    values = {name: getattr(row, name, None) for name in model.model_fields if name not in extra}
    return model.model_validate({**values, **extra})
