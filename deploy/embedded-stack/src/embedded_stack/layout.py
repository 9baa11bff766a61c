"""Where everything of one embedded run lives (one folder), and which ports it uses.

Ports default to the architecture's (services 8001-8004, broker 9092, relay 2525/2526, the web
console 8080, the OpenID provider 8090) and can be moved with STACK_* environment variables, e.g. when
two stacks share a machine.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

SERVICES = ("ifr", "cdf", "contract", "notification")
DEFAULT_SERVICE_PORTS = {"ifr": 8001, "cdf": 8002, "contract": 8003, "notification": 8004}
RELAY_USER = "casework-app"
CONSOLE = "console"  # the web console's short name (its database, its log, its settings' SERVICE_NAME)


def _port(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


@dataclass
class StackPorts:
    postgres: int = field(default_factory=lambda: _port("STACK_POSTGRES_PORT", 55432))
    broker: int = field(default_factory=lambda: _port("STACK_BROKER_PORT", 9092))
    relay: int = field(default_factory=lambda: _port("STACK_RELAY_PORT", 2525))
    inbound: int = field(default_factory=lambda: _port("STACK_INBOUND_PORT", 2526))
    dns: int = field(default_factory=lambda: _port("STACK_DNS_PORT", 2553))  # the dev zone (UDP): dev_dns.py
    oidc: int = field(default_factory=lambda: _port("STACK_OIDC_PORT", 8090))
    console: int = field(default_factory=lambda: _port("STACK_CONSOLE_PORT", 8080))
    services: dict[str, int] = field(
        default_factory=lambda: {
            name: _port(f"STACK_{name.upper()}_PORT", port) for name, port in DEFAULT_SERVICE_PORTS.items()
        }
    )


@dataclass
class StackLayout:
    root: Path
    ports: StackPorts = field(default_factory=StackPorts)

    @property
    def pgdata(self) -> Path:
        return self.root / "postgres" / "data"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def mail(self) -> Path:
        return self.root / "mail" / "relay"

    @property
    def certs(self) -> Path:
        return self.root / "certs"

    @property
    def run(self) -> Path:
        return self.root / "run"

    @property
    def oidc(self) -> Path:
        return self.root / "oidc"

    def secrets(self) -> dict[str, str]:
        """Dev secrets, made once and kept: patient_ref values must stay stable across restarts. A
        secret added by a later version of the stack is made the first time it is asked for."""
        path = self.root / "secrets.json"
        values: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
        wanted = {
            "jwt_secret": 32,
            "patient_ref_key": 32,
            "relay_password": 16,
            "oidc_cookie_key": 32,
            "console_client_secret": 32,
            "console_session_key": 32,
            **{f"{service}_client_secret": 32 for service in SERVICES},
        }
        missing = {name: secrets.token_urlsafe(size) for name, size in wanted.items() if name not in values}
        if missing:
            values |= missing
            self.root.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values, indent=2))
            path.chmod(0o600)
        return values

    @property
    def oidc_issuer(self) -> str:
        return f"http://127.0.0.1:{self.ports.oidc}"

    @property
    def console_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.console}"

    def identity_env(self, client_id: str, client_secret: str | None) -> dict[str, str]:
        """How a process knows who is calling: the embedded provider, its role map, the dev key; and,
        for a process the provider knows as a client, its own client credentials."""
        from embedded_stack.oidc import API_AUDIENCE, role_map

        client = {"OIDC_CLIENT_ID": client_id, "OIDC_CLIENT_SECRET": client_secret} if client_secret else {}
        return {
            "OIDC_ISSUER": self.oidc_issuer,
            **client,
            "JWT_AUDIENCE": API_AUDIENCE,
            "OIDC_CLAIMS_STYLE": "cis2",
            "OIDC_ROLE_MAP": json.dumps(role_map()),
            # dev tokens (`make token`, `make demo`, the tests) are accepted beside the provider's
            "JWT_SECRET": self.secrets()["jwt_secret"],
        }

    def database_url(self, service: str) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.ports.postgres}/{service}"

    def service_url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports.services.get(service, 8000)}"

    def console_env(self) -> dict[str, str]:
        """The web console's environment: where it listens, its sessions' database, the APIs, sign-in."""
        values = self.secrets()
        return {
            "SERVICE_NAME": CONSOLE,
            "ENVIRONMENT": "development",
            "PORT": str(self.ports.console),
            "PUBLIC_BASE_URL": self.console_url,
            "DATABASE_URL": self.database_url(CONSOLE),
            "IFR_SERVICE_URL": self.service_url("ifr"),
            "CDF_SERVICE_URL": self.service_url("cdf"),
            "CONTRACT_SERVICE_URL": self.service_url("contract"),
            "NOTIFICATION_SERVICE_URL": self.service_url("notification"),
            **self.identity_env("casework-console", values["console_client_secret"]),
            "SESSION_KEY": values["console_session_key"],
        }

    def service_env(self, service: str) -> dict[str, str]:
        """The environment a service process gets: exactly its settings, as in docker-compose."""
        values = self.secrets()
        env = {
            "SERVICE_NAME": service,
            "ENVIRONMENT": "development",
            "PORT": str(self.ports.services.get(service, 8000)),
            "PUBLIC_BASE_URL": self.service_url(service),
            "DATABASE_URL": self.database_url(service),
            "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{self.ports.broker}",
            "KAFKA_ENABLE_IDEMPOTENCE": "false",  # Tansu has no idempotent producer (PLATFORM.md)
            "KAFKA_FETCH_MAX_WAIT_MS": "10",
            # Tansu's group coordinator waits out session/rebalance timeouts on every join.
            "KAFKA_SESSION_TIMEOUT_MS": "3000",
            "KAFKA_HEARTBEAT_INTERVAL_MS": "300",
            "KAFKA_REBALANCE_TIMEOUT_MS": "1000",
            "OUTBOX_POLL_INTERVAL_S": "0.1",
            **self.identity_env(f"{service}-service", values.get(f"{service}_client_secret")),
            "PATIENT_REF_KEY": values["patient_ref_key"],
            "IFR_SERVICE_URL": self.service_url("ifr"),
            "CDF_SERVICE_URL": self.service_url("cdf"),
            "CONTRACT_SERVICE_URL": self.service_url("contract"),
            "NOTIFICATION_SERVICE_URL": self.service_url("notification"),
        }
        if service == "notification":
            env |= {
                "SMTP_HOST": "127.0.0.1",
                "SMTP_PORT": str(self.ports.relay),
                "SMTP_USERNAME": RELAY_USER,
                "SMTP_PASSWORD": values["relay_password"],
                "SMTP_STARTTLS": "true",
                "SMTP_CA_FILE": str(self.certs / "relay-cert.pem"),
                "INBOUND_PORT": str(self.ports.inbound),
                "FRONTEND_BASE_URL": self.console_url,  # the links in mails open the console
                "INBOUND_CERT_FILE": str(self.certs / "relay-cert.pem"),
                "INBOUND_KEY_FILE": str(self.certs / "relay-key.pem"),
                "INBOUND_DNS_SERVER": f"127.0.0.1:{self.ports.dns}",  # the dev zone the sender checks ask
            }
        return env
