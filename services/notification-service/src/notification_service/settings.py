"""Settings of the Notification service (environment variables; see the README's configuration table)."""

from __future__ import annotations

from pydantic import Field, SecretStr

from casework.settings import ServiceSettings
from notification_service.domain.sender_auth import SenderPolicy


class NotificationSettings(ServiceSettings):
    service_name: str = "notification"
    port: int = 8004
    public_base_url: str = "http://127.0.0.1:8004"
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/notification"

    frontend_base_url: str = Field(
        "http://127.0.0.1:8080", description="Base URL of the staff/provider frontend; mail links are paths under it"
    )
    routing_file: str | None = Field(
        None, description="A routing.toml replacing the packaged one (addresses, templates, recipients)"
    )

    smtp_host: str = Field("127.0.0.1", description="Outbound relay (NHSmail: send.nhs.net)")
    smtp_port: int = Field(2525, description="Relay port (NHSmail: 587)")
    smtp_username: str = Field("casework-app", description="Relay account")
    smtp_password: SecretStr = Field(SecretStr("dev-relay-password"), description="Relay password")
    smtp_starttls: bool = Field(True, description="Upgrade with STARTTLS before AUTH")
    smtp_ca_file: str | None = Field(None, description="CA bundle to verify the relay (dev: its self-signed cert)")
    smtp_timeout_s: float = Field(10.0, description="Connect/command timeout; an AUTH timeout is a relay failure")
    mail_from: str = Field("casework-noreply@nhs.net", description="Registered application account address")
    mail_from_name: str = Field("NHS England specialised commissioning", description="Display name in From")
    message_id_domain: str = Field("casework.nhs.uk", description="Right-hand side of generated Message-IDs")

    send_poll_interval_s: float = Field(0.2, description="How often queued notifications are picked up")
    send_batch_size: int = Field(50, ge=1, description="Notifications claimed at once and sent over one connection")
    # One outcome per transaction: a sender killed after the relay took a message and before its outcome
    # was written sends it again after the lease (same Message-ID). With 20 per transaction the fault probe
    # counted 3 mails delivered twice after a SIGKILL; with one, only a kill in the milliseconds between
    # the relay's 250 and the commit can double a mail.
    send_record_every: int = Field(
        1, ge=1, description="Outcomes written per transaction (a crash resends at most these, same Message-IDs)"
    )
    send_messages_per_connection: int = Field(100, ge=1, description="Reconnect to the relay after this many")
    send_lease_s: float = Field(
        120.0, gt=0, description="A claim's lease; a crashed sender's notifications are taken over after it"
    )
    send_max_attempts: int = Field(8, ge=1, description="Attempts (replies about the message) before it fails")
    send_retry_base_s: float = Field(1.0, gt=0, description="First retry delay, doubling, full jitter")
    send_retry_cap_s: float = Field(60.0, gt=0, description="Longest retry delay")
    send_rate_per_s: float = Field(
        50.0, gt=0, description="Messages per second allowed to the relay account, all replicas together"
    )
    send_rate_burst: float = Field(10.0, ge=1, description="Messages allowed at once before the rate applies")
    relay_backoff_base_s: float = Field(1.0, gt=0, description="First pause when the relay is unreachable")
    relay_backoff_cap_s: float = Field(10.0, gt=0, description="Longest pause between probes of an unreachable relay")

    inbound_enabled: bool = Field(True, description="Run the inbound SMTP gateway in this process")
    inbound_host: str = Field("127.0.0.1", description="Interface the inbound gateway listens on")
    inbound_port: int = Field(2526, description="Inbound gateway SMTP port")
    inbound_cert_file: str | None = Field(None, description="PEM certificate for the gateway's STARTTLS")
    inbound_key_file: str | None = Field(None, description="PEM private key for the gateway's STARTTLS")
    inbound_server_name: str = Field("casework-inbound", description="Name the gateway gives in its SMTP greeting")
    inbound_mailboxes: list[str] = Field(
        default_factory=lambda: ["england.ifr-casework@nhs.net"],
        description="Addresses the gateway accepts mail for (JSON list); any other RCPT gets 550",
    )
    inbound_max_bytes: int = Field(36_700_160, description="Largest message accepted (NHSmail allows 35 MB)")
    inbound_sender_check: SenderPolicy = Field(
        SenderPolicy.ENFORCE,
        description="What the gateway does with SPF/DKIM/DMARC: enforce (refuse unverified senders), record, off",
    )
    inbound_sender_checks: dict[str, SenderPolicy] = Field(
        default_factory=dict,
        description='Per mailbox, overriding INBOUND_SENDER_CHECK: {"ifr.applications@nhs.net": "record"}',
    )
    inbound_dns_server: str | None = Field(
        None, description="host:port of the DNS server the sender checks ask (unset: the system's resolver)"
    )
