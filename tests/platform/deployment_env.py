"""What a deployment (docker-compose.yml, deploy/kubernetes) must give each process, checked the same way
for both: every variable it sets is a setting the process reads, and it sets whatever the embedded run
sets, less what only the embedded run needs."""

from pathlib import Path

from pydantic_settings import BaseSettings

from casework.services import load_definition
from embedded_stack.layout import StackLayout

# Tunings the embedded run needs for Tansu (and its faster outbox poll); Apache Kafka uses the defaults.
EMBEDDED_ONLY = {
    "KAFKA_ENABLE_IDEMPOTENCE",  # Tansu has no idempotent producer; Apache Kafka keeps the default (on)
    "KAFKA_FETCH_MAX_WAIT_MS",
    "KAFKA_SESSION_TIMEOUT_MS",
    "KAFKA_HEARTBEAT_INTERVAL_MS",
    "KAFKA_REBALANCE_TIMEOUT_MS",
    "OUTBOX_POLL_INTERVAL_S",
    "SERVICE_NAME",  # the image names the service (CASEWORK_SERVICE); the settings class has it
    "JWT_SECRET",  # dev tokens: the embedded run and tests only (production refuses a dev key)
    "INBOUND_DNS_SERVER",  # the dev zone the sender checks ask; a deployment asks real DNS
}
CONSOLE = "console"


def settings_class(name: str) -> type[BaseSettings]:
    """The settings class of a service, or of the console."""
    if name == CONSOLE:
        from web_console.settings import ConsoleSettings

        return ConsoleSettings
    return load_definition(name).settings_class


def unread_variables(name: str, variables: set[str]) -> set[str]:
    """Variables no setting of the process reads (a typo, or a setting that was removed)."""
    fields = settings_class(name).model_fields
    return {variable for variable in variables if variable.lower() not in fields}


def missing_from_embedded_run(
    name: str, variables: set[str], root: Path, also_not_needed: frozenset[str] = frozenset()
) -> set[str]:
    """Settings `make up` gives the process that the deployment does not, so a container is not left on a
    default that only works on 127.0.0.1."""
    layout = StackLayout(root)
    embedded = layout.console_env() if name == CONSOLE else layout.service_env(name)
    fields = settings_class(name).model_fields
    needed = {key for key in embedded if key.lower() in fields}
    return needed - EMBEDDED_ONLY - also_not_needed - variables
