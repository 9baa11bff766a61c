"""Mail templates: list, read a version, store a new version (checked first), preview.

Packaged files are version 1; every accepted PUT stores the next version, which new mail uses at
once. A version is never changed or deleted, so what a sent mail was rendered from stays known.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Response

from casework.auth import Principal, require_roles
from casework.concurrency import IfMatch, set_etag
from casework.problems import NotFound, field_problem
from notification_service.access import STAFF_ROLES, TEMPLATE_EDITORS
from notification_service.api.schemas import (
    TEMPLATE_NAME,
    PreviewOut,
    PreviewRequest,
    TemplateEdit,
    TemplateOut,
    TemplateSummary,
)
from notification_service.config import config_of
from notification_service.db.templates import load_template_set, packaged_names, stored_versions
from notification_service.domain.templates import (
    PACKAGED_VERSION,
    PatientIdentifierInMail,
    TemplateNotFound,
    TemplateRenderError,
    TemplateSet,
)
from notification_service.runtime import Runtime, Uow
from notification_service.use_cases.templates import store_version

router = APIRouter(prefix="/templates", tags=["templates"])
Reader = Annotated[Principal, Depends(require_roles(*STAFF_ROLES))]
Editor = Annotated[Principal, Depends(require_roles(*TEMPLATE_EDITORS))]
Name = Annotated[str, Path(pattern=TEMPLATE_NAME)]


def _origin(version: int, name: str) -> Literal["packaged", "stored"]:
    return "packaged" if version == PACKAGED_VERSION and name in packaged_names() else "stored"


@router.get("", response_model=list[TemplateSummary])
async def list_templates(uow: Uow, runtime: Runtime, principal: Reader) -> list[TemplateSummary]:
    templates = await load_template_set(uow.session)
    table = config_of(runtime.settings).table
    replies = {table.replies.acknowledgement, table.replies.refusal}
    return [
        TemplateSummary(
            name=name,
            latest_version=templates.versions(name)[-1],
            versions=templates.versions(name),
            origin=_origin(templates.versions(name)[-1], name),
            routed_events=sorted(r.event for r in table.routes if r.template == name),
            gateway_reply=name in replies,
        )
        for name in sorted(templates.names())
    ]


async def _one(uow: Uow, name: str) -> TemplateSet:
    templates = await load_template_set(uow.session, name)
    if name not in templates.names():
        raise NotFound(f"template {name} not found")
    return templates


async def _out(uow: Uow, templates: TemplateSet, name: str, version: int | None) -> TemplateOut:
    try:
        source = templates.source(name, version)
    except TemplateNotFound:
        raise NotFound(f"template {name} has no version {version}") from None
    stored = {r.version: r for r in await stored_versions(uow.session, name)}
    row = stored.get(source.version)
    return TemplateOut(
        name=name,
        version=source.version,
        latest_version=templates.versions(name)[-1],
        versions=templates.versions(name),
        origin=_origin(source.version, name),
        subject=source.subject,
        text=source.text,
        html=source.html,
        created_by=row.created_by if row else None,
        created_at=row.created_at if row else None,
    )


@router.get("/{name}", response_model=TemplateOut)
async def get_template(
    name: Name,
    uow: Uow,
    principal: Reader,
    response: Response,
    version: Annotated[int | None, Query(ge=1)] = None,
) -> TemplateOut:
    """A version of a template (the latest by default); the ETag is the latest version, for PUT."""
    templates = await _one(uow, name)
    out = await _out(uow, templates, name, version)
    set_etag(response, out.latest_version)
    return out


@router.put("/{name}", response_model=TemplateOut)
async def put_template(
    name: Name,
    body: TemplateEdit,
    uow: Uow,
    principal: Editor,
    response: Response,
    if_match: IfMatch = None,
) -> TemplateOut:
    """Store a new version after checking it renders with the sample data and carries no identifiers.

    Changing an existing template needs `If-Match` with its ETag (the latest version); a new
    template name needs `sample` data to be checked against.
    """
    version = await store_version(
        uow,
        name,
        subject=body.subject,
        text=body.text,
        html=body.html,
        sample=body.sample,
        if_match=if_match,
        principal=principal,
    )
    await uow.commit()
    out = await _out(uow, await load_template_set(uow.session, name), name, version)
    set_etag(response, version)
    return out


@router.post("/{name}/preview", response_model=PreviewOut)
async def preview_template(name: Name, uow: Uow, principal: Reader, body: PreviewRequest | None = None) -> PreviewOut:
    """Render a version with the sample data or the given context; nothing is sent or stored."""
    request = body or PreviewRequest()
    templates = await _one(uow, name)
    try:
        context: dict[str, Any] = request.context if request.context is not None else templates.sample(name)
        rendered = templates.render(name, context, request.version)
    except TemplateNotFound as exc:
        raise NotFound(str(exc)) from None
    except (TemplateRenderError, PatientIdentifierInMail) as exc:
        raise field_problem("context", str(exc)) from None
    return PreviewOut(
        name=name, version=rendered.version, subject=rendered.subject, text=rendered.text, html=rendered.html
    )
