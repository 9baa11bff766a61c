"""The READMEs document every setting the code reads."""

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
