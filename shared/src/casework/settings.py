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

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from casework.events import ALL_TOPICS
from casework.events.envelope import dead_letter_topic

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
    database_pool_size: int = Field(
        20, description="Connections the pool may hold; each one opened stays open (no overflow opened and closed)"
    )
    database_ping_after_idle_s: float = Field(
        5.0, ge=0, description="A pooled connection idle longer than this is pinged before use (0: always)"
    )
    database_idle_in_transaction_timeout_s: float = Field(
        0,
        ge=0,
        description="PostgreSQL ends a transaction left waiting on this process this long, and frees its locks "
        "(0: never)",
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
        None,
        description="Dev key (HS256) for `casework token`, tests and the demo; production refuses to start with one",
    )
    commissioner_orgs: list[str] = Field(
        default_factory=lambda: ["X24"],
        description="ODS codes whose users are commissioners and see every organisation (X24 = NHS England)",
    )

    request_body_max_bytes: int = Field(
        1_048_576, ge=0, description="Largest request body a route accepts unless it names its own limit (uploads)"
    )

    # Tracing (casework.tracing): off unless one of these is set.
    otel_exporter_otlp_endpoint: str | None = Field(
        None, description="OTLP/HTTP collector base URL (the standard OTel variable); spans go to <it>/v1/traces"
    )
    trace_file: str | None = Field(None, description="Finished spans appended to this file as JSON lines (tests)")

    log_level: str = Field("INFO", description="Log level")
    log_json: bool = Field(True, description="JSON logs (false: human-readable console)")

    @field_validator("oidc_role_map", mode="before")
    @classmethod
    def _role_map_json(cls, value: Any) -> Any:
        return json.loads(value) if isinstance(value, str) else value


INBOX_RETENTION_MARGIN_S = 86400  # the inbox outlives the broker's retention by at least this

KafkaSecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
KafkaSaslMechanism = Literal["SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER", "PLAIN"]


class TopicLayout(BaseModel):
    """How one topic is created; what is left out comes from KAFKA_TOPIC_PARTITIONS / KAFKA_REPLICATION_FACTOR."""

    model_config = ConfigDict(extra="forbid")

    partitions: int | None = Field(None, ge=1)
    replication_factor: int | None = Field(None, ge=1)


def kafka_security_problems(settings: ServiceSettings) -> list[str]:
    """What is missing or contradictory in the Kafka security settings, naming the settings."""
    problems = []
    tls = settings.kafka_security_protocol in ("SSL", "SASL_SSL")
    sasl = settings.kafka_security_protocol.startswith("SASL_")
    tls_files = {"KAFKA_SSL_CA_FILE": settings.kafka_ssl_ca_file, "KAFKA_SSL_CERT_FILE": settings.kafka_ssl_cert_file}
    tls_files |= {"KAFKA_SSL_KEY_FILE": settings.kafka_ssl_key_file}
    if not tls and any(tls_files.values()):
        named = ", ".join(name for name, value in tls_files.items() if value)
        problems.append(f"{named} set but KAFKA_SECURITY_PROTOCOL={settings.kafka_security_protocol} uses no TLS")
    if bool(settings.kafka_ssl_cert_file) != bool(settings.kafka_ssl_key_file):
        problems.append("KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE go together (a client certificate and its key)")
    if not sasl:
        return problems
    mechanism = settings.kafka_sasl_mechanism
    if mechanism == "OAUTHBEARER":
        client: dict[str, object] = {"KAFKA_OAUTH_CLIENT_ID": settings.kafka_oauth_client_id}
        client |= {"KAFKA_OAUTH_CLIENT_SECRET": settings.kafka_oauth_client_secret}
        if settings.kafka_oauth_token_url and settings.kafka_oauth_token_file:
            problems.append("KAFKA_OAUTH_TOKEN_URL and KAFKA_OAUTH_TOKEN_FILE: set one, not both")
        elif settings.kafka_oauth_token_url:
            missing = [name for name, value in client.items() if not value]
            if missing:
                problems.append(f"KAFKA_OAUTH_TOKEN_URL needs {' and '.join(missing)}")
        elif not settings.kafka_oauth_token_file:
            problems.append("KAFKA_SASL_MECHANISM=OAUTHBEARER needs KAFKA_OAUTH_TOKEN_URL or KAFKA_OAUTH_TOKEN_FILE")
    else:
        credentials: dict[str, object] = {"KAFKA_SASL_USERNAME": settings.kafka_sasl_username}
        credentials |= {"KAFKA_SASL_PASSWORD": settings.kafka_sasl_password}
        missing = [name for name, value in credentials.items() if not value]
        if missing:
            problems.append(f"KAFKA_SASL_MECHANISM={mechanism} needs {' and '.join(missing)}")
    return problems


class ServiceSettings(PlatformSettings):
    """A platform service: the base plus the event bus, the outbox and the inbox."""

    kafka_bootstrap_servers: str = Field("127.0.0.1:9092", description="Kafka bootstrap address(es)")
    kafka_fetch_max_wait_ms: int = Field(
        500, description="Consumer fetch wait; keep 10-20 ms against the embedded Tansu broker"
    )
    kafka_session_timeout_ms: int = Field(10_000, description="Consumer group session timeout")
    # How soon a client sees a topic's new partitions (aiokafka's default is 5 minutes). A broker that came
    # back empty has its topics made again, perhaps with more partitions (Tansu auto-creates with 4 where
    # the platform asks for 3): the fault probe found consumers reading only the old three for minutes
    # while the relays re-published into the fourth (81 of 200 approvals without their commitment).
    kafka_metadata_max_age_ms: int = Field(10_000, ge=1000, description="Refresh of cluster metadata, ms")
    kafka_heartbeat_interval_ms: int = Field(3_000, description="Consumer group heartbeat")
    kafka_rebalance_timeout_ms: int = Field(
        30_000, description="How long a rebalance waits for members; Tansu joins faster with ~1000"
    )
    # How the clients reach the brokers (casework.kafka_client builds the aiokafka arguments from these).
    kafka_security_protocol: KafkaSecurityProtocol = Field(
        "PLAINTEXT", description="PLAINTEXT (embedded run only) | SSL | SASL_SSL | SASL_PLAINTEXT"
    )
    kafka_ssl_ca_file: str | None = Field(
        None, description="PEM CA bundle the brokers' certificates are verified with (unset: the system's CAs)"
    )
    kafka_ssl_cert_file: str | None = Field(None, description="PEM client certificate (mutual TLS), with the key")
    kafka_ssl_key_file: str | None = Field(None, description="PEM private key of the client certificate")
    kafka_ssl_key_password: SecretStr | None = Field(None, description="Password of the client key, if encrypted")
    kafka_sasl_mechanism: KafkaSaslMechanism = Field(
        "SCRAM-SHA-512", description="SASL_*: SCRAM-SHA-512 | SCRAM-SHA-256 | OAUTHBEARER | PLAIN"
    )
    kafka_sasl_username: str | None = Field(None, description="SCRAM or PLAIN: the Kafka user")
    kafka_sasl_password: SecretStr | None = Field(None, description="SCRAM or PLAIN: its password")
    kafka_oauth_token_url: str | None = Field(
        None, description="OAUTHBEARER: token endpoint; tokens come by the client credentials grant"
    )
    kafka_oauth_client_id: str | None = Field(None, description="OAUTHBEARER: client id at the token endpoint")
    kafka_oauth_client_secret: SecretStr | None = Field(None, description="OAUTHBEARER: its client secret")
    kafka_oauth_scope: str | None = Field(None, description="OAUTHBEARER: scope asked for (space-separated)")
    kafka_oauth_token_params: dict[str, str] = Field(
        default_factory=dict,
        description='OAUTHBEARER: more form fields of the token request (JSON), e.g. {"resource": "urn:kafka"}',
    )
    kafka_oauth_token_file: str | None = Field(
        None, description="OAUTHBEARER without a token URL: a file holding the token, read again on each login"
    )
    kafka_enable_idempotence: bool = Field(
        True, description="Idempotent producer (Apache Kafka); the embedded Tansu broker lacks it: false there"
    )
    kafka_topic_partitions: int = Field(3, ge=1, description="Partitions of a topic KAFKA_TOPICS does not name")
    kafka_replication_factor: int = Field(
        1, ge=1, description="Replication factor of a topic KAFKA_TOPICS does not name (3 on a production cluster)"
    )
    kafka_topics: dict[str, TopicLayout] = Field(
        default_factory=dict,
        description='JSON, per topic: {"cdf.events": {"partitions": 12, "replication_factor": 3}}; a '
        "dead-letter topic (<topic>.dlq) not named takes its topic's layout",
    )

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

    def topic_layout(self, topic: str) -> tuple[int, int]:
        """(partitions, replication factor) a topic is created with."""
        dead_letters_of = {dead_letter_topic(named): layout for named, layout in self.kafka_topics.items()}
        layout = self.kafka_topics.get(topic) or dead_letters_of.get(topic)
        partitions = layout.partitions if layout and layout.partitions else self.kafka_topic_partitions
        replication = layout.replication_factor if layout and layout.replication_factor else None
        return partitions, replication or self.kafka_replication_factor

    @field_validator("kafka_topics")
    @classmethod
    def _platform_topics(cls, value: dict[str, TopicLayout]) -> dict[str, TopicLayout]:
        known = {*ALL_TOPICS, *(dead_letter_topic(t) for t in ALL_TOPICS)}
        unknown = sorted(set(value) - known)
        if unknown:
            raise ValueError(f"not platform topics: {', '.join(unknown)} (known: {', '.join(sorted(known))})")
        return value

    @model_validator(mode="after")
    def _kafka_security_is_complete(self) -> Self:
        problems = kafka_security_problems(self)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @model_validator(mode="after")
    def _inbox_outlives_the_broker(self) -> Self:
        if self.inbox_retention_s < self.kafka_retention_s + INBOX_RETENTION_MARGIN_S:
            raise ValueError(
                "INBOX_RETENTION_S must be at least KAFKA_RETENTION_S plus a day: an event the broker still "
                "holds could be delivered again after its inbox id was deleted, and applied twice"
            )
        return self
