"""A Bluesky PDS on loopback as publishing uses it, speaking XRPC with the lexicons' field names:
com.atproto.server.createSession / refreshSession (real JWT-shaped tokens with `exp`, which the
`atproto` client reads), com.atproto.repo.uploadBlob (the 1,000,000-byte blob limit, the type
sniffed from the bytes, a CIDv1 raw sha-256 as the blob's ref), com.atproto.repo.createRecord
(a given rkey must be a TID; a taken one is refused; blobs must have been uploaded; a post's text
at most 300 graphemes and 3,000 bytes; facets inside the text) and com.atproto.repo.getRecord.

Failure injection: `fail` answers the next requests (to `fail_nsid`, when set) with the given
status codes, in the PDS's error shape ({"error", "message"}; a 429 with the ratelimit-*
headers); `lose_next_create` stores the next record but answers 500, as when the answer is lost
on the way back; `miss_lookups` makes getRecord miss, as when another worker posts between
our lookup and our create. A taken rkey is answered 400 InvalidRequest "Record already exists" (the
publishing target does not rely on the words: it looks the record up with getRecord).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from stadspuls.channels.split import graphemes

HANDLE = "gemeente-demo.bsky.social"
DID = "did:plc:gemeentedemo4x7k2mfq3ra"
PASSWORD = "abcd-efgh-ijkl-mnop"  # an app password's shape
BLOB_LIMIT = 1_000_000
TID = re.compile(r"^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$")
_SECRET = b"pds-test-signing-key"
ERRORS = {
    400: ("InvalidRequest", "Input/record: must be a valid record"),
    401: ("AuthenticationRequired", "Invalid identifier or password"),
    500: ("InternalServerError", "Internal Server Error"),
    502: ("UpstreamFailure", "Upstream failure"),
    503: ("NotEnoughResources", "Service unavailable"),
}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def cid_of(data: bytes, codec: int = 0x55) -> str:
    """A CIDv1 (raw 0x55 for blobs, dag-cbor 0x71 for records) of the sha-256, base32."""
    digest = bytes([0x01, codec, 0x12, 0x20]) + hashlib.sha256(data).digest()
    return "b" + base64.b32encode(digest).decode().lower().rstrip("=")


def sniff(data: bytes) -> str:
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return "application/octet-stream"


class BlueskyPds:
    def __init__(self, *, access_s: int = 7200) -> None:
        self.access_s = access_s
        self.fail: list[int] = []
        self.fail_nsid: str | None = None
        self.lose_next_create = False
        self.miss_lookups = 0  # getRecord misses this many times (another worker's race)
        self.requests: list[dict[str, Any]] = []
        self.sessions = 0
        self.tokens: set[str] = set()
        self.blobs: dict[str, dict[str, Any]] = {}
        self.blob_bytes: dict[str, bytes] = {}
        self.records: dict[str, dict[str, Any]] = {}  # at:// uri -> {"cid", "value"}
        self.app = Starlette(
            routes=[
                Route(
                    "/xrpc/com.atproto.server.createSession", self.create_session, methods=["POST"]
                ),
                Route(
                    "/xrpc/com.atproto.server.refreshSession",
                    self.refresh_session,
                    methods=["POST"],
                ),
                Route("/xrpc/com.atproto.repo.uploadBlob", self.upload_blob, methods=["POST"]),
                Route("/xrpc/com.atproto.repo.createRecord", self.create_record, methods=["POST"]),
                Route("/xrpc/com.atproto.repo.getRecord", self.get_record),
            ]
        )

    @property
    def posts(self) -> list[dict[str, Any]]:
        """Our posts in the order they were made, each with its "uri", "cid" and "value"."""
        return [
            {"uri": uri, **found}
            for uri, found in self.records.items()
            if "/app.bsky.feed.post/" in uri
        ]

    @staticmethod
    def error(code: int, name: str | None = None, message: str | None = None) -> Response:
        default = ERRORS.get(code, ("InternalServerError", "failure"))
        headers: dict[str, str] = {}
        if code == 429:
            default = ("RateLimitExceeded", "Rate Limit Exceeded")
            headers = {
                "ratelimit-limit": "5000",
                "ratelimit-remaining": "0",
                "ratelimit-reset": str(int(time.time()) + 120),
                "ratelimit-policy": "5000;w=3600",
            }
        return JSONResponse(
            {"error": name or default[0], "message": message or default[1]}, code, headers=headers
        )

    def _token(self, kind: str, lifetime_s: int) -> str:
        now = int(time.time())
        header = _b64(json.dumps({"typ": "at+jwt", "alg": "HS256"}).encode())
        scope = "com.atproto.appPass" if kind == "access" else "com.atproto.refresh"
        claims = {
            "scope": scope,
            "sub": DID,
            "iat": now,
            "exp": now + lifetime_s,
            "aud": "did:web:pds.test",
        }
        payload = _b64(json.dumps(claims).encode())
        signature = _b64(hmac.new(_SECRET, f"{header}.{payload}".encode(), "sha256").digest())
        token = f"{header}.{payload}.{signature}"
        self.tokens.add(token)
        return token

    def _log(self, request: Request, nsid: str) -> Response | None:
        self.requests.append({"nsid": nsid, "method": request.method})
        if self.fail and (self.fail_nsid is None or self.fail_nsid == nsid):
            return self.error(self.fail.pop(0))
        return None

    def _authorised(self, request: Request) -> Response | None:
        auth = request.headers.get("authorization", "")
        if not auth.startswith("Bearer ") or auth.removeprefix("Bearer ") not in self.tokens:
            return self.error(401, "InvalidToken", "Token could not be verified")
        return None

    def _session(self, request: Request) -> dict[str, Any]:
        base = f"{request.url.scheme}://{request.url.netloc}"
        return {
            "did": DID,
            "handle": HANDLE,
            "email": "communicatie@gemeente.example",
            "emailConfirmed": True,
            "active": True,
            "accessJwt": self._token("access", self.access_s),
            "refreshJwt": self._token("refresh", 90 * 86400),
            "didDoc": {
                "@context": ["https://www.w3.org/ns/did/v1"],
                "id": DID,
                "alsoKnownAs": [f"at://{HANDLE}"],
                "service": [
                    {
                        "id": "#atproto_pds",
                        "type": "AtprotoPersonalDataServer",
                        "serviceEndpoint": base,
                    }
                ],
            },
        }

    async def create_session(self, request: Request) -> Response:
        refused = self._log(request, "com.atproto.server.createSession")
        if refused is not None:
            return refused
        body = await request.json()
        if body.get("identifier") not in (HANDLE, DID) or body.get("password") != PASSWORD:
            return self.error(401)
        self.sessions += 1
        return JSONResponse(self._session(request))

    async def refresh_session(self, request: Request) -> Response:
        refused = self._log(request, "com.atproto.server.refreshSession") or self._authorised(
            request
        )
        if refused is not None:
            return refused
        return JSONResponse(self._session(request))

    async def upload_blob(self, request: Request) -> Response:
        refused = self._log(request, "com.atproto.repo.uploadBlob") or self._authorised(request)
        if refused is not None:
            return refused
        data = await request.body()
        if len(data) > BLOB_LIMIT:
            return self.error(
                400,
                "BlobTooLarge",
                f"This file is too large. It is {len(data) / 1e6:.2f}MB but the maximum size "
                f"is {BLOB_LIMIT / 1024:.2f}KB.",
            )
        cid = cid_of(data)
        blob = {"$type": "blob", "ref": {"$link": cid}, "mimeType": sniff(data), "size": len(data)}
        self.blobs[cid] = blob
        self.blob_bytes[cid] = data
        return JSONResponse({"blob": blob})

    async def create_record(self, request: Request) -> Response:
        refused = self._log(request, "com.atproto.repo.createRecord") or self._authorised(request)
        if refused is not None:
            return refused
        body = await request.json()
        collection, record = body.get("collection"), body.get("record")
        if body.get("repo") not in (DID, HANDLE) or not isinstance(record, dict):
            return self.error(400, "InvalidRequest", 'Input must have the property "repo"')
        rkey = body.get("rkey")
        if rkey is None:
            rkey = _now_tid()
        elif collection == "app.bsky.feed.post" and not TID.match(rkey):
            return self.error(400, "InvalidRequest", f"Invalid record key: {rkey}")
        uri = f"at://{DID}/{collection}/{rkey}"
        if uri in self.records:
            return self.error(400, "InvalidRequest", "Record already exists")
        problem = self._invalid(collection, record)
        if problem:
            return self.error(
                400, "InvalidRequest", f"Invalid app.bsky.feed.post record: {problem}"
            )
        encoded = json.dumps(record, sort_keys=True).encode()
        cid = cid_of(encoded, 0x71)
        self.records[uri] = {"cid": cid, "value": record}
        if self.lose_next_create:
            self.lose_next_create = False
            return self.error(500)
        return JSONResponse(
            {
                "uri": uri,
                "cid": cid,
                "commit": {"cid": cid_of(encoded + b"commit", 0x71), "rev": _now_tid()},
                "validationStatus": "valid",
            }
        )

    def _invalid(self, collection: Any, record: dict[str, Any]) -> str | None:
        if record.get("$type") != collection:
            return "Record/$type must match the collection"
        if collection != "app.bsky.feed.post":
            return None
        text = record.get("text")
        if not isinstance(text, str) or not isinstance(record.get("createdAt"), str):
            return 'Record must have the properties "text" and "createdAt"'
        if len(text.encode()) > 3000 or graphemes(text) > 300:
            return "Record/text must not be longer than 300 graphemes"
        size = len(text.encode())
        for facet in record.get("facets") or []:
            index = facet.get("index", {})
            start, end = index.get("byteStart"), index.get("byteEnd")
            if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= size):
                return "Record/facets/index out of range"
        embed = record.get("embed") or {}
        for image in embed.get("images") or []:
            if image.get("image", {}).get("ref", {}).get("$link") not in self.blobs:
                return "Could not find blob"
        return None

    async def get_record(self, request: Request) -> Response:
        refused = self._log(request, "com.atproto.repo.getRecord")
        if refused is not None:
            return refused
        params = request.query_params
        repo = params.get("repo")
        if repo not in (DID, HANDLE):
            return self.error(400, "InvalidRequest", f"Could not find repo: {repo}")
        uri = f"at://{DID}/{params.get('collection')}/{params.get('rkey')}"
        found = self.records.get(uri)
        if self.miss_lookups > 0:
            self.miss_lookups -= 1
            found = None
        if found is None:
            return self.error(400, "RecordNotFound", f"Could not locate record: {uri}")
        return JSONResponse({"uri": uri, "cid": found["cid"], "value": found["value"]})


def _now_tid() -> str:
    micros = time.time_ns() // 1000
    value = (micros << 10) | 7
    alphabet = "234567abcdefghijklmnopqrstuvwxyz"
    return "".join(alphabet[(value >> (5 * (12 - i))) & 31] for i in range(13))
