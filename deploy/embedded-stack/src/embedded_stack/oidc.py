"""The embedded run's OpenID provider: panva's `oidc-provider` (npm), run by node, with dev personas.

It stands where NHS CIS2 Authentication stands in production. This module writes its configuration
(clients, resources, signing keys) under the stack's folder and runs `oidc-provider/provider.mjs`;
the personas, and the role map that turns their CIS2-shaped role codes into platform roles, come from
`oidc-provider/personas.json`, the one list the provider, the services, `make up` and the tests share.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from embedded_stack.processes import stop, wait_until_answers

PROVIDER_DIR = Path(__file__).resolve().parents[2] / "oidc-provider"
PERSONAS_FILE = PROVIDER_DIR / "personas.json"
API_AUDIENCE = "urn:casework:api"
# A second API the dev provider issues tokens for, so tests can show the services refuse a genuine
# token minted for another audience.
OTHER_AUDIENCE = "urn:casework:test:another-api"
CONSOLE_CLIENT_ID = "casework-console"
# A public client for `make token PERSONA=...`: signs a persona in over HTTP, no browser needed.
DEV_CLI_CLIENT_ID = "casework-dev-cli"
DEV_CLI_REDIRECT = "http://127.0.0.1/dev-cli-callback"
SERVICE_ROLE_CODE = "DEV:PLATFORM_SERVICE"
SERVICE_ORG = "X24"
SERVICES = ("ifr", "cdf", "contract", "notification")  # each has its own client (client credentials)


@dataclass(frozen=True)
class Persona:
    id: str
    name: str
    title: str
    org: str
    org_name: str
    email: str
    role_code: str
    roles: tuple[str, ...]


def personas() -> list[Persona]:
    raw = json.loads(PERSONAS_FILE.read_text())["personas"]
    return [Persona(**{**p, "roles": tuple(p["roles"])}) for p in raw]


def persona(persona_id: str) -> Persona:
    return next(p for p in personas() if p.id == persona_id)


def role_map() -> dict[str, list[str]]:
    """OIDC_ROLE_MAP for the embedded run: each persona's role code -> its platform roles."""
    mapping: dict[str, list[str]] = {SERVICE_ROLE_CODE: ["service"]}
    for p in personas():
        known = mapping.setdefault(p.role_code, list(p.roles))
        if sorted(known) != sorted(p.roles):
            raise ValueError(f"role code {p.role_code} maps to different roles in personas.json")
    return mapping


def client_id_of(service: str) -> str:
    return f"{service}-service"


def new_signing_key() -> dict[str, Any]:
    """A private RSA JWK with a fresh key id."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key))
    jwk.pop("key_ops", None)  # PyJWT marks a private JWK "sign" only; the provider verifies ID token hints with it too
    return {**jwk, "kid": uuid.uuid4().hex[:16], "use": "sig", "alg": "RS256"}


class OidcProvider:
    """One provider process. `console_urls` are the web console's base URLs it may redirect to."""

    def __init__(
        self,
        folder: Path,
        port: int,
        secrets: dict[str, str],
        console_urls: list[str],
        services: tuple[str, ...],
        log_file: Path,
        access_token_ttl_s: int = 900,
    ) -> None:
        self.folder, self.port, self.log_file = folder, port, log_file
        self.secrets, self.console_urls, self.services = secrets, console_urls, services
        self.access_token_ttl_s = access_token_ttl_s
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def jwks_file(self) -> Path:
        return self.folder / "jwks.json"

    def ensure_keys(self) -> None:
        if not self.jwks_file.exists():
            self.write_keys([new_signing_key()])
        elif any("key_ops" in k for k in self.signing_keys()):  # written by an earlier version of the stack
            self.write_keys([{k: v for k, v in key.items() if k != "key_ops"} for key in self.signing_keys()])

    def write_keys(self, keys: list[dict[str, Any]]) -> None:
        """The provider signs with the first key and publishes all of them (rotation: prepend a new one)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self.jwks_file.write_text(json.dumps({"keys": keys}))
        self.jwks_file.chmod(0o600)

    def signing_keys(self) -> list[dict[str, Any]]:
        return json.loads(self.jwks_file.read_text())["keys"]

    def config(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "host": "127.0.0.1",
            "port": self.port,
            "jwks_file": str(self.jwks_file),
            "personas_file": str(PERSONAS_FILE),
            "cookie_keys": [self.secrets["oidc_cookie_key"]],
            "access_token_ttl_s": self.access_token_ttl_s,
            "default_resource": API_AUDIENCE,
            "resources": {API_AUDIENCE: {"scope": "casework"}, OTHER_AUDIENCE: {"scope": "other"}},
            "clients": [
                self._console_client(),
                self._dev_cli_client(),
                *(self._service_client(s) for s in self.services),
            ],
            "service_clients": {
                client_id_of(s): {"org": SERVICE_ORG, "role_code": SERVICE_ROLE_CODE} for s in self.services
            },
        }

    def _console_client(self) -> dict[str, Any]:
        return {
            "client_id": CONSOLE_CLIENT_ID,
            "client_secret": self.secrets["console_client_secret"],
            "client_name": "Casework console",
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "redirect_uris": [f"{url}/auth/callback" for url in self.console_urls],
            "post_logout_redirect_uris": [f"{url}/signed-out" for url in self.console_urls],
            "token_endpoint_auth_method": "client_secret_basic",
        }

    @staticmethod
    def _dev_cli_client() -> dict[str, Any]:
        return {
            "client_id": DEV_CLI_CLIENT_ID,
            "client_name": "make token",
            "grant_types": ["authorization_code"],
            "response_types": ["code"],
            "redirect_uris": [DEV_CLI_REDIRECT],
            "token_endpoint_auth_method": "none",
        }

    def _service_client(self, service: str) -> dict[str, Any]:
        return {
            "client_id": client_id_of(service),
            "client_secret": self.secrets[f"{service}_client_secret"],
            "grant_types": ["client_credentials"],
            "response_types": [],
            "redirect_uris": [],
            "token_endpoint_auth_method": "client_secret_basic",
        }

    def start(self) -> None:
        if not (PROVIDER_DIR / "node_modules" / "oidc-provider").is_dir():
            raise RuntimeError(f"oidc-provider is not installed in {PROVIDER_DIR}: run `make sync`")
        self.ensure_keys()
        config_file = self.folder / "provider.json"
        config_file.write_text(json.dumps(self.config(), indent=1))
        config_file.chmod(0o600)
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as log:
            self.process = subprocess.Popen(
                ["node", str(PROVIDER_DIR / "provider.mjs")],
                env={"OIDC_CONFIG": str(config_file), "PATH": os.environ.get("PATH", "/usr/bin:/bin")},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.wait_ready()

    def wait_ready(self, timeout: float = 30.0) -> None:
        wait_until_answers(f"{self.issuer}/.well-known/openid-configuration", self.process, self.log_file, timeout)

    def restart(self) -> None:
        self.stop()
        self.start()

    def stop(self) -> None:
        stop(self.process)
        self.process = None

    def service_token(self, service: str, audience: str = API_AUDIENCE) -> str:
        """A client-credentials token for one of the services' clients (tests, `make token`)."""
        response = httpx.post(
            f"{self.issuer}/token",
            data={"grant_type": "client_credentials", "resource": audience},
            auth=(client_id_of(service), self.secrets[f"{service}_client_secret"]),
            timeout=10,
        )
        response.raise_for_status()
        return str(response.json()["access_token"])

    def persona_token(self, persona_id: str, audience: str = API_AUDIENCE) -> str:
        """A user's access token from the provider, as the console would get it, for a dev persona: the
        authorization code flow with PKCE driven over HTTP (the persona picked on the sign-in form)."""
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
        with httpx.Client(base_url=self.issuer, timeout=10, follow_redirects=False) as client:
            response = client.get(
                "/auth",
                params={
                    "client_id": DEV_CLI_CLIENT_ID,
                    "response_type": "code",
                    "scope": "openid",
                    "redirect_uri": DEV_CLI_REDIRECT,
                    "code_challenge": challenge,
                    "code_challenge_method": "S256",
                    "state": secrets.token_urlsafe(8),
                    "resource": audience,
                },
            )
            while response.is_redirect:
                location = response.headers["location"]
                if location.startswith(DEV_CLI_REDIRECT):
                    code = httpx.URL(location).params["code"]
                    break
                if location.startswith("/interaction/") and not location.endswith("/login"):
                    client.get(location)  # the sign-in page
                    response = client.post(f"{location}/login", data={"persona": persona_id})
                    continue
                response = client.get(location)
            else:
                raise RuntimeError(f"the provider did not sign {persona_id} in: {response.status_code}")
            token = client.post(
                "/token",
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": DEV_CLI_REDIRECT,
                    "code_verifier": verifier,
                    "client_id": DEV_CLI_CLIENT_ID,
                    "resource": audience,
                },
            )
            token.raise_for_status()
            return str(token.json()["access_token"])
