"""The broker's message envelope round-trips the records; what is not one is refused clearly."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from stadspuls.cluster import messages
from stadspuls.cluster.messages import CheckpointMessage, Done, MessageError, PostMessage
from stadspuls.records import Checkpoint, Deletion, Place, Post


def test_items_round_trip_with_lane_and_sequence() -> None:
    post = Post(
        id="bluesky:did:plc:x/1",
        source="bluesky",
        native_id="did:plc:x/1",
        created_at=datetime(2026, 12, 1, 12, 30, tzinfo=UTC),
        text="Brand in de haven",
        author="x.bsky.social",
        places=(Place("GM0363", "Amsterdam", "Amsterdam", 52.37, 4.9),),
        meta={"capcodes": ["1", "2"]},
    )
    for item in (post, Deletion("bluesky:did:plc:x/1", post.created_at), Checkpoint("s", "9")):
        fields = messages.item_fields("c/bluesky/1", 7, messages.wrap(item))
        assert messages.item_position(fields) == ("c/bluesky/1", 7)
        decoded = messages.decode_item(fields)
        assert decoded == messages.wrap(item)
    decoded_post = messages.decode_item(messages.item_fields("l", 1, PostMessage(post)))
    assert isinstance(decoded_post, PostMessage)
    assert decoded_post.post == post


def test_enriched_messages_round_trip() -> None:
    for message in (
        CheckpointMessage(Checkpoint("s", "9"), lane="c/x/1", seq=3),
        Done({"c/x/1": [1, 2, 3]}, [("bluesky", "received", 2)]),
    ):
        assert messages.decode_enriched({messages.BODY: messages.encode(message)}) == message


@pytest.mark.parametrize(
    "fields",
    [{}, {b"m": b"\x93not msgpack of ours"}, {b"m": messages.encode(Done({}))}],
)
def test_what_is_not_an_item_is_a_message_error(fields: dict[bytes, bytes]) -> None:
    with pytest.raises(MessageError):
        messages.decode_item(fields)


def test_an_entry_without_lane_or_sequence_is_a_message_error() -> None:
    with pytest.raises(MessageError, match="lane"):
        messages.item_position({b"m": b""})
    with pytest.raises(MessageError):
        messages.item_position({b"l": b"x", b"s": b"three"})
