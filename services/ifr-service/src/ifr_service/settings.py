"""Settings of the IFR service (environment variables; see the README's configuration table)."""

from __future__ import annotations

from casework.settings import ServiceSettings


class IfrSettings(ServiceSettings):
    service_name: str = "ifr"
    port: int = 8001
    public_base_url: str = "http://127.0.0.1:8001"
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/ifr"
