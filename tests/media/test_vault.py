"""The vault keeps a file while any media row names it, and lets it go after."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from stadspuls.media.intake import MediaIntake
from stadspuls.settings import Settings
from stadspuls.store.schema import media as media_table
from tests.media.conftest import accept
from tests.media.inbox import desk
from tests.media.photos import jpeg, scene


def test_files_no_row_uses_any_more_are_removed_and_the_others_kept(
    engine: sa.Engine, settings: Settings, intake: MediaIntake
) -> None:
    inbox = desk(engine, settings)
    shared = accept(intake, jpeg(scene(80)))
    alone = accept(intake, jpeg(scene(81)))
    first = inbox.receive(shared, alone)
    inbox.receive(shared)  # the same photo in a second case
    vault = intake.vault
    with engine.begin() as conn:
        conn.execute(sa.delete(media_table).where(media_table.c.case_id == first))
        removed = vault.remove_unused(conn, [shared.sha256, alone.sha256])
    assert removed == 1
    assert not vault.path_of(alone.sha256).exists()
    assert vault.thumb_of(alone.sha256) is None
    assert vault.stripped_of(alone.sha256) is None
    assert vault.path_of(shared.sha256).exists()
    assert vault.thumb_of(shared.sha256) is not None


def test_a_full_sweep_leaves_files_just_received(
    engine: sa.Engine, settings: Settings, intake: MediaIntake
) -> None:
    inbox = desk(engine, settings)
    in_flight = accept(intake, jpeg(scene(82)))  # accepted, its case not yet stored
    inbox.receive(accept(intake, jpeg(scene(83))))
    with engine.begin() as conn:
        intake.vault.remove_unused(conn)
    assert intake.vault.path_of(in_flight.sha256).exists()


def test_only_sha256_names_reach_the_file_system(intake: MediaIntake) -> None:
    for bad in ("../../etc/passwd", "AB" * 32, "a" * 63, ""):
        with pytest.raises(ValueError, match="SHA-256"):
            intake.vault.path_of(bad)
