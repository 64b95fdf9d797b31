"""Only public and unlisted Mastodon statuses are collected, on every path: the stream, the REST
catch-up, file imports and 4CAT exports; the others are counted as skipped by their reason."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

import pytest

from stadspuls.records import Checkpoint, SourceItem
from stadspuls.sources.base import SkippedPayload, SourceStats
from stadspuls.sources.files import iter_file
from stadspuls.sources.fourcat import map_4cat_item
from stadspuls.sources.mastodon import map_mastodon_status
from tests.sources.test_mastodon_live import expected_ids, source, statuses
from tests.support.http import serve
from tests.support.mastodon_server import FakeMastodon, StreamPlan
from tests.support.streams import collect_until, post_ids

FIXTURE = Path(__file__).parents[1] / "fixtures" / "sources" / "mastodon_statuses.json"
HIDDEN = ("private", "direct")


def _with_visibility(all_statuses: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every third status followers-only, every third direct; the rest as recorded (public)."""
    for n, status in enumerate(all_statuses):
        if n % 3:
            status["visibility"] = HIDDEN[n % 3 - 1]
    return all_statuses


@pytest.mark.parametrize("visibility", ["private", "direct", None, 7])
def test_mapping_skips_what_is_not_public(visibility: object) -> None:
    status = json.loads(FIXTURE.read_text())[0]
    status["visibility"] = visibility
    with pytest.raises(SkippedPayload, match="visibility") as raised:
        map_mastodon_status(status, "mastodon.nl")
    assert (
        raised.value.reason == f"visibility {visibility if isinstance(visibility, str) else None}"
    )
    status["visibility"] = "unlisted"
    assert map_mastodon_status(status, "mastodon.nl").text.startswith("Brand in de #Kerkstraat")


@pytest.mark.parametrize("streaming", [True, False], ids=["stream", "rest"])
def test_stream_and_rest_collect_only_public_statuses(streaming: bool) -> None:
    all_statuses = _with_visibility(statuses(12))
    public = expected_ids([s for s in all_statuses if s["visibility"] == "public"])
    last = all_statuses[-1]["id"]
    if streaming:
        server = FakeMastodon(all_statuses, plans=[StreamPlan(streamed=12, keep_open=True)])
    else:  # streaming refused: the REST API is polled, from a cursor before the first status
        server = FakeMastodon(all_statuses, published=12, stream_status=401)

    async def scenario() -> tuple[list[SourceItem], SourceStats]:
        async with serve(server.app) as url:
            masto = source(url)
            cursors = {f"mastodon:{url.split('://')[1]}:public:local": "1"}
            items = await collect_until(
                masto.stream({} if streaming else cursors),
                lambda items: (
                    public <= post_ids(items)
                    and any(isinstance(i, Checkpoint) and i.cursor == last for i in items)
                ),
            )
            return items, masto.stats

    items, stats = asyncio.run(scenario())
    assert post_ids(items) == public
    assert stats.malformed == 0
    assert stats.skipped_by_kind["visibility private"] >= 4
    assert stats.skipped_by_kind["visibility direct"] >= 4


def test_file_import_skips_what_is_not_public(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    recorded = json.loads(FIXTURE.read_text())
    path = tmp_path / "statuses.json"
    path.write_text(json.dumps(_with_visibility(recorded)))
    stats = SourceStats()
    with caplog.at_level(logging.WARNING):
        posts = list(iter_file(path, stats=stats))
    assert len(posts) == 2  # statuses 0 and 3
    assert (stats.skipped, stats.malformed) == (2, 0)
    assert stats.skipped_by_kind == {"visibility private": 1, "visibility direct": 1}
    assert caplog.records == []  # skipped, not malformed: nothing to warn about


def test_4cat_items_of_mastodon_keep_their_visibility() -> None:
    status = json.loads(FIXTURE.read_text())[0]
    item = {**status, "__import_meta": {"source_platform": "mastodon", "timestamp_collected": 1}}
    assert map_4cat_item(item).text
    item["visibility"] = "direct"
    with pytest.raises(SkippedPayload, match="visibility direct"):
        map_4cat_item(item)


def test_a_malformed_payload_is_logged_without_its_content(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stats = SourceStats()
    frame = b'{"did": "did:plc:ewvi7nxzyoun6zhxrhs64oiz", "kind": "commit", "handle": "anna.bsky"}'
    with caplog.at_level(logging.WARNING):
        stats.malformed_payload("bluesky", ValueError("missing required field 'time_us'"), frame)
    assert stats.malformed == 1
    (record,) = caplog.records
    assert "time_us" in record.getMessage()
    assert "did:plc" not in record.getMessage()
    assert "anna" not in record.getMessage()
