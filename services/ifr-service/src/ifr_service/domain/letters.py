"""The case's own copy of each letter: plain text, with the reasons in full.

notification-service mails the clinician the minimum (reference, what is needed, a link); the full
letter with the panel's reasons is what the case keeps and what the link shows. The wording lives in
versioned Jinja templates (`ifr_service/letters`, listed in its `letters.toml`), rendered in the
platform's prose environment (`casework.prose`); each letter on file records the template and the
version it was written from. Subjects carry the case reference only, never a patient identifier.
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from jinja2 import PackageLoader, Template
from jinja2.sandbox import ImmutableSandboxedEnvironment

from casework.prose import prose_environment

_FOLDER = "letters"
_BASE = "letter.txt.j2"
# What a letter may be written without (the template then leaves that sentence out); any other
# value a template prints must be in the event, or the render fails (StrictUndefined).
OPTIONAL_FIELDS = (
    "clinician_name",
    "screening_due",
    "respond_by",
    "redirected_to",
    "explanation",
    "basis",
    "conditions",
    "approved_cost",
    "ratification_due",
    "supersedes",
)
_OUTCOME_WORDS = {
    "approved": "approved",
    "approved_with_conditions": "approved with conditions",
    "declined": "not approved",
}


@dataclass(frozen=True)
class LetterTemplate:
    name: str
    event: str
    kind: str
    subject: str
    version: int
    digest: str  # of its wording as recorded in letters.toml: a changed wording needs a new version

    @property
    def body_file(self) -> str:
        return f"{self.name}.txt.j2"


@dataclass(frozen=True)
class Letter:
    kind: str
    subject: str
    body: str
    template: str
    version: int


def _outcome_in_words(outcome: str) -> str:
    return _OUTCOME_WORDS.get(outcome, outcome)


@cache
def _environment() -> ImmutableSandboxedEnvironment:
    # trim_blocks: each conditional paragraph sits on lines of its own in the templates
    env = prose_environment(trim_blocks=True, loader=PackageLoader("ifr_service", _FOLDER))
    env.filters["outcome_in_words"] = _outcome_in_words
    return env


@cache
def letter_templates() -> Mapping[str, LetterTemplate]:
    """The packaged letter templates by the event type that sends each."""
    loader = _environment().loader
    assert loader is not None
    manifest = tomllib.loads(loader.get_source(_environment(), "letters.toml")[0])
    templates = [LetterTemplate(name=name, **entry) for name, entry in manifest.items()]
    return {t.event: t for t in templates}


def wording_digest(template: LetterTemplate) -> str:
    """A digest of everything that makes a template's wording: its subject, its body and the letter frame."""
    env = _environment()
    assert env.loader is not None
    parts = [template.subject, *(env.loader.get_source(env, f)[0] for f in (template.body_file, _BASE))]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]


@cache
def _subject(text: str) -> Template:
    # compiled once per subject line: rendering a letter should not compile its subject again
    return _environment().from_string(text)


# event type -> letter kind (what the console and the API call each letter)
LETTER_EVENTS: Mapping[str, str] = {event: t.kind for event, t in letter_templates().items()}


def render(event_type: str, data: Mapping[str, Any]) -> Letter | None:
    """The letter an event sends, or None when the event sends no letter."""
    template = letter_templates().get(event_type)
    if template is None:
        return None
    env = _environment()
    context = {field: None for field in OPTIONAL_FIELDS} | dict(data)
    return Letter(
        kind=template.kind,
        subject=_subject(template.subject).render(context),
        body=env.get_template(template.body_file).render(context),
        template=template.name,
        version=template.version,
    )
