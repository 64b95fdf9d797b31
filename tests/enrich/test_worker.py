from __future__ import annotations

import msgspec
import pytest

from stadspuls.enrich.door import build_door
from stadspuls.enrich.worker import DoorProcess, DoorProcessError
from stadspuls.records import Deletion, Post
from stadspuls.settings import Settings
from tests.factories import T0, make_post


def _light(settings: Settings) -> Settings:
    """Without the optional models a child starts in seconds; what is tested is the transport."""
    return settings.model_copy(update={"enrichers": []})


TEXT = "Grote brand in een loods aan de Industrieweg in Lochem, rookwolken boven de stad"


def test_door_process_gives_the_same_posts_as_the_door_in_this_process(settings: Settings) -> None:
    batches = [
        [make_post(1, TEXT), make_post(2, "Hoi @jan.bsky.social, " + TEXT)],
        [make_post(3, TEXT + " #lochem"), make_post(4, "Rustig op Stratumseind vanavond")],
    ]
    settings = _light(settings)
    local = build_door(settings)
    expected = [local(batch) for batch in batches]
    with DoorProcess(settings) as remote:
        remote.submit(batches[0])
        remote.submit(batches[1])  # two in flight: answers come back in order
        got = [remote.collect(), remote.collect()]
        assert remote([]) == []
        deletion = [Deletion("bluesky:did:plc:ewvi7nxzyoun6zhxrhs64oiz/3lbqz1", T0)]
        assert remote.deletions(deletion) == local.deletions(deletion) != deletion
    assert _rounded(got) == _rounded(expected)
    assert got[1][0].duplicate_kind == "exact"


def test_a_failure_in_the_child_is_reported_with_its_traceback(settings: Settings) -> None:
    with DoorProcess(_light(settings)) as remote:
        remote._conn.send_bytes(b"not msgpack at all")  # a batch the child cannot decode
        remote._pending += 1
        with pytest.raises(DoorProcessError, match="Traceback"):
            remote.collect()
        assert remote([make_post(1)])[0].author_key is not None  # the child is still serving


def test_a_killed_child_is_replaced_and_the_batch_is_not_lost(settings: Settings) -> None:
    with DoorProcess(_light(settings)) as remote:
        remote._process.kill()
        remote._process.join()
        (post,) = remote([make_post(7, TEXT)])
        assert post.author_key is not None
        assert post.lang == "nl"
        assert remote.restarts == 1


def _rounded(batches: list[list[Post]]) -> object:
    """Posts as plain data with floats to 9 digits: another process may sum in another order."""

    def walk(value: object) -> object:
        if isinstance(value, float):
            return round(value, 9)
        if isinstance(value, dict):
            return {k: walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        return value

    return walk(msgspec.to_builtins(batches))
