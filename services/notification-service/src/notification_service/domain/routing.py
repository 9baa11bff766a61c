"""Routing: an event type and its payload become planned notifications (template + recipients).

The table is configuration (`routing.toml`), validated here with pydantic so a bad edit fails at
start-up rather than when the first event of that type arrives.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources
from string import Formatter
from typing import Any
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from casework.identifiers import is_valid_ods_code
from notification_service.domain.secure_domains import InvalidAddress, SecureDomains, address_of


class RecipientRole(StrEnum):
    requesting_clinician = "requesting_clinician"
    trust_cdf_mailbox = "trust_cdf_mailbox"
    trust_pharmacy_mailbox = "trust_pharmacy_mailbox"
    provider_contract_lead = "provider_contract_lead"
    ifr_team_mailbox = "ifr_team_mailbox"
    finance_mailbox = "finance_mailbox"
    regional_policy_team = "regional_policy_team"  # the mailbox of the event's commissioning region


PROVIDER_ROLES = frozenset(
    {
        RecipientRole.trust_cdf_mailbox,
        RecipientRole.trust_pharmacy_mailbox,
        RecipientRole.provider_contract_lead,
    }
)
CENTRAL_ROLES = frozenset({RecipientRole.ifr_team_mailbox, RecipientRole.finance_mailbox})
# NHS England's seven commissioning regions by ODS code (ifr-service's domain/regions.py)
REGION_CODES = frozenset({"Y56", "Y58", "Y59", "Y60", "Y61", "Y62", "Y63"})


class RoutingError(ValueError):
    """The payload does not carry what the route needs (a contract mismatch worth a dead letter)."""


def placeholders(pattern: str) -> list[str]:
    """Field names in a `{field}` pattern; rejects `{a.b}`, `{a[0]}` and conversions."""
    names: list[str] = []
    for _, name, spec, conversion in Formatter().parse(pattern):
        if name is None:
            continue
        # Attribute and index access would let configuration reach into Python objects.
        if not name.isidentifier() or spec or conversion:
            raise ValueError(f"placeholder {{{name}}} in {pattern!r} must be a plain field name")
        names.append(name)
    return names


def fill(pattern: str, payload: Mapping[str, Any], *, url: bool = False) -> str:
    values: dict[str, str] = {}
    for name in placeholders(pattern):
        if payload.get(name) is None:
            raise RoutingError(f"payload has no {name!r} for {pattern!r}")
        text = str(payload[name])
        values[name] = quote(text, safe="") if url else text
    return pattern.format(**values)


def _checked_address(value: str) -> str:
    try:
        return address_of(value)
    except InvalidAddress as exc:
        raise ValueError(str(exc)) from exc


class ProviderMailboxes(BaseModel):
    """A trust's mailboxes; an unset one falls back to the directory pattern."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    trust_cdf_mailbox: str | None = None
    trust_pharmacy_mailbox: str | None = None
    provider_contract_lead: str | None = None

    def get(self, role: RecipientRole) -> str | None:
        return getattr(self, role.value)  # type: ignore[no-any-return]  # a str field


class MailboxPattern(BaseModel):
    """Address patterns with `{ods}` (the lower-case ODS code) for trusts not listed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    trust_cdf_mailbox: str
    trust_pharmacy_mailbox: str
    provider_contract_lead: str

    @field_validator("*")
    @classmethod
    def _only_ods(cls, value: str) -> str:
        if set(placeholders(value)) - {"ods"}:
            raise ValueError(f"{value!r}: the only placeholder allowed is {{ods}}")
        _checked_address(value.replace("{ods}", "rrv"))
        return value


class Directory(BaseModel):
    """Mailboxes by role: central ones, per-trust ones keyed by ODS code, and a default pattern."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    ifr_team_mailbox: str
    finance_mailbox: str
    pattern: MailboxPattern
    providers: dict[str, ProviderMailboxes] = Field(default_factory=dict)
    # each commissioning region's policy team (region ODS code -> mailbox): every region, or none
    regions: dict[str, str] = Field(default_factory=dict)

    @field_validator("ifr_team_mailbox", "finance_mailbox")
    @classmethod
    def _address(cls, value: str) -> str:
        return _checked_address(value)

    @field_validator("providers")
    @classmethod
    def _providers(cls, value: dict[str, ProviderMailboxes]) -> dict[str, ProviderMailboxes]:
        bad = [code for code in value if not is_valid_ods_code(code)]
        if bad:
            raise ValueError(f"not ODS codes: {bad}")
        for mailboxes in value.values():
            for role in PROVIDER_ROLES:
                if (address := mailboxes.get(role)) is not None:
                    _checked_address(address)
        return value

    @field_validator("regions")
    @classmethod
    def _regions(cls, value: dict[str, str]) -> dict[str, str]:
        codes = {code.strip().upper() for code in value}
        if unknown := sorted(codes - REGION_CODES):
            raise ValueError(f"not commissioning region codes: {unknown}")
        if codes and (missing := sorted(REGION_CODES - codes)):
            raise ValueError(f"regions without a policy team mailbox: {missing}")
        return {code.strip().upper(): _checked_address(address) for code, address in value.items()}

    def region_mailbox(self, region: str) -> str | None:
        return self.regions.get(region.strip().upper())

    def provider_mailbox(self, role: RecipientRole, ods: str) -> str:
        code = ods.strip().upper()
        # A site (RRV03) belongs to its trust (RRV): trusts hold the contract and the mailboxes.
        for key in (code, code[:3]):
            entry = self.providers.get(key)
            if entry is not None and (address := entry.get(role)) is not None:
                return address
        # The pattern names trust mailboxes too: a site's mail goes to its trust's mailbox.
        return getattr(self.pattern, role.value).replace("{ods}", code[:3].lower())  # type: ignore[no-any-return]  # a str field

    def central_mailbox(self, role: RecipientRole) -> str:
        return getattr(self, role.value)  # type: ignore[no-any-return]  # a str field


class Route(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    event: str
    template: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    recipients: tuple[RecipientRole, ...] = Field(min_length=1)
    link: str = "/"
    case_reference: str = "{reference}"

    @field_validator("recipients")
    @classmethod
    def _unique(cls, value: tuple[RecipientRole, ...]) -> tuple[RecipientRole, ...]:
        if len(set(value)) != len(value):
            raise ValueError("a role is listed twice")
        return value

    @field_validator("link")
    @classmethod
    def _relative(cls, value: str) -> str:
        # Links are paths under the configured base URL, never another site.
        if not value.startswith("/") or value.startswith("//"):
            raise ValueError("link must be a path starting with a single '/'")
        placeholders(value)
        return value

    @field_validator("case_reference")
    @classmethod
    def _reference(cls, value: str) -> str:
        placeholders(value)
        return value


class Replies(BaseModel):
    """Templates of the inbound gateway's threaded replies."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    acknowledgement: str = "mail_acknowledgement"
    refusal: str = "mail_refusal"


class PayloadKeys(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    requesting_clinician: str = "clinician_email"
    provider_ods: str = "provider_ods"
    region: str = "region"


class MailPolicy(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    secure_domains: tuple[str, ...] = ("nhs.net",)

    @property
    def secure(self) -> SecureDomains:
        return SecureDomains(domains=self.secure_domains)

    @field_validator("secure_domains")
    @classmethod
    def _domains(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return SecureDomains(domains=value).domains


@dataclass(frozen=True)
class Recipient:
    role: RecipientRole
    address: str


@dataclass(frozen=True)
class PlannedNotification:
    """One template to send for one event, to each of `recipients` (one message per recipient)."""

    event_type: str
    template: str
    recipients: tuple[Recipient, ...]
    case_reference: str | None
    link_path: str
    # Roles the payload could not fill (e.g. an IFR event without a clinician address): log them.
    unresolved: tuple[RecipientRole, ...] = ()

    def link(self, base_url: str) -> str:
        return base_url.rstrip("/") + self.link_path


class RoutingTable(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    routes: tuple[Route, ...] = Field(default=(), alias="route")
    replies: Replies = Replies()
    payload: PayloadKeys = PayloadKeys()

    @model_validator(mode="after")
    def _no_duplicate_routes(self) -> RoutingTable:
        pairs = [(r.event, r.template) for r in self.routes]
        if len(set(pairs)) != len(pairs):
            raise ValueError("an event routes to the same template twice")
        return self

    def routes_for(self, event_type: str) -> tuple[Route, ...]:
        return tuple(r for r in self.routes if r.event == event_type)

    def template_names(self) -> frozenset[str]:
        names = {r.template for r in self.routes}
        return frozenset(names | {self.replies.acknowledgement, self.replies.refusal})

    def resolve(self, event_type: str, payload: Mapping[str, Any], directory: Directory) -> list[PlannedNotification]:
        """Planned notifications for one event; an unknown event type routes to nothing."""
        return [self._plan(route, payload, directory) for route in self.routes_for(event_type)]

    def _plan(self, route: Route, payload: Mapping[str, Any], directory: Directory) -> PlannedNotification:
        found: list[Recipient] = []
        unresolved: list[RecipientRole] = []
        for role in route.recipients:
            address = self._address(role, payload, directory)
            if address is None:
                unresolved.append(role)
            elif address.lower() not in {r.address.lower() for r in found}:
                # A clinician who is also the trust mailbox gets one message, not two.
                found.append(Recipient(role, address))
        return PlannedNotification(
            event_type=route.event,
            template=route.template,
            recipients=tuple(found),
            case_reference=_optional_fill(route.case_reference, payload),
            link_path=fill(route.link, payload, url=True),
            unresolved=tuple(unresolved),
        )

    def _address(self, role: RecipientRole, payload: Mapping[str, Any], directory: Directory) -> str | None:
        if role in CENTRAL_ROLES:
            return directory.central_mailbox(role)
        if role in PROVIDER_ROLES:
            ods = payload.get(self.payload.provider_ods)
            return directory.provider_mailbox(role, str(ods)) if ods else None
        if role is RecipientRole.regional_policy_team:
            region = payload.get(self.payload.region)
            return directory.region_mailbox(str(region)) if region else None
        return _payload_address(payload.get(self.payload.requesting_clinician))


def _payload_address(value: object) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return address_of(value)
    except InvalidAddress:
        return None


def _optional_fill(pattern: str, payload: Mapping[str, Any]) -> str | None:
    try:
        return fill(pattern, payload)
    except RoutingError:
        return None  # a case reference helps searching; its absence must not stop the mail


class RoutingConfig(BaseModel):
    """The whole routing file: routes, replies, payload keys, directory and mail policy."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    table: RoutingTable
    directory: Directory
    mail: MailPolicy = MailPolicy()


def parse_routing_config(text: str) -> RoutingConfig:
    """Validate TOML text; raises `pydantic.ValidationError` or `tomllib.TOMLDecodeError`."""
    data = tomllib.loads(text)
    table = {key: data.pop(key) for key in ("route", "replies", "payload") if key in data}
    return RoutingConfig.model_validate({**data, "table": table})


def packaged_routing_config() -> RoutingConfig:
    text = resources.files("notification_service").joinpath("routing.toml").read_text(encoding="utf-8")
    return parse_routing_config(text)
