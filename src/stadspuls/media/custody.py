"""Chain of custody: every view, download and export of a citizen's photo or video is written
to the case's history and to the audit log, in one transaction, with who, when and which file
(by its SHA-256).

Viewing the stripped copy is logged once per person per item per hour (`VIEW_EVERY`): a page
that shows the photo again on each refresh would otherwise bury the history in repeats, and
"ann looked at photo 3 at 10:02" says what custody needs. Thumbnails are not logged: they are
320 pixels wide, and listing a case shows them all. Downloads of originals and exports are
logged every time.

An export is a zip of the originals, byte for byte, and `manifest.json`: per file its SHA-256
(checked against the file as it is written), size, type, received time, the name it was sent
under, and the custody events of the case, the export itself included.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO

import sqlalchemy as sa

from stadspuls import __version__
from stadspuls.cases.records import Case, MediaItem
from stadspuls.media.vault import Vault
from stadspuls.records import Actor
from stadspuls.store import audit
from stadspuls.store import media as store

VIEW_EVERY = timedelta(hours=1)
_EXTENSIONS = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/webp": ".webp",
    "image/gif": ".gif",
    "image/heic": ".heic",
    "video/mp4": ".mp4",
    "video/quicktime": ".mov",
    "video/webm": ".webm",
}


class VaultMismatch(RuntimeError):
    """A file in the vault no longer has the SHA-256 it is stored under (never expected:
    originals are read-only; reported rather than exported)."""


def extension(content_type: str) -> str:
    return _EXTENSIONS.get(content_type, "")


def _details(
    item: MediaItem, **extra: str | int | None
) -> dict[str, str | int | float | bool | None]:
    return {"media_id": item.id, "sha256": item.sha256, **extra}


def record(conn: sa.Connection, actor: Actor, item: MediaItem, kind: str, *, at: datetime) -> None:
    """Log one view or download of `item` in its case's history and the audit log."""
    details = _details(item)
    store.add_event(conn, item.case_id, at=at, actor=actor.username, kind=kind, details=details)
    audit.record_action(conn, actor, kind, details={"case_id": item.case_id, **details})


def record_view(conn: sa.Connection, actor: Actor, item: MediaItem, *, at: datetime) -> bool:
    """Log a view of the stripped copy unless this person viewed it within `VIEW_EVERY`;
    True when it was logged."""
    if store.viewed_since(
        conn, item.case_id, actor=actor.username, media_id=item.id, since=at - VIEW_EVERY
    ):
        return False
    record(conn, actor, item, "media.view", at=at)
    return True


def export(
    conn: sa.Connection,
    vault: Vault,
    actor: Actor,
    case: Case,
    items: Sequence[MediaItem],
    out: IO[bytes],
    *,
    at: datetime,
) -> dict[str, object]:
    """Log the export, then write the zip to `out`; returns the manifest."""
    ids = [item.id for item in items]
    details: dict[str, str | int | float | bool | None] = {
        "media": ",".join(str(i) for i in ids),
        "files": len(items),
    }
    store.add_event(
        conn, case.id, at=at, actor=actor.username, kind="media.export", details=details
    )
    audit.record_action(conn, actor, "media.export", details={"case_id": case.id, **details})
    events = store.custody_events(conn, case.id)
    files = []
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
        for number, item in enumerate(items, start=1):
            name = f"originals/{number:03d}-{item.sha256[:12]}{extension(item.content_type)}"
            digest = _copy(vault.path_of(item.sha256), archive, name)
            if digest != item.sha256:
                raise VaultMismatch(f"the vault's file {item.sha256} has hash {digest}")
            files.append(
                {
                    "media_id": item.id,
                    "file": name,
                    "sha256": item.sha256,
                    "sha256_checked": True,
                    "size": item.size,
                    "content_type": item.content_type,
                    "received_at": item.received_at.isoformat(),
                    "sent_as": item.filename,
                    "taken_at": None if item.taken_at is None else item.taken_at.isoformat(),
                    "lat": item.lat,
                    "lon": item.lon,
                }
            )
        manifest: dict[str, object] = {
            "case": case.reference,
            "case_id": case.id,
            "exported_at": at.isoformat(),
            "exported_by": actor.username,
            "generator": f"Stadspuls {__version__}",
            "files": files,
            "custody": [
                {
                    "at": event.at.isoformat(),
                    "actor": event.actor,
                    "kind": event.kind,
                    "details": event.details,
                }
                for event in events
            ],
        }
        archive.writestr(
            "manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True)
        )
    return manifest


def _copy(path: Path, archive: zipfile.ZipFile, name: str) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source, archive.open(name, "w", force_zip64=True) as target:
        while block := source.read(1024 * 1024):
            digest.update(block)
            target.write(block)
    return digest.hexdigest()
