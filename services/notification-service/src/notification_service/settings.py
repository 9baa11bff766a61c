"""Settings of the Notification service (environment variables; see the README's configuration table)."""

from __future__ import annotations

from pydantic import Field, SecretStr

from casework.settings import ServiceSettings


class NotificationSettings(ServiceSettings):
    service_name: str = "notification"
    port: int = 8004
    public_base_url: str = "http://127.0.0.1:8004"
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/notification"

    smtp_host: str = Field("127.0.0.1", description="Outbound relay (NHSmail: send.nhs.net)")
    smtp_port: int = Field(2525, description="Relay port (NHSmail: 587)")
    smtp_username: str = Field("casework-app", description="Relay account")
    smtp_password: SecretStr = Field(SecretStr("dev-relay-password"), description="Relay password")
    smtp_starttls: bool = Field(True, description="Upgrade with STARTTLS before AUTH")
    smtp_ca_file: str | None = Field(None, description="CA bundle to verify the relay (dev: its self-signed cert)")
    smtp_timeout_s: float = Field(10.0, description="Connect/command timeout; an AUTH timeout is a relay failure")
    mail_from: str = Field("casework-noreply@nhs.net", description="Registered application account address")
    message_id_domain: str = Field("casework.nhs.uk", description="Right-hand side of generated Message-IDs")
    send_poll_interval_s: float = Field(0.2, description="How often queued notifications are picked up")
    send_max_attempts: int = Field(8, description="Attempts before a notification fails")
    send_retry_base_s: float = Field(1.0, description="First retry delay, doubling, full jitter")
    send_retry_cap_s: float = Field(60.0, description="Longest retry delay")
    send_rate_per_s: float = Field(50.0, description="Messages per second allowed to the relay")
