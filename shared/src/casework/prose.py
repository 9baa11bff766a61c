"""The Jinja environment every service writes its letters and mail in, and the filters they share.

One environment shape for all prose the platform sends or keeps: sandboxed (notification's templates
are edited by staff through its API), `StrictUndefined` (a letter missing a value fails to render
instead of printing a blank), whitespace kept as written (templates are prose: a newline after a tag is
meant), and the `long_date` and `money` filters in the form NHS letters use.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from jinja2 import BaseLoader, StrictUndefined, TemplateRuntimeError
from jinja2.sandbox import ImmutableSandboxedEnvironment


def long_date(value: date | datetime | str) -> str:
    """`2026-06-01` -> `1 June 2026`, the form NHS letters use; accepts ISO strings from JSON payloads."""
    day = value if isinstance(value, date) else datetime.fromisoformat(str(value))
    return f"{day.day} {day:%B %Y}"


def money(value: Decimal | float | int | str) -> str:
    """`15000` -> `£15,000.00`. A value that is not an amount fails the render (a Jinja error)."""
    try:
        amount = Decimal(str(value))
    except InvalidOperation as exc:
        raise TemplateRuntimeError(f"not an amount: {value!r}") from exc
    return f"£{amount:,.2f}"


def prose_environment(
    *, autoescape: bool = False, trim_blocks: bool = False, loader: BaseLoader | None = None
) -> ImmutableSandboxedEnvironment:
    """A sandboxed environment with the shared filters. `trim_blocks` drops the newline after a block
    tag: for templates whose conditional paragraphs sit on lines of their own."""
    env = ImmutableSandboxedEnvironment(
        autoescape=autoescape,
        undefined=StrictUndefined,
        trim_blocks=trim_blocks,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        loader=loader,
    )
    env.filters["long_date"] = long_date
    env.filters["money"] = money
    return env
