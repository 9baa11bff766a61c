"""docker-compose.yml cannot run here (no Docker engine); check it agrees with the code instead."""

from pathlib import Path

import pytest
import yaml

from casework.services import SERVICE_NAMES, load_definition

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_infrastructure_services_present() -> None:
    services = COMPOSE["services"]
    assert services["postgres"]["image"].startswith("postgres:")
    assert services["kafka"]["image"].startswith("apache/kafka:")
    assert services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"  # KRaft, no ZooKeeper
    assert "mail-relay" in services
    init = (ROOT / "deploy/postgres/init-databases.sql").read_text()
    assert all(f"CREATE DATABASE {name};" in init for name in SERVICE_NAMES)


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_service_matches_its_settings(name: str) -> None:
    service = COMPOSE["services"][name]
    settings_class = load_definition(name).settings_class
    defaults = settings_class()
    assert service["image"] == f"casework/{name}-service:latest"
    assert service["build"] == {"context": ".", "dockerfile": "deploy/Dockerfile", "args": {"SERVICE": name}}
    assert (ROOT / service["build"]["dockerfile"]).exists()

    environment = service["environment"]
    unknown = {key for key in environment if key.lower() not in settings_class.model_fields}
    assert not unknown, f"{name}: variables no setting reads: {unknown}"
    assert {"DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS", "JWT_SECRET", "PATIENT_REF_KEY"} <= set(environment)
    assert environment["DATABASE_URL"].endswith(f"/{name}")

    port = int(environment["PORT"])
    assert port == defaults.port, "compose and the settings default disagree on the port"
    assert service["ports"] == [f"{port}:{port}"]
    assert {"postgres", "kafka"} <= set(service["depends_on"])


def test_notification_relay_uses_starttls_and_auth() -> None:
    environment = COMPOSE["services"]["notification"]["environment"]
    assert environment["SMTP_STARTTLS"] == "true" and environment["SMTP_USERNAME"]
    relay = COMPOSE["services"]["mail-relay"]["environment"]
    assert relay["MP_SMTP_REQUIRE_STARTTLS"] == "true"
