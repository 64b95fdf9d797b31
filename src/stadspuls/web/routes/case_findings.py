"""A case's photos as the staff page shows them: near-identical ones collapsed into one with a
count, each with what verification found, in plain words."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from stadspuls.cases.records import MediaItem


class MediaGroup(msgspec.Struct, frozen=True, kw_only=True):
    """The first photo of a group of near-identical ones in this case, and the others."""

    first: MediaItem
    others: tuple[MediaItem, ...] = ()

    @property
    def size(self) -> int:
        return 1 + len(self.others)


def media_groups(media: Sequence[MediaItem]) -> list[MediaGroup]:
    """Group by the near-identical group (a photo with none is its own), in received order."""
    groups: dict[int, list[MediaItem]] = {}
    for item in sorted(media, key=lambda m: (m.received_at, m.id)):
        groups.setdefault(item.group_id or item.id, []).append(item)
    return [MediaGroup(first=items[0], others=tuple(items[1:])) for items in groups.values()]
