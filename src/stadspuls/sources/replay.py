"""Replay of a collected file as if it were live: posts come at the pace of their timestamps,
sped up by `speed` (0 or infinity: as fast as they can be stored).

A checkpoint `replay:{absolute path}` with the number of items delivered follows every post, so
a replay stopped at any point (even by kill -9) resumes after the last item stored: every post
ends up stored exactly once.
"""

from __future__ import annotations

import asyncio
import math
import os
from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from pathlib import Path

from stadspuls.records import Checkpoint, Post, SourceItem
from stadspuls.sources.base import SourceStats
from stadspuls.sources.files import detect_format, iter_file, stream_name


class ReplaySource:
    name = "replay"

    def __init__(
        self,
        path: str | os.PathLike[str],
        speed: float = 1.0,
        format: str | None = None,
        *,
        max_gap_s: float = 3600.0,
    ) -> None:
        if speed < 0 or math.isnan(speed):
            raise ValueError(f"speed must be positive, 0 or inf, not {speed}")
        self.path = Path(path).resolve()
        self.format = format or detect_format(self.path)
        self.speed = speed
        # A night without posts in the file should not stall a demo for hours.
        self.max_gap_s = max_gap_s
        self.stream_name = stream_name(self.path, "replay")
        self.stats = SourceStats()

    async def stream(self, cursors: Mapping[str, str]) -> AsyncIterator[SourceItem]:
        done = int(cursors.get(self.stream_name, "0"))
        pace = self.speed not in (0.0, math.inf)
        previous: datetime | None = None
        for index, item in enumerate(iter_file(self.path, self.format, self.stats), start=1):
            if index <= done:
                continue
            if isinstance(item, Post):
                if pace and previous is not None:
                    gap = (item.created_at - previous).total_seconds() / self.speed
                    if gap > 0:
                        await asyncio.sleep(min(gap, self.max_gap_s))
                previous = item.created_at
            yield item
            yield Checkpoint(self.stream_name, str(index))
