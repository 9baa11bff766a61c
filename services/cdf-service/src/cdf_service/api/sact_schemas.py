"""GET /sact/schemas: each SACT version's data items as this service reads them, so that trusts' system
suppliers can check their extracts (the same schema the header check and the row validator use)."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from casework.auth import Principal, current_principal
from casework.problems import NotFound
from cdf_service.sact_schema import CURRENT, SCHEMAS, DataItem, ItemType, SactSchema, schema_for

router = APIRouter(prefix="/sact/schemas", tags=["SACT"])


class CodeOut(BaseModel):
    code: str
    meaning: str


class ItemOut(BaseModel):
    number: int = Field(description="the national data item number")
    name: str = Field(description="the national data item name")
    header: str = Field(description="the CSV column header (or JSON key): the name in upper snake case")
    section: str
    type: ItemType
    format: str = Field(description="as the user guide writes it, e.g. 'an10 ccyy-mm-dd'")
    specification: str = Field(description="the user guide's schema specification: M, M*, R, O, M in section")
    mandatory: bool = Field(description="every row must give a value")
    codes: list[CodeOut] | None = Field(description="the national codes, where the list is known")
    choice: str | None = Field(description="the choice the item belongs to (see `choices`)")
    note: str | None


class ChoiceOut(BaseModel):
    name: str
    items: list[int]
    rule: str = Field(description="'exactly one' or 'at least one' of the items per row")


class SchemaOut(BaseModel):
    version: str = Field(examples=["4.0"])
    title: str
    current: bool = Field(description="the version trusts send now")
    collected_from: date
    source: str = Field(description="where the item list was confirmed")
    choices: list[ChoiceOut]
    items: list[ItemOut]


class SchemasOut(BaseModel):
    current: str
    versions: list[SchemaOut]


@router.get("", response_model=SchemasOut)
async def list_schemas(_: Principal = Depends(current_principal)) -> SchemasOut:
    """Every SACT version this service accepts, with its items."""
    return SchemasOut(current=f"{CURRENT.version}.0", versions=[schema_out(s) for s in SCHEMAS.values()])


@router.get("/{version}", response_model=SchemaOut)
async def read_schema(version: str, _: Principal = Depends(current_principal)) -> SchemaOut:
    """One version's items: `4` (or `4.0`, `v4`) or `3`."""
    schema = schema_for(version)
    if schema is None:
        raise NotFound(f"no SACT schema {version!r}; versions: {', '.join(f'{v}.0' for v in SCHEMAS)}")
    return schema_out(schema)


def schema_out(schema: SactSchema) -> SchemaOut:
    choice_of = {number: choice.name for choice in schema.choices for number in choice.items}
    return SchemaOut(
        version=f"{schema.version}.0",
        title=schema.title,
        current=schema is CURRENT,
        collected_from=schema.collected_from,
        source=schema.source,
        choices=[
            ChoiceOut(name=c.name, items=list(c.items), rule="exactly one" if c.exactly_one else "at least one")
            for c in schema.choices
        ],
        items=[_item_out(item, choice_of.get(item.number)) for item in schema.items],
    )


def _item_out(item: DataItem, choice: str | None) -> ItemOut:
    codes = [CodeOut(code=code, meaning=meaning) for code, meaning in item.codes.items()] if item.codes else None
    return ItemOut(
        number=item.number,
        name=item.name,
        header=item.header,
        section=item.section,
        type=item.type,
        format=item.format,
        specification=item.specification,
        mandatory=item.mandatory,
        codes=codes,
        choice=choice,
        note=item.note or None,
    )
