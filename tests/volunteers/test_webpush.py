"""Web push against a real push service on loopback that checks VAPID and decrypts (RFC 8030,
8291, 8292): what arrives is what a service worker would read."""

from __future__ import annotations

import asyncio
import base64
import json
import stat
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from stadspuls.volunteers.records import PushSubscription
from stadspuls.volunteers.webpush import (
    PushError,
    WebPush,
    application_server_key,
    load_or_create_vapid,
)
from tests.support.http import closed_port, serve
from tests.support.push_service import PushService

SUBJECT = "mailto:stadspuls@gemeente.example.nl"


def test_vapid_key_is_generated_once_private_and_a_p256_point(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "vapid.pem"
    first = load_or_create_vapid(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    key = application_server_key(first)
    raw = base64.urlsafe_b64decode(key + "=" * (-len(key) % 4))
    assert len(raw) == 65  # an uncompressed point, as applicationServerKey wants
    assert raw[0] == 4
    ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)  # on the curve
    assert application_server_key(load_or_create_vapid(path)) == key  # read back, not replaced


def test_a_file_that_is_no_p256_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "vapid.pem"
    path.write_text("not a key")
    with pytest.raises(ValueError, match="P-256"):
        load_or_create_vapid(path)


async def _pushing(tmp_path: Path, service: PushService, *subs: PushSubscription) -> list[str]:
    vapid = load_or_create_vapid(tmp_path / "vapid.pem")
    results = []
    async with httpx.AsyncClient() as client:
        push = WebPush(vapid, subject=SUBJECT, ttl_s=600, client=client)
        for sub in subs:
            try:
                await push.send(sub, json.dumps({"title": "Oproep", "n": sub.endpoint}).encode())
            except PushError as error:
                results.append("gone" if error.gone else "retry" if error.retry else "failed")
            else:
                results.append("sent")
    return results


def test_push_is_encrypted_signed_and_decrypted_by_the_service(tmp_path: Path) -> None:
    service = PushService()

    async def scenario() -> list[str]:
        async with serve(service.app) as origin:
            service.origin = origin
            first, second = service.subscribe(), service.subscribe()
            return await _pushing(tmp_path, service, first, second)

    assert asyncio.run(scenario()) == ["sent", "sent"]
    assert service.refused == []
    assert [r.json()["title"] for r in service.received] == ["Oproep", "Oproep"]
    # Each message decrypted with its own subscription's key: the endpoints differ.
    assert service.received[0].json()["n"] != service.received[1].json()["n"]
    vapid = load_or_create_vapid(tmp_path / "vapid.pem")
    assert {r.vapid_key for r in service.received} == {application_server_key(vapid)}
    assert service.received[0].headers["ttl"] == "600"
    assert service.received[0].headers["content-encoding"] == "aes128gcm"


def test_gone_busy_and_failing_push_services(tmp_path: Path) -> None:
    service = PushService()

    async def scenario() -> list[str]:
        async with serve(service.app) as origin:
            service.origin = origin
            gone, busy, broken, fine = (service.subscribe() for _ in range(4))
            service.gone.add(service.sid(gone))
            service.fail_next[service.sid(busy)] = [429]
            service.fail_next[service.sid(broken)] = [500]
            first = await _pushing(tmp_path, service, gone, busy, broken, fine)
            # The injected failures were once only: the retries go through.
            return first + await _pushing(tmp_path, service, busy, broken)

    assert asyncio.run(scenario()) == ["gone", "retry", "retry", "sent", "sent", "sent"]
    assert [status for status, _ in service.refused] == [410, 429, 500]
    assert len(service.received) == 3


def test_a_forged_vapid_signature_is_refused_by_the_push_service(tmp_path: Path) -> None:
    service = PushService()

    async def scenario() -> int:
        async with serve(service.app) as origin:
            service.origin = origin
            sub = service.subscribe()
            vapid = load_or_create_vapid(tmp_path / "vapid.pem")
            other = load_or_create_vapid(tmp_path / "other.pem")
            async with httpx.AsyncClient() as client:
                push = WebPush(vapid, subject=SUBJECT, ttl_s=60, client=client)
                header = push.authorization(sub.endpoint)
                # Our token with another key's `k`: the signature no longer verifies.
                forged = header.split(",k=")[0] + ",k=" + application_server_key(other)
                response = await client.post(
                    sub.endpoint,
                    content=b"x" * 100,
                    headers={"Authorization": forged, "TTL": "60",
                             "Content-Encoding": "aes128gcm"},
                )  # fmt: skip
                return response.status_code

    assert asyncio.run(scenario()) == 403
    assert service.received == []


def test_an_unreachable_push_service_is_retried(tmp_path: Path) -> None:
    service = PushService(origin=f"http://127.0.0.1:{closed_port()}")
    sub = service.subscribe()
    assert asyncio.run(_pushing(tmp_path, service, sub)) == ["retry"]
