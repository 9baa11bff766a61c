"""One settings object per process, all built on `PlatformSettings`.

Everything comes from environment variables (12-factor): the embedded run, docker-compose and
Kubernetes differ only in what they set. Field names are the variable names, upper-cased.
`PlatformSettings` is what every process of the platform has (where it listens, its database, how it
knows who is calling); `ServiceSettings` adds the event bus, which the four services use and the web
console does not.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal, Self

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEV_TOKEN_ISSUER = "casework-dev"  # the `iss` of tokens signed with the dev key (JWT_SECRET)


class PlatformSettings(BaseSettings):
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

    # Who is calling: bearer tokens from the OpenID provider (NHS CIS2 in production, the embedded
    # provider in development), verified by its published keys; dev tokens only where a dev key is set.
    oidc_issuer: str | None = Field(
        None, description="Issuer URL of the OpenID provider; its discovery document names the JWKS"
    )
    oidc_client_id: str | None = Field(None, description="This process's own client at the provider")
    oidc_client_secret: SecretStr | None = Field(None, description="Its client secret")
    jwt_audience: str = Field("urn:casework:api", description="The `aud` every accepted token must carry")
    jwt_algorithms: list[str] = Field(
        default_factory=lambda: ["RS256", "ES256"], description="Signature algorithms accepted from the provider"
    )
    jwks_cache_s: float = Field(600, gt=0, description="How long the provider's keys are kept before refetching")
    jwks_refetch_after_s: float = Field(
        5, ge=0, description="A token with an unknown key id refetches the keys at most this often"
    )
    oidc_claims_style: Literal["flat", "cis2"] = Field(
        "flat",
        description="flat: `org` and `roles` claims (names below); cis2: the selected role of nhsid_nrbac_roles",
    )
    oidc_org_claim: str = Field("org", description="flat style: the claim holding the ODS code")
    oidc_roles_claim: str = Field("roles", description="flat style: the claim holding the roles")
    oidc_role_map: Annotated[dict[str, list[str]], NoDecode] = Field(
        default_factory=dict,
        description="JSON: provider role (cis2 role_code or flat role) -> platform roles; empty: flat ones as they are",
    )
    jwt_secret: SecretStr | None = Field(
        None, description="Dev key (HS256) for `casework token`, tests and the demo; never set in production"
    )
    commissioner_orgs: list[str] = Field(
        default_factory=lambda: ["X24"],
        description="ODS codes whose users are commissioners and see every organisation (X24 = NHS England)",
    )

    request_body_max_bytes: int = Field(
        1_048_576, ge=0, description="Largest request body a route accepts unless it names its own limit (uploads)"
    )

    log_level: str = Field("INFO", description="Log level")
    log_json: bool = Field(True, description="JSON logs (false: human-readable console)")

    @field_validator("oidc_role_map", mode="before")
    @classmethod
    def _role_map_json(cls, value: Any) -> Any:
        return json.loads(value) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _no_dev_key_in_production(self) -> Self:
        if self.environment == "production" and self.jwt_secret is not None:
            raise ValueError("JWT_SECRET signs dev tokens: it must not be set when ENVIRONMENT=production")
        return self


INBOX_RETENTION_MARGIN_S = 86400  # the inbox outlives the broker's retention by at least this


class ServiceSettings(PlatformSettings):
    """A platform service: the base plus the event bus, the outbox and the inbox."""

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

    # Retention (casework.retention): what the outbox, the inbox and the idempotency records keep.
    retention_interval_s: float = Field(
        3600, ge=0, description="How often rows past their retention are deleted; 0 turns retention off"
    )
    outbox_retention_s: float = Field(
        14 * 86400, gt=0, description="Published outbox rows are kept this long (outbox-replay re-sends only these)"
    )
    kafka_retention_s: float = Field(
        7 * 86400, gt=0, description="How long the broker keeps a topic's records (its retention.ms)"
    )
    inbox_retention_s: float = Field(
        8 * 86400,
        description="Handled event ids are kept this long: at least KAFKA_RETENTION_S plus a day, so an event "
        "the broker redelivers is still recognised",
    )
    idempotency_retention_s: float = Field(
        7 * 86400, gt=0, description="Idempotency-Key records are kept this long; the key again later is a new request"
    )

    patient_ref_key: SecretStr = Field(
        SecretStr("dev-only-patient-ref-key-change-me-in-every-deployment"), description="HMAC key for patient_ref"
    )

    @model_validator(mode="after")
    def _inbox_outlives_the_broker(self) -> Self:
        if self.inbox_retention_s < self.kafka_retention_s + INBOX_RETENTION_MARGIN_S:
            raise ValueError(
                "INBOX_RETENTION_S must be at least KAFKA_RETENTION_S plus a day: an event the broker still "
                "holds could be delivered again after its inbox id was deleted, and applied twice"
            )
        return self
