"""The production guard: with ENVIRONMENT=production a process refuses to start on settings only fit
for development, and says which.

`production_problems(settings)` is the rule (pure: settings in, one line per problem out, naming the
setting). `casework serve` and `web-console serve` call `settings_or_exit` before serving: a setting
that does not parse, or a production problem, ends the process with status 2 and the problems on
stderr, one a line.

What production refuses:
- a secret still at the development default its settings class ships with (PATIENT_REF_KEY,
  SMTP_PASSWORD, SESSION_KEY, and any secret given a default later), or JWT_SECRET set at all (it
  signs dev tokens);
- no OIDC_ISSUER (tokens would have no provider to be verified against), an issuer not on https, or an
  empty JWT_AUDIENCE (a token for any API would do);
- Kafka without TLS (KAFKA_SECURITY_PROTOCOL PLAINTEXT or SASL_PLAINTEXT);
- SMTP without STARTTLS (SMTP_STARTTLS=false) for a process that sends mail.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import NoReturn, TypeVar

from pydantic import SecretStr, ValidationError
from pydantic_core import ErrorDetails

from casework.settings import PlatformSettings, ServiceSettings

PRODUCTION = "production"
EXIT_STATUS = 2

Settings = TypeVar("Settings", bound=PlatformSettings)


def production_problems(settings: PlatformSettings) -> list[str]:
    """What stops these settings from running in production (empty outside ENVIRONMENT=production)."""
    if settings.environment != PRODUCTION:
        return []
    return [
        *_dev_secrets(settings),
        *_identity_problems(settings),
        *_kafka_problems(settings),
        *_smtp_problems(settings),
    ]


def settings_or_exit(load: Callable[[], Settings]) -> Settings:
    """The process's settings, or exit: one line per setting that does not parse or is unfit for production."""
    try:
        settings = load()
    except ValidationError as invalid:
        _refuse([_validation_line(error) for error in invalid.errors()])
    problems = production_problems(settings)
    if problems:
        _refuse(problems)
    return settings


def _dev_secrets(settings: PlatformSettings) -> list[str]:
    problems = []
    if settings.jwt_secret is not None:
        problems.append("JWT_SECRET is set: it signs dev tokens; production takes tokens from the OpenID provider")
    for name, field in type(settings).model_fields.items():
        default, value = field.default, getattr(settings, name)
        if isinstance(default, SecretStr) and isinstance(value, SecretStr) and value == default:
            problems.append(f"{name.upper()} is the development default: set this deployment's own secret")
    return problems


def _identity_problems(settings: PlatformSettings) -> list[str]:
    problems = []
    if not settings.oidc_issuer:
        problems.append("OIDC_ISSUER is not set: tokens must be verified against the OpenID provider")
    elif not settings.oidc_issuer.startswith("https://"):
        problems.append(f"OIDC_ISSUER {settings.oidc_issuer} is not https: its keys would be fetched in clear")
    if not settings.jwt_audience.strip():
        problems.append("JWT_AUDIENCE is empty: every token must name this platform's API as its `aud`")
    return problems


def _kafka_problems(settings: PlatformSettings) -> list[str]:
    if not isinstance(settings, ServiceSettings):
        return []
    protocol = settings.kafka_security_protocol
    if protocol in ("PLAINTEXT", "SASL_PLAINTEXT"):
        return [f"KAFKA_SECURITY_PROTOCOL={protocol} is plain text: use SASL_SSL or SSL"]
    return []


def _smtp_problems(settings: PlatformSettings) -> list[str]:
    if getattr(settings, "smtp_starttls", None) is False:  # a process that sends mail (notification)
        return ["SMTP_STARTTLS=false sends mail and the relay password in clear: the relay must use STARTTLS"]
    return []


def _validation_line(error: ErrorDetails) -> str:
    names = [part.upper() for part in error["loc"] if isinstance(part, str)]
    message = error["msg"].removeprefix("Value error, ")
    return f"{names[0]}: {message}" if names else message


def _refuse(problems: list[str]) -> NoReturn:
    print("casework: refusing to start:", file=sys.stderr)
    for problem in problems:
        print(problem, file=sys.stderr)
    raise SystemExit(EXIT_STATUS)
