"""Log in through an OpenID Connect provider (authorization code flow with PKCE), with
authlib for the OAuth 2 exchange and joserfc for the ID token.

The state, nonce and PKCE verifier of a login in progress travel in a short-lived cookie that
is sealed (encrypted and authenticated, `stadspuls.sealed`), so no server-side store is needed
and nobody can read or forge them. The ID token is checked against the provider's published
keys (JWKS), and for issuer, audience, nonce and expiry, before anyone is logged in.
"""

from __future__ import annotations

import json
import secrets
from typing import Any, NamedTuple

import httpx
from authlib.integrations.httpx_client import OAuth2Client
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from stadspuls.records import ROLES
from stadspuls.sealed import Sealer, SealError
from stadspuls.settings import OidcSettings

# Asymmetric signatures only: an HS256 token would be signed with our own client secret.
ALGORITHMS = ("RS256", "PS256", "ES256")
# A login in progress must come back from the provider within this time.
STATE_TTL_S = 600
# Clock difference tolerated between us and the provider when checking exp, iat and nbf.
LEEWAY_S = 60
_SEAL_CONTEXT = "oidc-login"


class OidcError(Exception):
    """The login through the provider failed; the message says why (for the log)."""


class Pending(NamedTuple):
    """A login in progress, between the redirect to the provider and its answer."""

    state: str
    nonce: str
    verifier: str
    next: str
    started: float

    def seal(self, sealer: Sealer) -> str:
        return sealer.seal(json.dumps(self._asdict()), _SEAL_CONTEXT)

    @classmethod
    def unseal(cls, sealer: Sealer, sealed: str, now: float) -> Pending:
        try:
            values = json.loads(sealer.open(sealed, _SEAL_CONTEXT))
            pending = cls(**values)
        except (SealError, ValueError, TypeError) as error:
            raise OidcError("the login state cookie is missing or damaged") from error
        if not 0 <= now - pending.started <= STATE_TTL_S:
            raise OidcError("the login took too long; start again")
        return pending


class Identity(NamedTuple):
    subject: str  # "issuer|sub", unique across providers
    username: str
    display_name: str
    role: str | None  # from the role claim, when it names one of ROLES


class OidcClient:
    def __init__(self, settings: OidcSettings, *, timeout_s: float = 10.0) -> None:
        self.settings = settings
        self.timeout_s = timeout_s
        self._metadata: dict[str, Any] | None = None
        self._keys: KeySet | None = None

    def _get(self, url: str) -> Any:
        try:
            response = httpx.get(url, timeout=self.timeout_s)
            response.raise_for_status()
            return response.json()
        except (httpx.HTTPError, ValueError) as error:
            raise OidcError(f"cannot read {url}: {error}") from error

    def metadata(self) -> dict[str, Any]:
        """The provider's discovery document (read once)."""
        if self._metadata is None:
            url = self.settings.issuer.rstrip("/") + "/.well-known/openid-configuration"
            found = self._get(url)
            if not isinstance(found, dict) or found.get("issuer") != self.settings.issuer:
                raise OidcError(f"{url} does not describe the issuer {self.settings.issuer}")
            for field in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
                if not isinstance(found.get(field), str):
                    raise OidcError(f"{url} names no {field}")
            self._metadata = found
        return self._metadata

    def _keyset(self, refresh: bool = False) -> KeySet:
        if self._keys is None or refresh:
            try:
                self._keys = KeySet.import_key_set(self._get(self.metadata()["jwks_uri"]))
            except (JoseError, ValueError, TypeError) as error:
                raise OidcError(f"the provider's JWKS cannot be read: {error}") from error
        return self._keys

    def _client(self, redirect_uri: str) -> OAuth2Client:
        return OAuth2Client(
            self.settings.client_id,
            self.settings.client_secret,
            scope=" ".join(self.settings.scopes),
            redirect_uri=redirect_uri,
            code_challenge_method="S256",
            timeout=self.timeout_s,
        )

    def start(self, redirect_uri: str, next_path: str, now: float) -> tuple[str, Pending]:
        """The provider's URL to send the browser to, and the login in progress."""
        pending = Pending(
            state=secrets.token_urlsafe(24),
            nonce=secrets.token_urlsafe(24),
            verifier=secrets.token_urlsafe(48),
            next=next_path,
            started=now,
        )
        with self._client(redirect_uri) as client:
            url, _state = client.create_authorization_url(
                self.metadata()["authorization_endpoint"],
                state=pending.state,
                nonce=pending.nonce,
                code_verifier=pending.verifier,
            )
        return url, pending

    def finish(
        self, redirect_uri: str, pending: Pending, state: str, code: str, now: float
    ) -> Identity:
        """Exchange the code for tokens and return who logged in, after checking the ID token."""
        if not secrets.compare_digest(state, pending.state):
            raise OidcError("the state the provider returned is not this login's")
        with self._client(redirect_uri) as client:
            try:
                token = client.fetch_token(
                    self.metadata()["token_endpoint"],
                    grant_type="authorization_code",
                    code=code,
                    code_verifier=pending.verifier,
                )
            except (httpx.HTTPError, ValueError, KeyError) as error:
                raise OidcError(f"the provider refused the code: {error}") from error
        id_token = token.get("id_token")
        if not isinstance(id_token, str):
            raise OidcError("the provider returned no ID token")
        claims = self._verified_claims(id_token, pending.nonce, now)
        return self._identity(claims)

    def _verified_claims(self, id_token: str, nonce: str, now: float) -> dict[str, Any]:
        try:
            decoded = jwt.decode(id_token, self._keyset(), algorithms=ALGORITHMS)
        except JoseError:
            # The provider may have rotated its keys since we read them: read them once more.
            try:
                decoded = jwt.decode(id_token, self._keyset(refresh=True), algorithms=ALGORITHMS)
            except JoseError as error:
                raise OidcError(f"the ID token's signature is not valid: {error}") from error
        registry = jwt.JWTClaimsRegistry(
            now=int(now),
            leeway=LEEWAY_S,
            iss={"essential": True, "value": self.metadata()["issuer"]},
            aud={"essential": True, "value": self.settings.client_id},
            exp={"essential": True},
            sub={"essential": True},
            nonce={"essential": True, "value": nonce},
        )
        try:
            registry.validate(decoded.claims)
        except JoseError as error:
            raise OidcError(f"the ID token is not valid: {error}") from error
        return dict(decoded.claims)

    def _identity(self, claims: dict[str, Any]) -> Identity:
        sub = str(claims["sub"])
        name = claims.get(self.settings.username_claim) or claims.get("email") or sub
        display = claims.get("name") or ""
        role = None
        if self.settings.role_claim is not None:
            role = _known_role(claims.get(self.settings.role_claim))
        return Identity(
            subject=f"{claims['iss']}|{sub}",
            username=str(name)[:200],
            display_name=str(display)[:200],
            role=role,
        )


def _known_role(value: object) -> str | None:
    """The role a claim names: a string, or the highest role in a list of groups."""
    if isinstance(value, str):
        return value if value in ROLES else None
    if isinstance(value, list):
        named = [ROLES.index(v) for v in value if isinstance(v, str) and v in ROLES]
        return ROLES[max(named)] if named else None
    return None
