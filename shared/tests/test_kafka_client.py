"""The aiokafka arguments each Kafka security mode gives every producer, consumer and admin client."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from pydantic import ValidationError

from casework.bus import new_producer
from casework.kafka_client import ClientCredentialsTokens, TokenFile, client_kwargs
from casework.settings import ServiceSettings
from embedded_stack.mail_relay import ensure_certificate

BROKERS = "kafka-1.example.nhs.uk:9093,kafka-2.example.nhs.uk:9093"


@pytest.fixture(scope="module")
def pem(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A certificate and its key, standing for both the brokers' CA and a client certificate."""
    return ensure_certificate(tmp_path_factory.mktemp("kafka-tls"))


def settings(**values: Any) -> ServiceSettings:
    return ServiceSettings(kafka_bootstrap_servers=BROKERS, **values)


def test_plaintext_gives_only_the_address_and_the_metadata_age() -> None:
    assert client_kwargs(settings()) == {
        "bootstrap_servers": BROKERS,
        "security_protocol": "PLAINTEXT",
        "metadata_max_age_ms": 10_000,
    }


def test_ssl_verifies_the_brokers_by_the_ca_file_and_presents_a_client_certificate(pem: tuple[Path, Path]) -> None:
    cert, key = pem
    kwargs = client_kwargs(
        settings(
            kafka_security_protocol="SSL",
            kafka_ssl_ca_file=str(cert),
            kafka_ssl_cert_file=str(cert),
            kafka_ssl_key_file=str(key),
        )
    )
    assert set(kwargs) == {"bootstrap_servers", "security_protocol", "metadata_max_age_ms", "ssl_context"}
    assert kwargs["security_protocol"] == "SSL"
    context: ssl.SSLContext = kwargs["ssl_context"]
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert [c["subject"] for c in context.get_ca_certs()] == [((("commonName", "localhost"),),)]


def test_ssl_without_a_ca_file_trusts_the_system_cas() -> None:
    context = client_kwargs(settings(kafka_security_protocol="SSL"))["ssl_context"]
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN"])
def test_sasl_ssl_with_a_username_and_password(mechanism: str, pem: tuple[Path, Path]) -> None:
    kwargs = client_kwargs(
        settings(
            kafka_security_protocol="SASL_SSL",
            kafka_sasl_mechanism=mechanism,
            kafka_sasl_username="ifr-service",
            kafka_sasl_password="s3cret",
            kafka_ssl_ca_file=str(pem[0]),
        )
    )
    assert isinstance(kwargs.pop("ssl_context"), ssl.SSLContext)
    assert kwargs == {
        "bootstrap_servers": BROKERS,
        "security_protocol": "SASL_SSL",
        "metadata_max_age_ms": 10_000,
        "sasl_mechanism": mechanism,
        "sasl_plain_username": "ifr-service",
        "sasl_plain_password": "s3cret",
    }


def test_sasl_ssl_oauthbearer_by_client_credentials_shares_one_token_provider() -> None:
    values = {
        "kafka_security_protocol": "SASL_SSL",
        "kafka_sasl_mechanism": "OAUTHBEARER",
        "kafka_oauth_token_url": "https://login.example.nhs.uk/oauth2/token",
        "kafka_oauth_client_id": "cdf-service",
        "kafka_oauth_client_secret": "s3cret",
        "kafka_oauth_scope": "kafka",
        "kafka_oauth_token_params": {"resource": "urn:kafka"},
    }
    kwargs = client_kwargs(settings(**values))
    provider = kwargs["sasl_oauth_token_provider"]
    assert isinstance(provider, ClientCredentialsTokens)
    assert provider.token_url == values["kafka_oauth_token_url"]
    assert kwargs["sasl_mechanism"] == "OAUTHBEARER" and "sasl_plain_password" not in kwargs
    assert isinstance(kwargs["ssl_context"], ssl.SSLContext)
    # every client of the process asks the same provider, so one token serves them all until it is renewed
    assert client_kwargs(settings(**values))["sasl_oauth_token_provider"] is provider
    other = client_kwargs(settings(**values | {"kafka_oauth_client_id": "ifr-service"}))
    assert other["sasl_oauth_token_provider"] is not provider


async def test_sasl_ssl_oauthbearer_from_a_token_file_reads_it_at_each_login(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("first-token\n")
    kwargs = client_kwargs(
        settings(
            kafka_security_protocol="SASL_SSL",
            kafka_sasl_mechanism="OAUTHBEARER",
            kafka_oauth_token_file=str(token_file),
        )
    )
    provider = kwargs["sasl_oauth_token_provider"]
    assert isinstance(provider, TokenFile)
    assert await provider.token() == "first-token"
    token_file.write_text("rotated-token")
    assert await provider.token() == "rotated-token"


def test_sasl_plaintext_has_sasl_and_no_tls() -> None:
    kwargs = client_kwargs(
        settings(kafka_security_protocol="SASL_PLAINTEXT", kafka_sasl_username="u", kafka_sasl_password="p")
    )
    assert "ssl_context" not in kwargs and kwargs["sasl_mechanism"] == "SCRAM-SHA-512"


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"kafka_security_protocol": "SASL_SSL"}, "KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD"),
        (
            {"kafka_security_protocol": "SASL_SSL", "kafka_sasl_username": "u"},
            "SCRAM-SHA-512 needs KAFKA_SASL_PASSWORD",
        ),
        (
            {"kafka_security_protocol": "SASL_SSL", "kafka_sasl_mechanism": "OAUTHBEARER"},
            "KAFKA_OAUTH_TOKEN_URL or KAFKA_OAUTH_TOKEN_FILE",
        ),
        (
            {
                "kafka_security_protocol": "SASL_SSL",
                "kafka_sasl_mechanism": "OAUTHBEARER",
                "kafka_oauth_token_url": "https://login.example.nhs.uk/token",
            },
            "KAFKA_OAUTH_CLIENT_ID and KAFKA_OAUTH_CLIENT_SECRET",
        ),
        ({"kafka_ssl_ca_file": "/ca.pem"}, "KAFKA_SSL_CA_FILE set but KAFKA_SECURITY_PROTOCOL=PLAINTEXT"),
        (
            {"kafka_security_protocol": "SSL", "kafka_ssl_cert_file": "/client.pem"},
            "KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE go together",
        ),
        ({"kafka_topics": {"cdf.event": {"partitions": 6}}}, "not platform topics: cdf.event"),
    ],
)
def test_incomplete_security_settings_are_refused_naming_them(values: dict[str, Any], named: str) -> None:
    with pytest.raises(ValidationError, match=named):
        settings(**values)


async def test_producer_is_idempotent_unless_turned_off() -> None:
    idempotent, plain = new_producer(settings()), new_producer(settings(kafka_enable_idempotence=False))
    try:  # aiokafka keeps producer ids and sequence numbers only for an idempotent producer
        assert idempotent._txn_manager is not None and plain._txn_manager is None
    finally:
        await idempotent.stop()
        await plain.stop()


async def test_every_client_kind_takes_the_arguments(pem: tuple[Path, Path]) -> None:
    """aiokafka accepts the builder's arguments as they are (a misspelt one would be a TypeError)."""
    kwargs = client_kwargs(
        settings(
            kafka_security_protocol="SASL_SSL",
            kafka_sasl_mechanism="SCRAM-SHA-256",
            kafka_sasl_username="u",
            kafka_sasl_password="p",
            kafka_ssl_ca_file=str(pem[0]),
        )
    )
    producer, consumer, admin = AIOKafkaProducer(**kwargs), AIOKafkaConsumer(**kwargs), AIOKafkaAdminClient(**kwargs)
    await producer.stop()
    await consumer.stop()
    await admin.close()


def test_topic_layouts_per_topic_and_their_dead_letters() -> None:
    configured = settings(
        kafka_topic_partitions=6,
        kafka_replication_factor=3,
        kafka_topics={"cdf.events": {"partitions": 24}, "mail.inbound.dlq": {"replication_factor": 2}},
    )
    assert configured.topic_layout("cdf.events") == (24, 3)
    assert configured.topic_layout("cdf.events.dlq") == (24, 3)  # a dead-letter topic follows its topic
    assert configured.topic_layout("ifr.events") == (6, 3)
    assert configured.topic_layout("mail.inbound.dlq") == (6, 2)


def test_topic_layouts_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_TOPICS", '{"contract.events": {"partitions": 12, "replication_factor": 3}}')
    assert ServiceSettings().topic_layout("contract.events") == (12, 3)
