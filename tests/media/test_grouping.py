"""Near-identical photos collapse into one group, over every photo received before: a resized
and recompressed copy joins its original's group, a different photo starts its own."""

from __future__ import annotations

import io
import time

import numpy as np
import pytest
import sqlalchemy as sa
from PIL import Image

from stadspuls.cases.records import AcceptedMedia
from stadspuls.media import phash
from stadspuls.media.intake import MediaIntake
from stadspuls.settings import Settings
from stadspuls.store import media as store
from stadspuls.store.schema import media as media_table
from tests.media.conftest import accept
from tests.media.inbox import desk
from tests.media.photos import jpeg, scene


def _resized_copy(data: bytes) -> bytes:
    """What a messenger does: scale to 60% and recompress at quality 60, metadata gone."""
    with Image.open(io.BytesIO(data)) as image:
        smaller = image.resize((image.width * 6 // 10, image.height * 6 // 10))
    out = io.BytesIO()
    smaller.save(out, "JPEG", quality=60)
    return out.getvalue()


def test_a_resized_copy_groups_with_its_original_and_a_different_photo_does_not(
    engine: sa.Engine, settings: Settings, intake: MediaIntake
) -> None:
    inbox = desk(engine, settings)
    original_data = jpeg(scene(30), taken="2026:05:12 14:03:00")
    original = accept(intake, original_data)
    copy = accept(intake, _resized_copy(original_data), "IMG-WA0001.jpg")
    other = accept(intake, jpeg(scene(31)))
    assert original.phash
    assert copy.phash
    assert other.phash
    assert copy.sha256 != original.sha256
    assert phash.distance(original.phash, copy.phash) <= 4
    assert phash.distance(original.phash, other.phash) > phash.NEAR_BITS

    first_case = inbox.receive(original)
    second_case = inbox.receive(copy, other)
    with engine.connect() as conn:
        (first,) = store.for_case(conn, first_case)
        copied, different = store.for_case(conn, second_case)
        sizes = store.group_sizes(conn, [first.id])
    assert first.group_id == first.id  # the first of its group
    assert copied.group_id == first.id
    assert different.group_id == different.id
    assert sizes == {first.id: 2}


def test_the_same_file_again_joins_the_group_of_its_first_arrival(
    engine: sa.Engine, settings: Settings, intake: MediaIntake
) -> None:
    inbox = desk(engine, settings)
    video = AcceptedMedia(
        sha256="ab" * 32,
        size=10,
        content_type="video/mp4",
        received_at=accept(intake, jpeg(scene(32))).received_at,
    )
    first = inbox.receive(video)
    again = inbox.receive(video)
    with engine.connect() as conn:
        (one,) = store.for_case(conn, first)
        (two,) = store.for_case(conn, again)
    # Videos have no perceptual hash: only the exact file groups them.
    assert two.group_id == one.id


def test_a_photo_deleted_since_is_no_group_even_while_the_index_remembers_it(
    engine: sa.Engine,
    settings: Settings,
    intake: MediaIntake,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # No re-read window: the index keeps what it once read, as it does for old rows.
    monkeypatch.setattr(phash, "RECHECK_WINDOW", 0)
    inbox = desk(engine, settings)
    data = jpeg(scene(33))
    first_case = inbox.receive(accept(intake, data))
    inbox.receive(accept(intake, jpeg(scene(35))))  # the index reads the first row from the store
    with engine.begin() as conn:
        (gone,) = store.for_case(conn, first_case)
        # Retention took it (the index of this process was not told).
        conn.execute(sa.delete(media_table).where(media_table.c.id == gone.id))
        assert gone.id in {m.id for m in phash.index_for(conn, media_table).near(gone.phash or "")}

    later_case = inbox.receive(accept(intake, _resized_copy(data)))
    with engine.connect() as conn:
        (later,) = store.for_case(conn, later_case)
    assert later.group_id == later.id


def test_finding_near_photos_among_100k_is_fast() -> None:
    index = phash.PhashIndex(media_table)
    rng = np.random.default_rng(7)
    values = [f"{int(v):016x}" for v in rng.integers(0, 2**63, 100_000, dtype=np.int64)]
    index.add_many(list(range(1, 100_001)), values)
    target = f"{int(values[41_999], 16) ^ 0b1011:016x}"  # 3 bits from row 42,000
    started = time.perf_counter()
    for _ in range(100):
        found = index.near(target)
    per_lookup = (time.perf_counter() - started) / 100
    assert [match.id for match in found] == [42_000]
    assert found[0].distance == 3
    assert per_lookup < 0.02  # about 0.5 ms here; a decode takes 100 ms and more
