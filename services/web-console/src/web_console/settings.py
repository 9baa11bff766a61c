"""Settings of the web console (environment variables; see the console README's configuration table)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr

from casework.settings import PlatformSettings

ASSETS = Path(__file__).resolve().parents[2] / "node_modules"


class ConsoleSettings(PlatformSettings):
    service_name: str = "console"
    port: int = 8080
    public_base_url: str = Field("http://127.0.0.1:8080", description="Where users reach the console")
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/console"
    database_pool_size: int = 10

    ifr_service_url: str = Field("http://127.0.0.1:8001", description="ifr-service's API")
    cdf_service_url: str = Field("http://127.0.0.1:8002", description="cdf-service's API")
    contract_service_url: str = Field("http://127.0.0.1:8003", description="contract-service's API")
    notification_service_url: str = Field("http://127.0.0.1:8004", description="notification-service's API")
    api_timeout_s: float = Field(20, gt=0, description="How long a page waits for a service")

    oidc_scopes: str = Field(
        "openid profile email nationalrbacaccess selectedrole offline_access",
        description="Scopes asked for at sign-in (CIS2: nationalrbacaccess and selectedrole give the role)",
    )
    oidc_fetch_userinfo: bool = Field(
        False, description="Read the user's claims from the userinfo endpoint too (CIS2 returns RBAC there)"
    )
    session_key: SecretStr = Field(
        SecretStr("dev-only-console-session-key-change-me-in-every-deployment"),
        description="Encrypts the tokens a session holds (any string of 32+ characters)",
    )
    session_idle_timeout_s: int = Field(30 * 60, gt=0, description="A session unused this long ends")
    session_max_age_s: int = Field(12 * 3600, gt=0, description="A session ends this long after sign-in")
    assets_dir: Path = Field(ASSETS, description="node_modules holding nhsuk-frontend (and axe-core for tests)")

    @property
    def secure_cookies(self) -> bool:
        return self.public_base_url.startswith("https://")
