"""Receiving one uploaded file: size-capped streaming to a temporary file with its SHA-256,
checking by content, decoding in a separate process (a malicious file takes down a worker
process, never the server), the original into the vault, thumbnail and stripped copy beside it.

The content decides, never the name or the declared type: a PNG named `.jpg` is taken as the
PNG it is (phones and messengers mislabel files all the time, and refusing them would lose real
tips); the name and declared type are kept only to be shown.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
from collections.abc import AsyncIterator, Sequence

import sqlalchemy as sa

from stadspuls.cases.records import AcceptedMedia, MediaItem
from stadspuls.media import phash
from stadspuls.media.decode import Decoder, Job, Refused, decode_failed
from stadspuls.media.errors import MediaRejected
from stadspuls.media.sniff import HEAD_BYTES, sniff
from stadspuls.media.vault import Vault
from stadspuls.records import utcnow
from stadspuls.settings import InboxSettings
from stadspuls.store import media as store
from stadspuls.store.schema import media as media_table

log = logging.getLogger(__name__)
_MB = 1024 * 1024


def _rejection(code: str, settings: InboxSettings, filename: str) -> MediaRejected:
    megabytes = f"{settings.max_file_mb:g}"
    millions = f"{settings.max_pixels / 1e6:g}"
    messages = {
        "size": (
            f"Dit bestand is groter dan {megabytes} MB. Stuur een kleinere versie.",
            f"This file is larger than {megabytes} MB. Please send a smaller version.",
        ),
        "damaged": (
            "Dit bestand is beschadigd of onvolledig (misschien niet helemaal verstuurd). "
            "Stuur het opnieuw.",
            "This file is damaged or incomplete (perhaps not sent completely). "
            "Please send it again.",
        ),
        "pixels": (
            f"Deze afbeelding is te groot (meer dan {millions} miljoen beeldpunten). "
            "Stuur een kleinere versie.",
            f"This image is too large (more than {millions} million pixels). "
            "Please send a smaller version.",
        ),
    }
    if code not in messages:
        return decode_failed(filename)
    nl, en = messages[code]
    return MediaRejected(code, nl, en, filename=filename)


def type_rejection(label_nl: str, label_en: str, filename: str = "") -> MediaRejected:
    return MediaRejected(
        "type",
        f"Dit bestand is geen foto of video (het is {label_nl}).",
        f"This file is not a photo or video (it is {label_en}).",
        filename=filename,
    )


class MediaIntake:
    """One per app (`app.state.media`); owns the decoder process pool."""

    def __init__(self, settings: InboxSettings) -> None:
        self.settings = settings
        self.vault = Vault(settings.media_dir)
        self.decoder = Decoder(
            workers=settings.decode_workers,
            memory_mb=settings.decode_memory_mb,
            timeout_s=settings.decode_timeout_s,
        )

    @property
    def max_bytes(self) -> int:
        return int(self.settings.max_file_mb * _MB)

    async def accept(
        self, chunks: AsyncIterator[bytes], *, filename: str, declared_type: str | None
    ) -> AcceptedMedia:
        """Read the upload, check and decode it; raise `media.errors.MediaRejected` with a clear
        reason when it is not a photo or video we take (nothing is kept then).

        `declared_type` is not used to decide anything: the content is (see the module)."""
        del declared_type
        received_at = utcnow()
        fd, path = self.vault.temporary()
        try:
            digest = hashlib.sha256()
            size = 0
            head = bytearray()
            limit = self.max_bytes
            with os.fdopen(fd, "wb") as out:
                async for chunk in chunks:
                    size += len(chunk)
                    if size > limit:
                        # Stop reading here: the rest of a 200 MB upload is never taken in.
                        raise _rejection("size", self.settings, filename)
                    digest.update(chunk)
                    out.write(chunk)
                    if len(head) < HEAD_BYTES:
                        head += chunk[: HEAD_BYTES - len(head)]
            found = sniff(bytes(head))
            if found.content_type is None:
                raise type_rejection(found.label_nl, found.label_en, filename)
            sha256 = digest.hexdigest()
            stem = self.vault.derived_stem(sha256)
            job = Job(
                path=str(path),
                content_type=found.content_type,
                thumb_path=str(self.vault.thumb_target(sha256)),
                stripped_path=str(stem),
                max_pixels=self.settings.max_pixels,
                timeout_s=self.settings.decode_timeout_s,
            )
            try:
                decoded = await self.decoder.run(job, filename=filename)
            except Refused as refused:
                # What the imaging library said, for whoever reads the log; the citizen gets
                # the plain reason.
                log.info("a file was refused (%s): %s", refused.code, refused.detail)
                raise _rejection(refused.code, self.settings, filename) from None
            await asyncio.to_thread(self.vault.keep, path, sha256)
        finally:
            path.unlink(missing_ok=True)
        return AcceptedMedia(
            sha256=sha256,
            size=size,
            content_type=found.content_type,
            filename=filename[:300],
            width=decoded.width,
            height=decoded.height,
            taken_at=decoded.taken_at,
            lat=decoded.lat,
            lon=decoded.lon,
            phash=decoded.phash,
            c2pa=decoded.c2pa,
            received_at=received_at,
        )

    def check_count(self, count: int) -> None:
        """Raise MediaRejected("count") when a report carries more files than allowed."""
        most = self.settings.max_files
        if count > most:
            raise MediaRejected(
                "count",
                f"U kunt hoogstens {most} foto's of video's per melding meesturen.",
                f"You can send at most {most} photos or videos with one report.",
            )

    async def close(self) -> None:
        await asyncio.to_thread(self.decoder.close)


def store_for_case(
    conn: sa.Connection, case_id: int, accepted: Sequence[AcceptedMedia]
) -> list[MediaItem]:
    """Insert the media rows of a new case in the case's own transaction, assigning each to
    its near-identical group (perceptual hash) among all media received before."""
    items = []
    index: phash.PhashIndex | None = None
    for one in accepted:
        group = store.group_of_hash(conn, one.sha256)
        if group is None and one.phash is not None:
            index = index or phash.index_for(conn, media_table)
            group = _near_group(conn, index, one.phash)
        media_id = store.insert(conn, case_id, one, group_id=group)
        if one.phash is not None and index is not None:
            index.add(media_id, one.phash)
        items.append(
            MediaItem(
                id=media_id,
                case_id=case_id,
                sha256=one.sha256,
                size=one.size,
                content_type=one.content_type,
                filename=one.filename,
                width=one.width,
                height=one.height,
                taken_at=one.taken_at,
                lat=one.lat,
                lon=one.lon,
                phash=one.phash,
                c2pa=one.c2pa,
                received_at=one.received_at,
                group_id=media_id if group is None else group,
            )
        )
    return items


def _near_group(conn: sa.Connection, index: phash.PhashIndex, value: str) -> int | None:
    """The group of the nearest earlier photo within `phash.NEAR_BITS` that still exists."""
    matches = index.near(value)
    if not matches:
        return None
    # The index may hold rows since deleted or rolled back: the database has the last word.
    groups = store.groups_of(conn, [match.id for match in matches[:50]])
    for match in matches[:50]:
        if match.id in groups:
            return groups[match.id]
    return None
