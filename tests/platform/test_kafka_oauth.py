"""OAUTHBEARER tokens for Kafka by the client credentials grant, from the real OpenID provider.

Tansu takes no SASL here, so the broker side is not exercised; what is shown is that the token provider
the Kafka clients are given gets a genuine access token from a token endpoint with the service's client
credentials (authlib), with the request fields `KAFKA_OAUTH_TOKEN_PARAMS` adds, and reuses it.
"""

import jwt

from casework.kafka_client import ClientCredentialsTokens, client_kwargs
from casework.settings import ServiceSettings
from embedded_stack.oidc import API_AUDIENCE, client_id_of
from embedded_stack.testing import TestStack


async def test_kafka_oauthbearer_token_comes_from_the_token_endpoint_and_is_reused(stack: TestStack) -> None:
    settings = ServiceSettings(
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_mechanism="OAUTHBEARER",
        kafka_oauth_token_url=f"{stack.oidc.issuer}/token",
        kafka_oauth_client_id=client_id_of("cdf"),
        kafka_oauth_client_secret=stack.oidc.secrets["cdf_client_secret"],
        kafka_oauth_token_params={"resource": API_AUDIENCE},
    )
    provider = client_kwargs(settings)["sasl_oauth_token_provider"]
    assert isinstance(provider, ClientCredentialsTokens)

    token = await provider.token()
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["client_id"] == client_id_of("cdf") and claims["aud"] == API_AUDIENCE
    assert await provider.token() == token  # kept until a minute before it expires
