"""A case's photos as the staff page shows them: near-identical ones collapsed into one with a
count (in this case and among everything received), each with what the verification aids found
(`media.verify`), in the reader's language."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec
import sqlalchemy as sa

from stadspuls.cases.records import MediaItem
from stadspuls.cases.views import CaseView
from stadspuls.media import verify
from stadspuls.store import media as media_store


class Said(msgspec.Struct, frozen=True, kw_only=True):
    severity: str  # "info" | "warn": a warning asks a person to look closer
    text: str


class MediaGroup(msgspec.Struct, frozen=True, kw_only=True):
    """The first photo of a group of near-identical ones in this case, the others, how many the
    group holds among all media received, and what verification found for the first."""

    first: MediaItem
    others: tuple[MediaItem, ...] = ()
    everywhere: int = 1
    findings: tuple[Said, ...] = ()

    @property
    def size(self) -> int:
        return 1 + len(self.others)


def media_groups(media: Sequence[MediaItem]) -> list[MediaGroup]:
    """Group by the near-identical group (a photo with none is its own), in received order."""
    groups: dict[int, list[MediaItem]] = {}
    for item in sorted(media, key=lambda m: (m.received_at, m.id)):
        groups.setdefault(item.group_id or item.id, []).append(item)
    return [MediaGroup(first=items[0], others=tuple(items[1:])) for items in groups.values()]


def with_findings(engine: sa.Engine, view: CaseView, lang: str) -> list[MediaGroup]:
    """The case's groups with their findings and their size among all media."""
    groups = media_groups(view.media)
    if not groups:
        return []
    with engine.connect() as conn:
        sizes = media_store.group_sizes(conn, [g.first.group_id or g.first.id for g in groups])
        done = []
        for group in groups:
            found = verify.findings(conn, group.first, case=view.case, call=view.call)
            said = tuple(
                Said(severity=f.severity, text=f.en if lang == "en" else f.nl) for f in found
            )
            key = group.first.group_id or group.first.id
            everywhere = max(sizes.get(key, 1), group.size)
            done.append(msgspec.structs.replace(group, findings=said, everywhere=everywhere))
    return done
