from __future__ import annotations

import msgspec
import pytest

from stadspuls.enrich.door import build_door
from stadspuls.enrich.worker import DoorProcess, DoorProcessError
from stadspuls.records import Post
from stadspuls.settings import Settings
from tests.factories import make_post

TEXT = "Grote brand in een loods aan de Industrieweg in Lochem, rookwolken boven de stad"


def test_door_process_gives_the_same_posts_as_the_door_in_this_process(settings: Settings) -> None:
    batches = [
        [make_post(1, TEXT), make_post(2, "Hoi @jan.bsky.social, " + TEXT)],
        [make_post(3, TEXT + " #lochem"), make_post(4, "Rustig op Stratumseind vanavond")],
    ]
    local = build_door(settings)
    expected = [local(batch) for batch in batches]
    with DoorProcess(settings) as remote:
        remote.submit(batches[0])
        remote.submit(batches[1])  # two in flight: answers come back in order
        got = [remote.collect(), remote.collect()]
        assert remote([]) == []
    assert _rounded(got) == _rounded(expected)
    assert got[1][0].duplicate_kind == "exact"


def test_a_failure_in_the_child_is_reported_with_its_traceback(settings: Settings) -> None:
    with DoorProcess(settings) as remote:
        remote._conn.send_bytes(b"not msgpack at all")  # a batch the child cannot decode
        remote._pending += 1
        with pytest.raises(DoorProcessError, match="Traceback"):
            remote.collect()
        assert remote([make_post(1)])[0].author_key is not None  # the child is still serving


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
