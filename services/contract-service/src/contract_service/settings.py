"""Settings of the Contract service (environment variables; see the README's configuration table)."""

from __future__ import annotations

from casework.settings import ServiceSettings


class ContractSettings(ServiceSettings):
    service_name: str = "contract"
    port: int = 8003
    public_base_url: str = "http://127.0.0.1:8003"
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/contract"
