"""How every Kafka client of the platform reaches the brokers: the one place the security settings
become aiokafka arguments.

`client_kwargs(settings)` is passed to each producer, consumer and admin client (the outbox relay, the
inbox consumers, the readiness probe, topic creation, the broker-loss check). It gives the bootstrap
address and, by `KAFKA_SECURITY_PROTOCOL`:

- PLAINTEXT: nothing more (the embedded Tansu broker; the production guard refuses it);
- SSL: a TLS context verifying the brokers by `KAFKA_SSL_CA_FILE` (or the system's CAs), with a client
  certificate when `KAFKA_SSL_CERT_FILE`/`KAFKA_SSL_KEY_FILE` are set (mutual TLS);
- SASL_SSL: the same TLS context and SASL: SCRAM-SHA-256/512 or PLAIN with `KAFKA_SASL_USERNAME` and
  `KAFKA_SASL_PASSWORD`, or OAUTHBEARER with a token from `KAFKA_OAUTH_TOKEN_URL` by the client credentials
  grant (authlib's OAuth 2 client, renewed a minute before it expires) or read from `KAFKA_OAUTH_TOKEN_FILE`
  (a token another process keeps fresh, such as a projected service-account token);
- SASL_PLAINTEXT: SASL without TLS (refused in production: the password or token would cross in clear).
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aiokafka.abc import AbstractTokenProvider
from aiokafka.helpers import create_ssl_context

from casework.settings import ServiceSettings


def client_kwargs(settings: ServiceSettings) -> dict[str, Any]:
    """Connection and security arguments shared by AIOKafkaProducer, AIOKafkaConsumer and AIOKafkaAdminClient."""
    kwargs: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap_servers,
        "security_protocol": settings.kafka_security_protocol,
        "metadata_max_age_ms": settings.kafka_metadata_max_age_ms,
    }
    if settings.kafka_security_protocol in ("SSL", "SASL_SSL"):
        kwargs["ssl_context"] = tls_context(settings)
    if settings.kafka_security_protocol.startswith("SASL_"):
        kwargs["sasl_mechanism"] = settings.kafka_sasl_mechanism
        if settings.kafka_sasl_mechanism == "OAUTHBEARER":
            kwargs["sasl_oauth_token_provider"] = token_provider(settings)
        else:
            kwargs["sasl_plain_username"] = settings.kafka_sasl_username
            kwargs["sasl_plain_password"] = _secret(settings.kafka_sasl_password)
    return kwargs


def tls_context(settings: ServiceSettings) -> ssl.SSLContext:
    """Verifies the brokers' certificates and host names; presents a client certificate where one is set."""
    password = _secret(settings.kafka_ssl_key_password)
    context: ssl.SSLContext = create_ssl_context(
        cafile=settings.kafka_ssl_ca_file,
        certfile=settings.kafka_ssl_cert_file,
        keyfile=settings.kafka_ssl_key_file,
        password=password,
    )
    return context


def token_provider(settings: ServiceSettings) -> AbstractTokenProvider:
    """The OAUTHBEARER token source the settings name, shared by every client of this process."""
    if settings.kafka_oauth_token_url:
        provider = ClientCredentialsTokens(
            settings.kafka_oauth_token_url,
            settings.kafka_oauth_client_id or "",
            _secret(settings.kafka_oauth_client_secret) or "",
            settings.kafka_oauth_scope,
            settings.kafka_oauth_token_params,
        )
        return _client_credentials.setdefault(provider.key, provider)
    if settings.kafka_oauth_token_file:
        return TokenFile(Path(settings.kafka_oauth_token_file))
    raise ValueError("KAFKA_SASL_MECHANISM=OAUTHBEARER needs KAFKA_OAUTH_TOKEN_URL or KAFKA_OAUTH_TOKEN_FILE")


class ClientCredentialsTokens(AbstractTokenProvider):
    """Access tokens by the OAuth 2 client credentials grant, reused until a minute before they expire."""

    RENEW_BEFORE_S = 60

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str,
        scope: str | None = None,
        params: Mapping[str, str] | None = None,
        timeout_s: float = 10,
    ) -> None:
        self.token_url = token_url
        self._client_id, self._client_secret, self._scope = client_id, client_secret, scope
        self._params = dict(params or {})
        self._timeout_s = timeout_s
        self._token: Any = None
        self._lock = asyncio.Lock()

    async def token(self) -> str:
        from authlib.integrations.httpx_client import AsyncOAuth2Client

        async with self._lock:
            if self._token is None or self._token.is_expired(leeway=self.RENEW_BEFORE_S) is not False:
                async with AsyncOAuth2Client(
                    self._client_id, self._client_secret, scope=self._scope, timeout=self._timeout_s
                ) as client:
                    self._token = await client.fetch_token(
                        self.token_url, grant_type="client_credentials", **self._params
                    )
            return str(self._token["access_token"])

    @property
    def key(self) -> tuple[str, ...]:
        """Which token this is: one provider per token URL, client, scope and parameters in a process."""
        params = sorted(f"{name}={value}" for name, value in self._params.items())
        return (self.token_url, self._client_id, self._scope or "", *params)


class TokenFile(AbstractTokenProvider):
    """A token kept fresh in a file by someone else; read again at every SASL login."""

    def __init__(self, path: Path) -> None:
        self.path = path

    async def token(self) -> str:
        token = (await asyncio.to_thread(self.path.read_text)).strip()
        if not token:
            raise ValueError(f"KAFKA_OAUTH_TOKEN_FILE {self.path} is empty")
        return token


_client_credentials: dict[tuple[str, ...], ClientCredentialsTokens] = {}


def _secret(value: Any) -> str | None:
    return value.get_secret_value() if value is not None else None
