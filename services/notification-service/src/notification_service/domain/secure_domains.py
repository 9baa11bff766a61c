"""Accredited secure mail domains (DCB1596): who may send us applications, who needs `[secure]`.

One rule serves both directions: an address is covered when its domain is a listed domain or a
subdomain of one. Matching is on whole labels, so `nhs.net.evil.com` and `evilnhs.net` are not covered.
"""

from __future__ import annotations

import re
from email.utils import parseaddr

from pydantic import BaseModel, ConfigDict, field_validator

# ASCII labels only: an internationalised look-alike (Cyrillic "е" in "nhs.nеt") is never covered.
_DOMAIN = re.compile(r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")

DEFAULT_SECURE_DOMAINS: tuple[str, ...] = ("nhs.net",)


class InvalidAddress(ValueError):
    """Not a single plain `local@domain` mailbox."""


def normalise_domain(domain: str) -> str:
    """Lower case without a trailing root dot; DNS names compare case-insensitively."""
    return domain.strip().rstrip(".").lower()


def address_of(value: str) -> str:
    """The bare mailbox of a header value (`Dr A <a@nhs.net>` -> `a@nhs.net`), checked for shape."""
    _, address = parseaddr(value)
    # Exactly one "@" so `a@nhs.net@evil.com` cannot pass as an nhs.net sender.
    if address.count("@") != 1:
        raise InvalidAddress(f"not a single mailbox: {value!r}")
    local, domain = address.split("@")
    if not local or not _DOMAIN.match(normalise_domain(domain)):
        raise InvalidAddress(f"not a single mailbox: {value!r}")
    return f"{local}@{normalise_domain(domain)}"


def address_or_none(value: str) -> str | None:
    """`address_of`, or None for a value that is not a single mailbox (a form field, a header)."""
    try:
        return address_of(value)
    except InvalidAddress:
        return None


def domain_of(address: str) -> str:
    return address_of(address).split("@")[1]


class SecureDomains(BaseModel):
    """A configurable list of accredited secure domains (default: nhs.net only)."""

    model_config = ConfigDict(frozen=True)

    domains: tuple[str, ...] = DEFAULT_SECURE_DOMAINS

    @field_validator("domains")
    @classmethod
    def _well_formed(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        cleaned = tuple(normalise_domain(d) for d in value)
        bad = [d for d in cleaned if not _DOMAIN.match(d)]
        if bad:
            raise ValueError(f"not domain names: {bad}")
        return cleaned

    def covers_domain(self, domain: str) -> bool:
        candidate = normalise_domain(domain)
        if not _DOMAIN.match(candidate):
            return False
        return any(candidate == d or candidate.endswith("." + d) for d in self.domains)

    def covers(self, address: str) -> bool:
        """True when the mailbox is on a secure domain; a malformed address is never covered."""
        try:
            return self.covers_domain(domain_of(address))
        except InvalidAddress:
            return False
