"""A small OpenID Connect provider on loopback for the single sign-on tests.

It serves the discovery document, its JWKS, an authorize endpoint that sends the browser
straight back with a code (the user "logs in" at once as `user`), and a token endpoint that
checks the client's secret and the PKCE verifier and returns an RS256-signed ID token, signed
with a key generated for the test. `tamper` makes it misbehave in one named way.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

CLIENT_ID = "stadspuls-test"
CLIENT_SECRET = "provider-secret-for-tests"

# Ways to misbehave: a token signed by another key, expired, for another audience, with
# another nonce or issuer, or with its payload edited after signing.
TAMPERING = ("foreign-key", "expired", "audience", "nonce", "issuer", "edited")


def _new_key(kid: str) -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": kid}, private=True)


@dataclass
class Provider:
    issuer: str = ""
    key: RSAKey = field(
        default_factory=lambda: RSAKey.generate_key(2048, private=True, auto_kid=True)
    )
    other_key: RSAKey = field(
        default_factory=lambda: RSAKey.generate_key(2048, private=True, auto_kid=True)
    )
    user: dict[str, Any] = field(
        default_factory=lambda: {"sub": "u-1001", "preferred_username": "jan.jansen"}
    )
    tamper: str | None = None
    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    token_requests: int = 0

    def id_token(self, nonce: str) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": CLIENT_ID,
            "iat": now,
            "exp": now + 300,
            "nonce": nonce,
            "name": "Jan Jansen",
            **self.user,
        }
        if self.tamper == "expired":
            claims["iat"], claims["exp"] = now - 3600, now - 1800
        elif self.tamper == "audience":
            claims["aud"] = "another-client"
        elif self.tamper == "nonce":
            claims["nonce"] = "not-the-nonce"
        elif self.tamper == "issuer":
            claims["iss"] = "http://127.0.0.1:1/elsewhere"
        key = self.other_key if self.tamper == "foreign-key" else self.key
        header = {"alg": "RS256", "kid": self.key.kid}
        token = jwt.encode(header, claims, key, algorithms=["RS256"])
        if self.tamper == "edited":
            head, body, signature = token.split(".")
            payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
            payload["preferred_username"] = "admin"
            body = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")
            token = f"{head}.{body}.{signature}"
        return token


def _handler(provider: Provider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _json(self, body: object, status: int = 200) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            if url.path == "/.well-known/openid-configuration":
                self._json(
                    {
                        "issuer": provider.issuer,
                        "authorization_endpoint": provider.issuer + "/authorize",
                        "token_endpoint": provider.issuer + "/token",
                        "jwks_uri": provider.issuer + "/jwks",
                        "response_types_supported": ["code"],
                        "subject_types_supported": ["public"],
                        "id_token_signing_alg_values_supported": ["RS256"],
                        "code_challenge_methods_supported": ["S256"],
                    }
                )
            elif url.path == "/jwks":
                self._json(KeySet([provider.key]).as_dict(private=False))
            elif url.path == "/authorize":
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                if query.get("client_id") != CLIENT_ID or query.get("response_type") != "code":
                    self._json({"error": "invalid_request"}, 400)
                    return
                code = secrets.token_urlsafe(16)
                provider.codes[code] = query
                back = {"code": code, "state": query.get("state", "")}
                self.send_response(302)
                self.send_header("Location", f"{query['redirect_uri']}?{urlencode(back)}")
                self.end_headers()
            else:
                self._json({"error": "not_found"}, 404)

        def do_POST(self) -> None:
            if urlsplit(self.path).path != "/token":
                self._json({"error": "not_found"}, 404)
                return
            provider.token_requests += 1
            length = int(self.headers.get("Content-Length", "0"))
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            if not self._client_authenticated(form):
                self._json({"error": "invalid_client"}, 401)
                return
            request = provider.codes.pop(form.get("code", ""), None)
            verifier = form.get("code_verifier", "")
            challenge = (
                base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
                .decode()
                .rstrip("=")
            )
            if (
                request is None
                or form.get("grant_type") != "authorization_code"
                or form.get("redirect_uri") != request["redirect_uri"]
                or request.get("code_challenge_method") != "S256"
                or challenge != request.get("code_challenge")
            ):
                self._json({"error": "invalid_grant"}, 400)
                return
            self._json(
                {
                    "access_token": secrets.token_urlsafe(16),
                    "token_type": "Bearer",
                    "expires_in": 300,
                    "id_token": provider.id_token(request.get("nonce", "")),
                }
            )

        def _client_authenticated(self, form: dict[str, str]) -> bool:
            header = self.headers.get("Authorization", "")
            if header.startswith("Basic "):
                pair = base64.b64decode(header[6:]).decode()
                return pair == f"{CLIENT_ID}:{CLIENT_SECRET}"
            given = (form.get("client_id"), form.get("client_secret"))
            return given == (CLIENT_ID, CLIENT_SECRET)

    return Handler


@contextmanager
def running_provider() -> Iterator[Provider]:
    """A provider on an ephemeral loopback port until the block ends."""
    provider = Provider()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(provider))
    provider.issuer = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield provider
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
