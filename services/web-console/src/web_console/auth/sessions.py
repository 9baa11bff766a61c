"""Server-side sessions: the browser holds only a random key; who signed in and their tokens stay here.

A row is keyed by the SHA-256 of the cookie value, so the table alone cannot be replayed as cookies;
the tokens in it are encrypted (Fernet, key derived from SESSION_KEY). Two kinds of row:
- `pending`: a sign-in in flight (state, nonce, PKCE verifier, where to go after), used once;
- `active`: a signed-in user, ended by sign-out, by SESSION_IDLE_TIMEOUT_S without use, or
  SESSION_MAX_AGE_S after sign-in.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import Column, DateTime, String, Table, Text, delete, insert, select, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncEngine

from casework.db import service_metadata

metadata = service_metadata()
console_sessions = Table(
    "console_sessions",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("kind", String(10), nullable=False),
    Column("data", JSONB, nullable=False),
    Column("tokens", Text),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_seen_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False, index=True),
)
PENDING_SIGN_IN_S = 10 * 60
TOUCH_EVERY_S = 30  # last use is written at most this often, not on every page


@dataclass(frozen=True)
class SignedInUser:
    sub: str
    name: str
    email: str | None
    org: str
    roles: frozenset[str]
    role_name: str | None
    is_commissioner: bool

    def has_any(self, *roles: str) -> bool:
        return bool(self.roles & {str(r) for r in roles}) or "admin" in self.roles


@dataclass(frozen=True)
class Tokens:
    access_token: str
    refresh_token: str | None
    expires_at: float  # epoch seconds
    id_token: str | None


@dataclass(frozen=True)
class Session:
    key_hash: str
    user: SignedInUser
    tokens: Tokens
    csrf_token: str


def _hash(cookie_value: str) -> str:
    return hashlib.sha256(cookie_value.encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


class SessionStore:
    def __init__(self, engine: AsyncEngine, secret: str, idle_s: int, max_age_s: int) -> None:
        self._engine = engine
        self._fernet = Fernet(base64.urlsafe_b64encode(hashlib.sha256(secret.encode()).digest()))
        self._idle = timedelta(seconds=idle_s)
        self._max_age = timedelta(seconds=max_age_s)

    # -- sign-in in flight -----------------------------------------------------------------------

    async def start_sign_in(self, flight: dict[str, Any]) -> str:
        value, now = secrets.token_urlsafe(32), _now()
        async with self._engine.begin() as conn:
            await conn.execute(
                insert(console_sessions).values(
                    id=_hash(value),
                    kind="pending",
                    data=flight,
                    csrf_token=secrets.token_urlsafe(32),
                    created_at=now,
                    last_seen_at=now,
                    expires_at=now + timedelta(seconds=PENDING_SIGN_IN_S),
                )
            )
        return value

    async def take_sign_in(self, cookie_value: str) -> dict[str, Any] | None:
        """The sign-in started with this cookie, once: a replayed callback finds nothing."""
        async with self._engine.begin() as conn:
            row = (
                await conn.execute(
                    delete(console_sessions)
                    .where(console_sessions.c.id == _hash(cookie_value), console_sessions.c.kind == "pending")
                    .returning(console_sessions.c.data, console_sessions.c.expires_at)
                )
            ).first()
        if row is None or row.expires_at <= _now():
            return None
        return dict(row.data)

    # -- signed-in sessions ----------------------------------------------------------------------

    async def create(self, user: SignedInUser, tokens: Tokens) -> str:
        value, now = secrets.token_urlsafe(32), _now()
        data = {**asdict(user), "roles": sorted(user.roles)}
        async with self._engine.begin() as conn:
            await conn.execute(
                insert(console_sessions).values(
                    id=_hash(value),
                    kind="active",
                    data=data,
                    tokens=self._seal(tokens),
                    csrf_token=secrets.token_urlsafe(32),
                    created_at=now,
                    last_seen_at=now,
                    expires_at=now + self._max_age,
                )
            )
        return value

    async def load(self, cookie_value: str) -> Session | None:
        """The live session this cookie names; None for an unknown, ended, idle or expired one."""
        key_hash, now = _hash(cookie_value), _now()
        async with self._engine.begin() as conn:
            row = (
                await conn.execute(
                    select(console_sessions).where(
                        console_sessions.c.id == key_hash, console_sessions.c.kind == "active"
                    )
                )
            ).first()
            if row is None:
                return None
            if row.expires_at <= now or now - row.last_seen_at > self._idle:
                await conn.execute(delete(console_sessions).where(console_sessions.c.id == key_hash))
                return None
            if (now - row.last_seen_at).total_seconds() > TOUCH_EVERY_S:
                await conn.execute(
                    update(console_sessions).where(console_sessions.c.id == key_hash).values(last_seen_at=now)
                )
        tokens = self._open(row.tokens)
        if tokens is None:  # sealed with another key (SESSION_KEY rotated): sign in again
            return None
        data = dict(row.data)
        user = SignedInUser(**{**data, "roles": frozenset(data["roles"])})
        return Session(key_hash=key_hash, user=user, tokens=tokens, csrf_token=row.csrf_token)

    async def replace_tokens(self, session: Session, tokens: Tokens) -> Session:
        async with self._engine.begin() as conn:
            await conn.execute(
                update(console_sessions)
                .where(console_sessions.c.id == session.key_hash)
                .values(tokens=self._seal(tokens), last_seen_at=_now())
            )
        return Session(session.key_hash, session.user, tokens, session.csrf_token)

    async def end(self, session: Session) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(delete(console_sessions).where(console_sessions.c.id == session.key_hash))

    async def purge_expired(self) -> int:
        now = _now()
        async with self._engine.begin() as conn:
            result = await conn.execute(
                delete(console_sessions).where(
                    (console_sessions.c.expires_at <= now) | (console_sessions.c.last_seen_at < now - self._idle)
                )
            )
        return int(result.rowcount or 0)

    # -- sealing ---------------------------------------------------------------------------------

    def _seal(self, tokens: Tokens) -> str:
        return self._fernet.encrypt(json.dumps(asdict(tokens)).encode()).decode()

    def _open(self, sealed: str | None) -> Tokens | None:
        if sealed is None:
            return None
        try:
            return Tokens(**json.loads(self._fernet.decrypt(sealed.encode())))
        except InvalidToken:
            return None
