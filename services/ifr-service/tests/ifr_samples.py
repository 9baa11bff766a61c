"""A complete application: the API's own OpenAPI example (a 999 test NHS number)."""

import copy
from typing import Any

from ifr_service.api.examples import APPLICATION_EXAMPLE

COMPLETE: dict[str, Any] = copy.deepcopy(APPLICATION_EXAMPLE)
