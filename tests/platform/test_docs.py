"""The READMEs document every setting the code reads."""

import re
from pathlib import Path

import pytest

from casework.services import SERVICE_NAMES, load_definition
from casework.settings import ServiceSettings

ROOT = Path(__file__).resolve().parents[2]


def test_root_readme_lists_every_common_setting() -> None:
    readme = (ROOT / "README.md").read_text()
    missing = [name.upper() for name in ServiceSettings.model_fields if f"`{name.upper()}`" not in readme]
    assert not missing, f"README.md configuration table lacks {missing}"


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_service_readme_lists_its_own_settings(name: str) -> None:
    settings_class = load_definition(name).settings_class
    own = [f for f in settings_class.model_fields if f not in ServiceSettings.model_fields]
    readme = (ROOT / "services" / f"{name}-service" / "README.md").read_text()
    missing = [f.upper() for f in own if f"`{f.upper()}`" not in readme]
    assert not missing, f"{name}-service README lacks {missing}"


def test_doc_links_resolve() -> None:
    """Relative links in docs/ reach a file inside the repository, and a `#section` reaches a heading of
    it (GitHub's slugs)."""
    broken = []
    for page in (ROOT / "docs").glob("*.md"):
        for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text()):
            if target.startswith(("http:", "https:", "mailto:")):
                continue
            path, _, anchor = target.partition("#")
            file = (page.parent / path).resolve() if path else page
            if not file.is_relative_to(ROOT):
                broken.append(f"{page.name}: {target} (outside the repository)")
            elif not file.exists():
                broken.append(f"{page.name}: {target}")
            elif anchor and anchor not in {_slug(h) for h in re.findall(r"^#+ (.+)$", file.read_text(), re.M)}:
                broken.append(f"{page.name}: {target} (no such heading)")
    assert not broken, broken


def _slug(heading: str) -> str:
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def test_the_docs_name_no_page_outside_the_repository() -> None:
    """The repository carries its own architecture: no README or docs page sends a reader to a file
    beside the repository (the design pages a project started from are not shipped with it)."""
    pages = [ROOT / "README.md", *(ROOT / "docs").glob("*.md"), *(ROOT / "services").glob("*/README.md")]
    outside = [str(p.relative_to(ROOT)) for p in pages if "../shared/" in p.read_text()]
    assert outside == []


def test_the_architecture_page_lists_every_event_with_the_services_that_consume_it() -> None:
    """The event table of docs/architecture.md, row for row: each registered event type on its topic,
    and under *consumed by* exactly the services whose consumers subscribe to it."""
    from casework.events import registry

    consumers: dict[str, set[str]] = {}
    for name in SERVICE_NAMES:
        for event_type in load_definition(name).handlers:
            consumers.setdefault(event_type, set()).add(name)
    expected = {t.name: (t.topic, consumers.get(t.name, set())) for t in registry}
    text = (ROOT / "docs" / "architecture.md").read_text()
    rows = re.findall(r"^\| `([a-z.]+)` \| `([a-z_.]+)` \| ([^|]+) \|", text, re.M)
    listed = {event: (topic, {s.strip() for s in by.split(",")} - {"–"}) for topic, event, by in rows}
    assert listed == expected


def test_architecture_links_the_mail_page() -> None:
    assert "(mail.md)" in (ROOT / "docs" / "architecture.md").read_text()


def test_console_readme_lists_its_own_settings() -> None:
    from casework.settings import PlatformSettings
    from web_console.settings import ConsoleSettings

    own = [f for f in ConsoleSettings.model_fields if f not in PlatformSettings.model_fields]
    readme = (ROOT / "services" / "web-console" / "README.md").read_text()
    missing = [f.upper() for f in own if f"`{f.upper()}`" not in readme and f.upper() not in readme]
    assert not missing, f"web-console README lacks {missing}"
