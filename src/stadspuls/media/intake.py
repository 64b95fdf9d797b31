"""Receiving one uploaded file: size-capped streaming to a temporary file with its SHA-256,
checking by content, decoding in a separate process (a malicious file takes down a worker
process, never the server), the original into the vault, thumbnail and stripped copy beside it.
CONTRACT STUB: the media helper implements it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

import sqlalchemy as sa

from stadspuls.cases.records import AcceptedMedia, MediaItem
from stadspuls.settings import InboxSettings


class MediaIntake:
    """One per app (`app.state.media`); owns the decoder process pool."""

    def __init__(self, settings: InboxSettings) -> None:
        self.settings = settings

    async def accept(
        self, chunks: AsyncIterator[bytes], *, filename: str, declared_type: str | None
    ) -> AcceptedMedia:
        """Read the upload, check and decode it; raise `media.errors.MediaRejected` with a clear
        reason when it is not a photo or video we take (nothing is kept then)."""
        raise NotImplementedError

    def check_count(self, count: int) -> None:
        """Raise MediaRejected("count") when a report carries more files than allowed."""
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError


def store_for_case(
    conn: sa.Connection, case_id: int, accepted: Sequence[AcceptedMedia]
) -> list[MediaItem]:
    """Insert the media rows of a new case in the case's own transaction, assigning each to
    its near-identical group (perceptual hash) among all media received before."""
    raise NotImplementedError
