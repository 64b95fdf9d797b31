"""Staff see citizens' photos through /cases/media/...: only for cases of their department,
with safe headers, every view (once an hour), download and export in the case's history and
the audit log, and an export whose manifest checks out."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from stadspuls.media.intake import MediaIntake
from stadspuls.records import User
from stadspuls.settings import Settings
from stadspuls.store import users
from stadspuls.store.schema import audit_log, case_events
from stadspuls.web.app import create_app
from stadspuls.web.auth import CSRF_HEADER, SESSION_COOKIE
from tests.media.conftest import accept
from tests.media.inbox import Desk, desk
from tests.media.inbox import actor as _actor
from tests.media.photos import exif_of, jpeg, mp4_head, scene

PHOTO = jpeg(scene(50), taken="2026:11:28 15:10:00", offset="+01:00", gps=(52.0900, 5.1110))


@pytest.fixture
def inbox(engine: sa.Engine, settings: Settings, intake: MediaIntake) -> Desk:
    settings.inbox.media_dir = intake.settings.media_dir
    return desk(engine, settings, "ann", "bob")


@pytest.fixture
def client(engine: sa.Engine, settings: Settings, inbox: Desk) -> Iterator[TestClient]:
    with TestClient(create_app(settings, engine=engine)) as client:
        yield client


def _sign_in(client: TestClient, engine: sa.Engine, username: str, role: str = "analyst") -> str:
    user = users.find_user(engine, username) or users.create_user(
        engine, User(username=username, role=role), password_hash=None
    )
    assert user.id is not None
    cookie, csrf = users.create_session(engine, user.id, ttl_s=3600)
    client.cookies.set(SESSION_COOKIE, cookie)
    return csrf


def _events(engine: sa.Engine, kind: str) -> list[dict[str, object]]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(case_events.c.actor, case_events.c.details).where(case_events.c.kind == kind)
        ).all()
    return [{"actor": row.actor, **json.loads(row.details)} for row in rows]


def _audited(engine: sa.Engine, action: str) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                sa.select(sa.func.count())
                .select_from(audit_log)
                .where(audit_log.c.action == action)
            ).scalar_one()
        )


def test_media_is_served_with_safe_headers_and_every_look_is_logged(
    client: TestClient, engine: sa.Engine, intake: MediaIntake, inbox: Desk
) -> None:
    case_id = inbox.receive(accept(intake, PHOTO, "IMG_2001.JPG"))
    media_id = inbox.service.view(_actor(engine, "ann"), case_id).media[0].id
    _sign_in(client, engine, "ann")

    thumb = client.get(f"/cases/media/{media_id}/thumb")
    assert thumb.status_code == 200
    assert thumb.headers["content-type"] == "image/jpeg"
    assert thumb.headers["x-content-type-options"] == "nosniff"
    assert thumb.headers["content-security-policy"].startswith("sandbox")

    for _ in range(3):
        view = client.get(f"/cases/media/{media_id}/view")
        assert view.status_code == 200
        assert view.headers["content-disposition"].startswith("inline")
        assert exif_of(view.content) == {}
    # Three looks within the hour are one logged view.
    assert [e["media_id"] for e in _events(engine, "media.view")] == [media_id]
    assert _audited(engine, "media.view") == 1

    for _ in range(2):
        original = client.get(f"/cases/media/{media_id}/original")
        assert original.status_code == 200
        assert original.content == PHOTO  # byte for byte, EXIF and all
        assert original.headers["content-type"] == "image/jpeg"
        assert original.headers["content-disposition"].startswith("attachment")
        assert original.headers["x-content-type-options"] == "nosniff"
        assert "sandbox" in original.headers["content-security-policy"]
    downloads = _events(engine, "media.download")
    assert len(downloads) == 2
    assert downloads[0] == {
        "actor": "ann",
        "media_id": media_id,
        "sha256": hashlib.sha256(PHOTO).hexdigest(),
    }
    assert _audited(engine, "media.download") == 2
    # Thumbnails are not custody events.
    assert _events(engine, "media.thumb") == []


def test_the_verification_findings_come_as_json(
    client: TestClient, engine: sa.Engine, intake: MediaIntake, inbox: Desk
) -> None:
    first = inbox.receive(accept(intake, PHOTO))
    second = inbox.receive(accept(intake, PHOTO))
    media_id = inbox.service.view(_actor(engine, "ann"), second).media[0].id
    _sign_in(client, engine, "ann")
    answer = client.get(f"/cases/media/{media_id}/verify")
    assert answer.status_code == 200
    body = answer.json()
    kinds = {finding["kind"]: finding for finding in body["findings"]}
    assert body["group_size"] == 2
    assert kinds["seen_before"]["severity"] == "warn"
    assert kinds["seen_before"]["values"]["first_case_id"] == first
    assert kinds["seen_before"]["nl"].startswith("1 keer eerder ontvangen (in 1 andere melding)")
    assert kinds["c2pa_missing"]["severity"] == "info"


def test_other_departments_and_anonymous_readers_see_nothing(
    client: TestClient, engine: sa.Engine, intake: MediaIntake, inbox: Desk
) -> None:
    case_id = inbox.receive(accept(intake, PHOTO))
    media_id = inbox.service.view(_actor(engine, "ann"), case_id).media[0].id
    paths = [f"/cases/media/{media_id}/{what}" for what in ("thumb", "view", "original", "verify")]

    for path in paths:
        answer = client.get(path, follow_redirects=False)
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/login?next=")

    _sign_in(client, engine, "eve")  # an analyst of no department
    for path in [*paths, "/cases/media/999999/thumb"]:
        assert client.get(path).status_code == 404
    _sign_in(client, engine, "vera", "viewer")  # no "cases" permission at all
    assert client.get(paths[0]).status_code == 403
    assert _events(engine, "media.view") == []
    assert _events(engine, "media.download") == []

    _sign_in(client, engine, "root", "admin")  # admins see every department's cases
    assert client.get(paths[0]).status_code == 200


def test_an_export_holds_the_originals_and_a_manifest_with_the_chain_of_custody(
    client: TestClient, engine: sa.Engine, intake: MediaIntake, inbox: Desk
) -> None:
    video = mp4_head()
    case_id = inbox.receive(
        accept(intake, PHOTO, "IMG_2001.JPG"), accept(intake, video, "clip.mp4")
    )
    items = inbox.service.view(_actor(engine, "ann"), case_id).media
    csrf = _sign_in(client, engine, "ann")
    client.get(f"/cases/media/{items[0].id}/original")
    # A video has no copies: a drawn sign for its thumbnail, the original plays inline.
    sign = client.get(f"/cases/media/{items[1].id}/thumb")
    assert sign.headers["content-type"] == "image/svg+xml"
    assert b"<script" not in sign.content
    played = client.get(f"/cases/media/{items[1].id}/view")
    assert played.content == video
    assert played.headers["content-type"] == "video/mp4"
    assert played.headers["content-disposition"].startswith("inline")

    assert client.post(f"/cases/{case_id}/media/export").status_code == 403  # no CSRF token
    answer = client.post(f"/cases/{case_id}/media/export", headers={CSRF_HEADER: csrf})
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/zip"
    assert answer.headers["content-disposition"].startswith("attachment")

    with zipfile.ZipFile(io.BytesIO(answer.content)) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        contents = {entry["file"]: archive.read(entry["file"]) for entry in manifest["files"]}
    assert manifest["exported_by"] == "ann"
    assert manifest["case_id"] == case_id
    files = manifest["files"]
    assert [f["sent_as"] for f in files] == ["IMG_2001.JPG", "clip.mp4"]
    assert [f["sha256"] for f in files] == [
        hashlib.sha256(PHOTO).hexdigest(),
        hashlib.sha256(video).hexdigest(),
    ]
    assert list(contents.values()) == [PHOTO, video]
    assert files[0]["file"].endswith(".jpg")
    assert files[1]["file"].endswith(".mp4")
    assert files[0]["received_at"] == items[0].received_at.isoformat()
    assert [step["kind"] for step in manifest["custody"]] == [
        "media.download",
        "media.view",
        "media.export",
    ]
    assert manifest["custody"][2]["details"]["files"] == 2
    assert _audited(engine, "media.export") == 1

    # A form post carries its token in the form.
    form = client.post(f"/cases/{case_id}/media/export", data={"csrf": csrf})
    assert form.status_code == 200
    assert len(_events(engine, "media.export")) == 2
