"""ENVIRONMENT=production refuses development settings, naming them (casework.production_guard)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from typing import Any

import pytest

from casework.production_guard import production_problems, settings_or_exit
from casework.services import SERVICE_NAMES, load_definition
from casework.settings import ServiceSettings
from notification_service.settings import NotificationSettings
from web_console.settings import ConsoleSettings

# What a production deployment sets: its own secrets, the provider, Kafka over SASL_SSL.
IDENTITY = {"environment": "production", "oidc_issuer": "https://am.nhsidentity.spineservices.nhs.uk/openam/oauth2"}
KAFKA = {
    "kafka_bootstrap_servers": "kafka-1.example.nhs.uk:9093",
    "kafka_security_protocol": "SASL_SSL",
    "kafka_sasl_mechanism": "SCRAM-SHA-512",
    "kafka_sasl_username": "ifr-service",
    "kafka_sasl_password": "a-kafka-password",
}
SERVICE = IDENTITY | KAFKA | {"patient_ref_key": "this-deployment's-own-patient-ref-key"}
NOTIFICATION = SERVICE | {"smtp_password": "the-nhsmail-account-password"}
CONSOLE = IDENTITY | {"session_key": "this-deployment's-own-session-key-of-32+-characters"}


def test_a_production_configuration_passes() -> None:
    assert production_problems(ServiceSettings(**SERVICE)) == []
    assert production_problems(NotificationSettings(**NOTIFICATION)) == []
    assert production_problems(ConsoleSettings(**CONSOLE)) == []
    ssl_only = SERVICE | {"kafka_security_protocol": "SSL", "kafka_sasl_username": None, "kafka_sasl_password": None}
    assert production_problems(ServiceSettings(**ssl_only)) == []


def test_outside_production_nothing_is_refused() -> None:
    assert production_problems(NotificationSettings(jwt_secret="a-test-secret-of-at-least-32-bytes!!")) == []
    assert production_problems(ConsoleSettings(environment="test")) == []


@pytest.mark.parametrize(
    ("settings_class", "values", "named"),
    [
        (ServiceSettings, SERVICE | {"patient_ref_key": None}, "PATIENT_REF_KEY is the development default"),
        (ServiceSettings, SERVICE | {"jwt_secret": "a-test-secret-of-at-least-32-bytes!!"}, "JWT_SECRET is set"),
        (ServiceSettings, SERVICE | {"oidc_issuer": None}, "OIDC_ISSUER is not set"),
        (ServiceSettings, SERVICE | {"oidc_issuer": "http://provider.example"}, "OIDC_ISSUER .* is not https"),
        (ServiceSettings, SERVICE | {"jwt_audience": " "}, "JWT_AUDIENCE is empty"),
        (ServiceSettings, SERVICE | {"kafka_security_protocol": "PLAINTEXT"}, "KAFKA_SECURITY_PROTOCOL=PLAINTEXT"),
        (
            ServiceSettings,
            SERVICE | {"kafka_security_protocol": "SASL_PLAINTEXT"},
            "KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT",
        ),
        (NotificationSettings, NOTIFICATION | {"smtp_password": None}, "SMTP_PASSWORD is the development default"),
        (NotificationSettings, NOTIFICATION | {"smtp_starttls": False}, "SMTP_STARTTLS=false"),
        (ConsoleSettings, CONSOLE | {"session_key": None}, "SESSION_KEY is the development default"),
        (ConsoleSettings, CONSOLE | {"oidc_issuer": None}, "OIDC_ISSUER is not set"),
    ],
)
def test_each_development_setting_is_named(settings_class: type, values: dict[str, Any], named: str) -> None:
    given = {name: value for name, value in values.items() if value is not None}  # None: left at its default
    problems = production_problems(settings_class(**given))
    assert len(problems) == 1 and re.match(named, problems[0]), problems


def test_every_problem_at_once_one_line_each() -> None:
    problems = production_problems(NotificationSettings(environment="production", smtp_starttls=False))
    named = [line.split()[0].split("=")[0] for line in problems]
    assert named == [
        "PATIENT_REF_KEY",
        "SMTP_PASSWORD",
        "OIDC_ISSUER",
        "KAFKA_SECURITY_PROTOCOL",
        "SMTP_STARTTLS",
    ]


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_each_service_defaults_are_refused_in_production(name: str) -> None:
    """Every service's settings class, left at its defaults, names at least its dev secret and Kafka."""
    problems = production_problems(load_definition(name).settings_class(environment="production"))
    assert any(p.startswith("PATIENT_REF_KEY") for p in problems)
    assert any(p.startswith("KAFKA_SECURITY_PROTOCOL") for p in problems)


@pytest.mark.parametrize(
    ("values", "problem"),
    [
        ({"port": "eighty"}, "PORT: Input should be a valid integer"),
        (
            {"kafka_security_protocol": "SASL_SSL"},
            "KAFKA_SASL_MECHANISM=SCRAM-SHA-512 needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD",
        ),
    ],
)
def test_settings_that_do_not_parse_end_the_process_naming_them(
    values: dict[str, Any], problem: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit:
        settings_or_exit(lambda: ServiceSettings(**values))
    assert exit.value.code == 2
    assert refused(capsys.readouterr().err)[0].startswith(problem)


def refused(stderr: str) -> list[str]:
    """The problems a refusal lists, one a line after its first line (whatever was logged before it)."""
    lines = stderr.splitlines()
    return lines[lines.index("casework: refusing to start:") + 1 :]


def test_casework_serve_in_production_with_a_dev_secret_exits_naming_it() -> None:
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "ENVIRONMENT": "production",
        "OIDC_ISSUER": IDENTITY["oidc_issuer"],
        "KAFKA_BOOTSTRAP_SERVERS": KAFKA["kafka_bootstrap_servers"],
        "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "KAFKA_SASL_USERNAME": "cdf-service",
        "KAFKA_SASL_PASSWORD": "a-kafka-password",
        "JWT_SECRET": "a-dev-secret-of-at-least-32-bytes!!",  # and PATIENT_REF_KEY left at its dev default
    }
    done = subprocess.run(
        [sys.executable, "-m", "casework", "serve", "cdf"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    problems = refused(done.stderr)
    assert [p.split()[0] for p in problems] == ["JWT_SECRET", "PATIENT_REF_KEY"], done.stderr
    assert "Uvicorn running" not in done.stderr


def test_web_console_serve_in_production_on_the_dev_session_key_exits_naming_it() -> None:
    environment = {"PATH": os.environ.get("PATH", ""), "ENVIRONMENT": "production", "OIDC_ISSUER": "https://p.example"}
    done = subprocess.run(
        [sys.executable, "-m", "web_console", "serve"], env=environment, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2, done.stderr
    assert refused(done.stderr) == ["SESSION_KEY is the development default: set this deployment's own secret"], (
        done.stderr
    )
