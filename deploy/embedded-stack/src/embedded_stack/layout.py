"""Where everything of one embedded run lives (one folder), and which ports it uses.

Ports default to the architecture's (services 8001-8004, broker 9092, relay 2525/2526) and can be
moved with STACK_* environment variables, e.g. when two stacks share a machine.
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


def _port(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


@dataclass
class StackPorts:
    postgres: int = field(default_factory=lambda: _port("STACK_POSTGRES_PORT", 55432))
    broker: int = field(default_factory=lambda: _port("STACK_BROKER_PORT", 9092))
    relay: int = field(default_factory=lambda: _port("STACK_RELAY_PORT", 2525))
    inbound: int = field(default_factory=lambda: _port("STACK_INBOUND_PORT", 2526))
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

    def secrets(self) -> dict[str, str]:
        """Dev secrets, made once and kept: patient_ref values must stay stable across restarts."""
        path = self.root / "secrets.json"
        if path.exists():
            return json.loads(path.read_text())
        self.root.mkdir(parents=True, exist_ok=True)
        values = {
            "jwt_secret": secrets.token_urlsafe(32),
            "patient_ref_key": secrets.token_urlsafe(32),
            "relay_password": secrets.token_urlsafe(16),
        }
        path.write_text(json.dumps(values, indent=2))
        path.chmod(0o600)
        return values

    def database_url(self, service: str) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.ports.postgres}/{service}"

    def service_url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports.services.get(service, 8000)}"

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
            "KAFKA_FETCH_MAX_WAIT_MS": "10",
            # Tansu's group coordinator waits out session/rebalance timeouts on every join.
            "KAFKA_SESSION_TIMEOUT_MS": "3000",
            "KAFKA_HEARTBEAT_INTERVAL_MS": "300",
            "KAFKA_REBALANCE_TIMEOUT_MS": "1000",
            "OUTBOX_POLL_INTERVAL_S": "0.1",
            "JWT_SECRET": values["jwt_secret"],
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
                "INBOUND_CERT_FILE": str(self.certs / "relay-cert.pem"),
                "INBOUND_KEY_FILE": str(self.certs / "relay-key.pem"),
            }
        return env
