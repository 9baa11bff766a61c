"""One generic handler for every routed event type: the routing table decides template and recipients.

Runs inside the inbox's transaction, so the queued notifications commit together with the record
that the event was handled: a redelivered event queues nothing twice. A payload the route cannot
use (a missing link field), a template that does not render or a mail that would carry a patient
identifier raises, so the event is retried and then dead-lettered for staff to see, never half-sent.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from casework.inbox import Handler, ReceivedEvent
from casework.logs import get_logger
from notification_service.config import config_of, mail_identity, notification_settings
from notification_service.db.queue import Cause, enqueue
from notification_service.db.templates import load_template_set
from notification_service.domain.routing import PlannedNotification, RoutingConfig
from notification_service.domain.templates import TemplateSet, template_context
from notification_service.runtime import NotificationUnitOfWork

log = get_logger(__name__)


async def route_event(uow: NotificationUnitOfWork, event: ReceivedEvent[BaseModel]) -> None:
    config = config_of(uow.settings)
    payload: dict[str, Any] = event.envelope.data
    plans = config.table.resolve(event.envelope.type, payload, config.directory)
    if not plans:
        return
    templates = await load_template_set(uow.session)
    for plan in plans:
        await _queue_plan(uow, event, plan, payload, templates, config)


async def _queue_plan(
    uow: NotificationUnitOfWork,
    event: ReceivedEvent[BaseModel],
    plan: PlannedNotification,
    payload: dict[str, Any],
    templates: TemplateSet,
    config: RoutingConfig,
) -> None:
    settings = notification_settings(uow.settings)
    if plan.unresolved:
        log.warning(
            "route roles without an address",
            event_id=str(event.envelope.id),
            event_type=plan.event_type,
            roles=[r.value for r in plan.unresolved],
        )
    link = plan.link(settings.frontend_base_url)
    rendered = templates.render(plan.template, template_context(payload, link=link, case_reference=plan.case_reference))
    provider = payload.get(config.table.payload.provider_ods)
    patient = payload.get("patient_ref")  # the events' one name for a patient, kept for the IG audit
    cause = Cause(
        event_id=event.envelope.id,
        event_type=event.envelope.type,
        case_reference=plan.case_reference,
        provider_ods=str(provider) if provider else None,
        patient_ref=str(patient) if patient else None,
        link=link,
    )
    for recipient in plan.recipients:
        await enqueue(
            uow.session,
            rendered,
            recipient.address,
            cause,
            mail_identity(settings),
            config.mail.secure,
            role=recipient.role.value,
        )


def routing_handlers(config: RoutingConfig) -> dict[str, Handler]:
    """The consumer's handlers: every event type that has a route."""
    return {route.event: route_event for route in config.table.routes}
