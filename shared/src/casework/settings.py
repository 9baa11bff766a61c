"""One settings object per service, all built on `ServiceSettings`.

Everything comes from environment variables (12-factor): the embedded run, docker-compose and
Kubernetes differ only in what they set. Field names are the variable names, upper-cased.
"""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore", case_sensitive=False)

    service_name: str = Field("casework", description="Short name of the service (ifr, cdf, ...)")
    environment: str = Field("development", description="development | test | production")
    host: str = Field("127.0.0.1", description="Interface uvicorn binds to")
    port: int = Field(8000, description="HTTP port")
    public_base_url: str = Field("http://127.0.0.1:8000", description="Base URL used in links")

    database_url: str = Field(
        "postgresql+asyncpg://postgres@127.0.0.1:5432/casework",
        description="SQLAlchemy async URL of this service's own database",
    )
    database_pool_size: int = Field(10, description="Connections kept in the pool")
    database_ping_after_idle_s: float = Field(
        5.0, ge=0, description="A pooled connection idle longer than this is pinged before use (0: always)"
    )

    kafka_bootstrap_servers: str = Field("127.0.0.1:9092", description="Kafka bootstrap address(es)")
    kafka_fetch_max_wait_ms: int = Field(
        500, description="Consumer fetch wait; keep 10-20 ms against the embedded Tansu broker"
    )
    kafka_session_timeout_ms: int = Field(10_000, description="Consumer group session timeout")
    kafka_heartbeat_interval_ms: int = Field(3_000, description="Consumer group heartbeat")
    kafka_rebalance_timeout_ms: int = Field(
        30_000, description="How long a rebalance waits for members; Tansu joins faster with ~1000"
    )
    kafka_topic_partitions: int = Field(3, description="Partitions when this service creates a topic")
    kafka_replication_factor: int = Field(1, description="Replication factor when creating topics")

    outbox_poll_interval_s: float = Field(0.2, description="Relay poll when no commit woke it")
    outbox_batch_size: int = Field(500, description="Outbox rows published per batch")
    consumer_max_retries: int = Field(5, description="Handler attempts before dead-lettering")
    consumer_retry_base_s: float = Field(0.05, description="First retry delay; doubles per attempt")
    run_workers: bool = Field(True, description="Run the outbox relay and consumers in the API process")

    jwt_secret: SecretStr = Field(
        SecretStr("dev-only-jwt-secret-change-me-in-every-deployment"), description="HS256 signing key"
    )
    jwt_public_key: str | None = Field(None, description="PEM public key; when set RS256 is used")
    jwt_audience: str | None = Field(None, description="Expected `aud` claim, if any")
    commissioner_orgs: list[str] = Field(
        default_factory=lambda: ["X24"],
        description="ODS codes whose users are commissioners and see every organisation (X24 = NHS England)",
    )

    patient_ref_key: SecretStr = Field(
        SecretStr("dev-only-patient-ref-key-change-me-in-every-deployment"), description="HMAC key for patient_ref"
    )
    log_level: str = Field("INFO", description="Log level")
    log_json: bool = Field(True, description="JSON logs (false: human-readable console)")
