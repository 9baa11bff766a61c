"""The service's configuration objects built from its settings: routing table, mail identity, policy.

Loaded once per routing file (the packaged `routing.toml` unless `ROUTING_FILE` names another) and
shared by the routing handlers, the sender and the inbound gateway.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from casework.settings import ServiceSettings
from notification_service.domain.message import MailIdentity
from notification_service.domain.routing import RoutingConfig, packaged_routing_config, parse_routing_config
from notification_service.domain.secure_domains import SecureDomains
from notification_service.settings import NotificationSettings


def notification_settings(settings: ServiceSettings | None) -> NotificationSettings:
    if not isinstance(settings, NotificationSettings):
        raise TypeError("the notification service runs with NotificationSettings")
    return settings


@cache
def routing_config(path: str | None = None) -> RoutingConfig:
    """The routing file, validated (a bad edit fails at start-up, not at the first event)."""
    if path is None:
        return packaged_routing_config()
    return parse_routing_config(Path(path).read_text(encoding="utf-8"))


def config_of(settings: ServiceSettings | None) -> RoutingConfig:
    return routing_config(notification_settings(settings).routing_file)


def secure_domains(settings: ServiceSettings | None) -> SecureDomains:
    return config_of(settings).mail.secure


def mail_identity(settings: NotificationSettings) -> MailIdentity:
    return MailIdentity(
        from_address=settings.mail_from,
        message_id_domain=settings.message_id_domain,
        display_name=settings.mail_from_name,
    )
