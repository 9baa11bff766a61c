"""Storing a new version of a mail template: checked first to render with the sample data and to carry
no patient identifiers; a change to an existing template names the version it was made from (If-Match
on the latest), a new template brings its own sample. Versions are never changed: two editors storing
the same version number, the second hears the template changed meanwhile."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert

from casework.auth import Principal
from casework.concurrency import require_version
from casework.problems import PreconditionFailed, Unprocessable, field_problem
from notification_service.db.models import TemplateVersion
from notification_service.db.templates import load_template_set
from notification_service.domain.templates import TemplateSource, check_source
from notification_service.runtime import NotificationUnitOfWork


async def store_version(
    uow: NotificationUnitOfWork,
    name: str,
    *,
    subject: str,
    text: str,
    html: str,
    sample: dict[str, Any] | None,
    if_match: str | None,
    principal: Principal,
) -> int:
    """The number of the version stored with its audit row (not committed), or the problem that stops it."""
    templates = await load_template_set(uow.session, name)
    exists = name in templates.names()
    if exists:
        latest = templates.versions(name)[-1]
        require_version(if_match, latest)
        checked_with = sample if sample is not None else templates.sample(name)
    elif sample is None:
        raise field_problem("sample", "required for a new template: what to check it against")
    else:
        latest, checked_with = 0, sample
    version = latest + 1
    problems = check_source(TemplateSource(name, version, subject, text, html), checked_with)
    if problems:
        raise Unprocessable("; ".join(problems), errors=[{"field": _field_of(p), "message": p} for p in problems])
    inserted = await uow.session.scalar(
        pg_insert(TemplateVersion)
        .values(
            name=name, version=version, subject=subject, text=text, html=html, sample=sample, created_by=principal.sub
        )
        .on_conflict_do_nothing()
        .returning(TemplateVersion.version)
    )
    if inserted is None:  # another editor stored this version number first
        raise PreconditionFailed(f"template {name} changed meanwhile; reload and retry", current_version=version)
    uow.audit(principal, "store_version", "template", name, detail={"version": version})
    return version


def _field_of(problem: str) -> str:
    part = problem.split(":", 1)[0]
    return part if part in ("subject", "text", "html") else "template"
