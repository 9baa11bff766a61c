"""The prose environment every service writes letters and mail in."""

from datetime import date
from decimal import Decimal

import pytest
from jinja2 import TemplateRuntimeError, UndefinedError
from jinja2.exceptions import SecurityError

from casework.prose import long_date, money, prose_environment


def test_long_dates_and_money_in_the_form_nhs_letters_use() -> None:
    assert long_date("2026-06-01") == "1 June 2026" and long_date(date(2027, 1, 31)) == "31 January 2027"
    assert money("1234.5") == "£1,234.50" and money(Decimal("15000")) == "£15,000.00" and money(0) == "£0.00"
    text = prose_environment().from_string("{{ d | long_date }}: {{ m | money }}").render(d="2026-12-03", m=99)
    assert text == "3 December 2026: £99.00"


def test_a_value_that_is_not_an_amount_fails_the_render() -> None:
    with pytest.raises(TemplateRuntimeError, match="not an amount"):
        prose_environment().from_string("{{ m | money }}").render(m="ten pounds")


def test_a_missing_value_fails_instead_of_printing_a_blank() -> None:
    with pytest.raises(UndefinedError):
        prose_environment().from_string("Dear {{ name }},").render()


def test_templates_cannot_reach_past_their_values() -> None:
    # staff edit notification's templates through its API: the sandbox refuses Python's internals
    with pytest.raises(SecurityError):
        prose_environment().from_string("{{ x.__class__.__subclasses__() }}").render(x="")
    with pytest.raises(SecurityError):
        prose_environment().from_string("{{ items.append(1) }}").render(items=[])


def test_whitespace_is_kept_as_written_unless_block_lines_are_trimmed() -> None:
    source = "A\n{% if yes %}\nB\n{% endif %}\nC\n"
    assert prose_environment().from_string(source).render(yes=True) == "A\n\nB\n\nC\n"
    assert prose_environment(trim_blocks=True).from_string(source).render(yes=True) == "A\nB\nC\n"
    assert prose_environment(autoescape=True).from_string("{{ x }}").render(x="<b>") == "&lt;b&gt;"
