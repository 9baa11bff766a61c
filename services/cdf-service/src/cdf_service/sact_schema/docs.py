"""The README's SACT item tables, generated from the schemas (a test holds the README to them):

.venv/bin/python -m cdf_service.sact_schema.docs
"""

from __future__ import annotations

from cdf_service.sact_schema.header import SCHEMAS
from cdf_service.sact_schema.items import DataItem, SactSchema

BEGIN, END = "<!-- sact-items:begin (generated: python -m cdf_service.sact_schema.docs) -->", "<!-- sact-items:end -->"


def markdown_table(schema: SactSchema) -> str:
    """One version's items: number, name, CSV header, type and format, mandatory, codes."""
    lines = [
        f"**{schema.title}** (collected from {schema.collected_from:%-d %B %Y}; {len(schema.items)} items)",
        "",
        "| item | name | header | type (format) | mandatory | codes |",
        "|---:|---|---|---|---|---|",
    ]
    lines += [_row(item) for item in schema.items]
    for choice in schema.choices:
        rule = "exactly one" if choice.exactly_one else "at least one"
        lines.append(f"\nChoice *{choice.name}*: {rule} of items {', '.join(str(n) for n in choice.items)}.")
    return "\n".join(lines)


def _row(item: DataItem) -> str:
    mandatory = "yes" if item.mandatory else item.specification
    codes = "; ".join(f"{code} {meaning}" for code, meaning in item.codes.items()) if item.codes else ""
    return (
        f"| {item.number} | {item.name} | `{item.header}` | {item.type.value} ({item.format}) | {mandatory} | {codes} |"
    )


def readme_section() -> str:
    tables = "\n\n".join(markdown_table(schema) for schema in SCHEMAS.values())
    return f"{BEGIN}\n{tables}\n{END}"


if __name__ == "__main__":
    print(readme_section())
