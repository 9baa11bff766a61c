"""Versioned mail templates (Jinja2): subject, plain text and HTML, with the patient-identifier guard.

Packaged defaults live in `notification_service/templates` as version 1; edited versions come from the
database as `TemplateSource`s and take precedence over a packaged one of the same name and version.
Templates run in Jinja's sandbox because staff edit them through the API.
"""

from __future__ import annotations

import re
import textwrap
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from functools import lru_cache
from importlib import resources
from typing import Any

from jinja2 import Template, TemplateError, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

from casework.prose import long_date, prose_environment
from notification_service.domain.secure_domains import SecureDomains

PACKAGED_VERSION = 1
SECURE_PREFIX = "[secure]"
# Payload keys whose values must never appear in a subject (and, by the same check, in a body).
IDENTIFIER_KEYS = frozenset({"nhs_number", "patient_name", "date_of_birth", "patient_ref"})
# Names a staff-edited subject may not print, at any depth (`patient.nhs_number`, `application["surname"]`):
# the platform's identifier keys and the other ways a payload could name the patient or their number.
_IDENTIFIER_NAME = re.compile(
    r"(?:^|_)(?:nhs_?(?:number|no|num)|patient_(?:name|ref|id)|local_patient_id|hospital_number|mrn"
    r"|forenames?|surname|given_names?|family_name|first_name|last_name|full_name|date_of_birth|dob|birth_date)"
    r"(?:$|_)",
    re.IGNORECASE,
)

# Any ten digits in the printed NHS-number grouping (3-3-4), valid check digit or not: a subject
# is read by mail systems outside our control, so a near miss is treated as a hit.
_TEN_DIGITS = re.compile(r"(?<!\d)\d{3}[\s.-]?\d{3}[\s.-]?\d{4}(?!\d)")
_MONTHS = "jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec"
# A date of birth cannot be told from any other date, so subjects carry no dates at all.
_DATE = re.compile(
    r"\b\d{4}-\d{1,2}-\d{1,2}\b"
    r"|\b\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}\b"
    rf"|\b\d{{1,2}}(?:st|nd|rd|th)?\s+(?:{_MONTHS})[a-z]*\.?,?\s+\d{{2,4}}\b"
    rf"|\b(?:{_MONTHS})[a-z]*\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}\b",
    re.IGNORECASE,
)
_TEXT_WIDTH = 76


class TemplatePart(StrEnum):
    subject = "subject"
    text = "txt"
    html = "html"


class TemplateNotFound(LookupError):
    pass


class TemplateRenderError(ValueError):
    """The template does not compile or needs a value the context lacks (StrictUndefined)."""


class PatientIdentifierInMail(ValueError):
    """A rendered subject or body would carry a patient identifier; nothing may be sent."""


@dataclass(frozen=True)
class TemplateSource:
    name: str
    version: int
    subject: str
    text: str
    html: str

    def part(self, part: TemplatePart) -> str:
        return {TemplatePart.subject: self.subject, TemplatePart.text: self.text}.get(part, self.html)


@dataclass(frozen=True)
class RenderedMail:
    template: str
    version: int
    subject: str
    text: str
    html: str


_PLAIN = prose_environment(autoescape=False)
_HTML = prose_environment(autoescape=True)


def identifier_values(payload: Mapping[str, Any]) -> set[str]:
    """Values under identifier keys anywhere in the payload, in the forms a template could print."""
    found: set[str] = set()
    for key, value in _walk(payload):
        if key in IDENTIFIER_KEYS and value not in (None, ""):
            found |= _printed_forms(value)
    return found


def _walk(value: Any, key: str | None = None) -> Iterator[tuple[str | None, Any]]:
    if isinstance(value, Mapping):
        for k, v in value.items():
            yield from _walk(v, str(k))
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _walk(item, key)
    else:
        yield key, value


def _printed_forms(value: Any) -> set[str]:
    text = str(value).strip()
    forms = {text, re.sub(r"[\s-]", "", text)}
    parsed = value if isinstance(value, date) else _iso_date(text)
    if parsed is not None:
        forms |= {parsed.isoformat()[:10], f"{parsed:%d/%m/%Y}", long_date(parsed), f"{parsed:%d %b %Y}"}
    return {f for f in forms if f}


def _iso_date(text: str) -> date | None:
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None


# A case reference our services issue: a letter prefix joined to the rest (CDF-1A2B3C4D5E, IFR-2026-000456).
_OWN_REFERENCE = re.compile(r"^[A-Za-z]{2,}[-/][A-Za-z0-9/-]+$")
REFERENCE_KEYS = ("case_reference", "reference")


def _without_own_references(subject: str, payload: Mapping[str, Any]) -> str:
    """The subject with the case's own reference taken out, so a reference whose digits happen to
    form ten in a row (CDF-1234567890) is not mistaken for an NHS number; a bare number is never
    treated as a reference."""
    for key in REFERENCE_KEYS:
        value = payload.get(key)
        if isinstance(value, str) and _OWN_REFERENCE.match(value):
            subject = subject.replace(value, " ")
    return subject


def subject_problems(subject: str, payload: Mapping[str, Any]) -> list[str]:
    """Why a subject may not be sent; empty when it is clean. Problems never quote the value."""
    problems = []
    if _TEN_DIGITS.search(_without_own_references(subject, payload)):
        problems.append("subject contains a ten-digit number (possible NHS number)")
    if _DATE.search(subject):
        problems.append("subject contains a date (possible date of birth)")
    if _mentions_identifier(subject, payload):
        problems.append("subject contains a patient identifier from the payload")
    return problems


def redact_identifiers(text: str, payload: Mapping[str, Any] | None = None) -> str:
    """Replace NHS-number-like sequences, dates and the payload's identifier values with `[removed]`.

    For text we did not write (an inbound subject) that must travel on the bus or into a reply.
    """
    redacted = _DATE.sub("[removed]", _TEN_DIGITS.sub("[removed]", text))
    for value in sorted(identifier_values(payload or {}), key=len, reverse=True):
        redacted = re.sub(re.escape(value), "[removed]", redacted, flags=re.IGNORECASE)
    return redacted


def body_problems(body: str, payload: Mapping[str, Any]) -> list[str]:
    # Bodies may carry dates and references, so only the payload's own identifiers are refused.
    if _mentions_identifier(body, payload):
        return ["body contains a patient identifier from the payload"]
    return []


def _mentions_identifier(text: str, payload: Mapping[str, Any]) -> bool:
    folded = text.casefold()
    squeezed = re.sub(r"[\s-]", "", folded)
    return any(v.casefold() in folded or v.casefold() in squeezed for v in identifier_values(payload))


def secure_subject(subject: str, recipient: str, secure_domains: SecureDomains) -> str:
    """Prefix `[secure]` for recipients outside accredited secure domains, so NHSmail encrypts."""
    if secure_domains.covers(recipient) or subject.lower().startswith(SECURE_PREFIX):
        return subject
    return f"{SECURE_PREFIX} {subject}"


def template_context(payload: Mapping[str, Any], *, link: str, case_reference: str | None) -> dict[str, Any]:
    """What templates see: the event payload plus the link and case reference the service adds."""
    return {**payload, "link": link, "case_reference": case_reference or ""}


def _one_line(subject: str) -> str:
    # A newline in a subject would be a header injection; templates cannot produce one.
    return " ".join(subject.split())


def _wrap(text: str) -> str:
    """Wrap paragraphs at 76 columns without breaking links (RFC 5322 recommends 78)."""
    lines = []
    for line in text.splitlines():
        wrapped = textwrap.wrap(line, _TEXT_WIDTH, break_long_words=False, break_on_hyphens=False)
        lines.extend(wrapped or [""])
    return "\n".join(lines) + "\n"


class TemplateSet:
    """Every known template version; renders one by name and version (latest when not given)."""

    def __init__(self, sources: Iterable[TemplateSource] = (), samples: Mapping[str, Any] | None = None):
        self._sources: dict[tuple[str, int], TemplateSource] = {}
        for source in sources:
            self._sources[(source.name, source.version)] = source  # later wins: stored edits override
        self._samples: dict[str, dict[str, Any]] = dict(samples or {})

    @classmethod
    def packaged(cls, stored: Iterable[TemplateSource] = ()) -> TemplateSet:
        """The packaged defaults (version 1) overlaid with versions stored in the database."""
        return cls([*packaged_sources(), *stored], packaged_samples())

    def names(self) -> frozenset[str]:
        return frozenset(name for name, _ in self._sources)

    def versions(self, name: str) -> list[int]:
        return sorted(v for n, v in self._sources if n == name)

    def source(self, name: str, version: int | None = None) -> TemplateSource:
        versions = self.versions(name)
        chosen = versions[-1] if versions and version is None else version
        if (name, chosen) not in self._sources:
            raise TemplateNotFound(f"no template {name!r} version {version or 'latest'}")
        return self._sources[(name, chosen)]  # type: ignore[index]  # found above

    def sample(self, name: str) -> dict[str, Any]:
        if name not in self._samples:
            raise TemplateNotFound(f"no sample data for template {name!r}")
        return dict(self._samples[name])

    def render(self, name: str, context: Mapping[str, Any], version: int | None = None) -> RenderedMail:
        """Render all three parts; raises `PatientIdentifierInMail` rather than return an unsafe mail."""
        return render_source(self.source(name, version), context)

    def preview(self, name: str, version: int | None = None) -> RenderedMail:
        return self.render(name, self.sample(name), version)


def render_source(source: TemplateSource, context: Mapping[str, Any]) -> RenderedMail:
    rendered = _unguarded(source, context)
    problems = subject_problems(rendered.subject, context) + body_problems(rendered.text + rendered.html, context)
    if problems:
        raise PatientIdentifierInMail(f"template {source.name} v{source.version}: {'; '.join(problems)}")
    return rendered


def _unguarded(source: TemplateSource, context: Mapping[str, Any]) -> RenderedMail:
    subject = _one_line(_render(_PLAIN, source.subject, context))
    text = _wrap(_render(_PLAIN, source.text, context))
    html = _render(_HTML, source.html, context)
    return RenderedMail(source.name, source.version, subject, text, html)


def _rendered_problems(rendered: RenderedMail, sample: Mapping[str, Any]) -> list[str]:
    """The guard's problems, each named by its part, so an editor sees which one to change."""
    problems = [f"subject: {p.removeprefix('subject ')}" for p in subject_problems(rendered.subject, sample)]
    problems += [f"text: {p.removeprefix('body ')}" for p in body_problems(rendered.text, sample)]
    problems += [f"html: {p.removeprefix('body ')}" for p in body_problems(rendered.html, sample)]
    return problems


@lru_cache(maxsize=512)
def _compiled(autoescape: bool, template: str) -> Template:
    # Compiling is most of a render's cost; the same source compiles to the same template every time.
    return (_HTML if autoescape else _PLAIN).from_string(template)


def _render(env: ImmutableSandboxedEnvironment, template: str, context: Mapping[str, Any]) -> str:
    try:
        return _compiled(env is _HTML, template).render(context)
    except TemplateError as exc:
        raise TemplateRenderError(f"{type(exc).__name__}: {exc}") from exc


def check_source(source: TemplateSource, sample: Mapping[str, Any]) -> list[str]:
    """Problems with a proposed template version (for `PUT /templates/{name}`); empty when it is fine.

    Each part is checked on its own so a problem names the part; the subject may not even mention
    an identifier field (whatever the sample holds); then the whole mail is rendered with the sample
    through the same guard as a real send.
    """
    problems = [f"{part.name}: {p}" for part in TemplatePart for p in _part_problems(source, part, sample)]
    if problems:
        return problems
    try:
        return _rendered_problems(_unguarded(source, sample), sample)
    except TemplateRenderError as exc:
        return [str(exc)]


def _part_problems(source: TemplateSource, part: TemplatePart, sample: Mapping[str, Any]) -> list[str]:
    env = _HTML if part is TemplatePart.html else _PLAIN
    try:
        named = identifier_names(env.parse(source.part(part)))
        if part is TemplatePart.subject and named:
            return [f"uses the patient identifier field(s) {', '.join(named)}; subjects carry no patient identifiers"]
        env.from_string(source.part(part)).render(sample)
    except TemplateError as exc:
        return [f"{type(exc).__name__}: {exc}"]
    return []


def identifier_names(parsed: nodes.Template) -> list[str]:
    """Names in a template that look like a patient identifier, however they are reached: a variable,
    an attribute (`patient.nhs_number`) or a constant key (`application["surname"]`)."""
    found = {n.name for n in parsed.find_all(nodes.Name)}
    found |= {n.attr for n in parsed.find_all(nodes.Getattr)}
    found |= {
        str(n.arg.value)
        for n in parsed.find_all(nodes.Getitem)
        if isinstance(n.arg, nodes.Const) and isinstance(n.arg.value, str)
    }
    return sorted(name for name in found if name in IDENTIFIER_KEYS or _IDENTIFIER_NAME.search(name))


def _template_files() -> Any:
    return resources.files("notification_service").joinpath("templates")


def packaged_sources() -> list[TemplateSource]:
    folder = _template_files()
    names = sorted(f.name.removesuffix(".subject.j2") for f in folder.iterdir() if f.name.endswith(".subject.j2"))
    return [_packaged_source(folder, name) for name in names]


def _packaged_source(folder: Any, name: str) -> TemplateSource:
    def read(part: TemplatePart) -> str:
        return str(folder.joinpath(f"{name}.{part.value}.j2").read_text(encoding="utf-8"))

    return TemplateSource(
        name=name,
        version=PACKAGED_VERSION,
        subject=read(TemplatePart.subject),
        text=read(TemplatePart.text),
        html=read(TemplatePart.html),
    )


def packaged_samples() -> dict[str, dict[str, Any]]:
    text = _template_files().joinpath("samples.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)
