"""A session with an atproto PDS over XRPC: createSession with the handle and an app password,
refreshSession when the access token expires (a new session when that is refused too), and
calls that turn the answers into ChannelError (a 5xx or a dropped connection may pass; a 4xx
does not; a 429 says when to come back)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import httpx

from stadspuls.channels.base import ChannelError

_EXPIRED = frozenset({"ExpiredToken", "InvalidToken"})


class XrpcSession:
    def __init__(
        self,
        service: str,
        handle: str,
        password: str,
        *,
        client: httpx.AsyncClient,
        clock: Callable[[], datetime],
    ) -> None:
        self.service = service
        self.handle = handle
        self.password = password
        self.client = client
        self.clock = clock
        self.access: str | None = None
        self.refresh: str | None = None
        self.did: str | None = None

    async def login(self) -> None:
        body = await self.call(
            "POST",
            "com.atproto.server.createSession",
            json={"identifier": self.handle, "password": self.password},
            token=None,
        )
        self._keep(body)

    async def renew(self) -> None:
        try:
            body = await self.call("POST", "com.atproto.server.refreshSession", token=self.refresh)
        except ChannelError:
            await self.login()  # the refresh token expired or was revoked
            return
        self._keep(body)

    def _keep(self, body: Mapping[str, Any]) -> None:
        access, refresh, did = body.get("accessJwt"), body.get("refreshJwt"), body.get("did")
        if not (isinstance(access, str) and isinstance(refresh, str) and isinstance(did, str)):
            raise ChannelError("bluesky: a session without tokens or did")
        self.access, self.refresh, self.did = access, refresh, did

    async def xrpc(self, method: str, nsid: str, **kwargs: Any) -> dict[str, Any]:
        if self.access is None:
            await self.login()
        try:
            return await self.call(method, nsid, token=self.access, **kwargs)
        except _Expired:
            await self.renew()
            return await self.call(method, nsid, token=self.access, **kwargs)

    async def call(
        self, method: str, nsid: str, *, token: str | None, **kwargs: Any
    ) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        headers.update(kwargs.pop("headers", None) or {})
        try:
            response = await self.client.request(
                method, f"{self.service}/xrpc/{nsid}", headers=headers, **kwargs
            )
        except httpx.HTTPError as error:
            raise ChannelError(f"bluesky {nsid}: {error!r}") from error
        try:
            body = response.json()
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        if response.status_code == 429:
            raise ChannelError(f"bluesky {nsid}: rate limited", retry_after_s=self.reset(response))
        if response.status_code >= 500:
            raise ChannelError(f"bluesky {nsid}: {response.status_code}")
        if response.status_code >= 400:
            code = str(body.get("error", ""))
            if (
                code in _EXPIRED
                and token is not None
                and nsid != "com.atproto.server.refreshSession"
            ):
                raise _Expired(code)
            raise ChannelError(
                f"bluesky {nsid}: {response.status_code} {code} {body.get('message', '')}".strip(),
                retry=False,
            )
        return body

    def reset(self, response: httpx.Response) -> float | None:
        reset = response.headers.get("ratelimit-reset", "")
        if reset.isdigit():
            return max(0.0, int(reset) - self.clock().timestamp())
        return None

    async def close(self) -> None:
        await self.client.aclose()


class _Expired(ChannelError):
    pass
