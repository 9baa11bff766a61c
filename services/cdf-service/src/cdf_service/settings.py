"""Settings of the CDF service (environment variables; see the README's configuration table)."""

from __future__ import annotations

from casework.settings import ServiceSettings


class CdfSettings(ServiceSettings):
    service_name: str = "cdf"
    port: int = 8002
    public_base_url: str = "http://127.0.0.1:8002"
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/cdf"
