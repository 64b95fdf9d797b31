"""The messages on the broker's streams: msgpack (msgspec) of the records plus what the
cluster needs to know about them.

`{prefix}:items` (collector → door workers): one entry per source item, with the fields
`l` (the collector's lane, see below), `s` (the item's sequence number in its lane) and `m`
(an `ItemMessage`). Lane and sequence are plain fields, not only inside `m`, so that an entry
whose body cannot be decoded can still be marked done and never holds its lane's cursor back.

`{prefix}:enriched` (door workers → writer): one entry per enriched post, deletion and
checkpoint, then one `Done` naming every input sequence the door batch covered (posts kept,
posts dropped, deletions, checkpoints, counts), all in one MULTI/EXEC.

A lane is one source of one collector run ("{collector}/{source}.{index}/{run}"): its items are
numbered 1, 2, 3, … in the order the source yielded them. A checkpoint at sequence n covers
everything its source yielded before it, so the writer stores it only once every sequence
≤ n of its lane is done (`cluster.watermark`). A new run starts a new lane, so a restarted
collector never reuses a number that items of the previous run still carry.
"""

from __future__ import annotations

from typing import Final

import msgspec

from stadspuls.records import Checkpoint, Deletion, Post


class PostMessage(msgspec.Struct, frozen=True, tag="post", array_like=True):
    post: Post


class DeletionMessage(msgspec.Struct, frozen=True, tag="deletion", array_like=True):
    deletion: Deletion


class CheckpointMessage(msgspec.Struct, frozen=True, tag="checkpoint", array_like=True):
    """A source's cursor; on `enriched` with the lane and sequence it covers."""

    checkpoint: Checkpoint
    lane: str = ""
    seq: int = 0


class CountsMessage(msgspec.Struct, frozen=True, tag="counts", array_like=True):
    """Counter increments of a source that no post carries (malformed payloads)."""

    source: str
    counters: dict[str, int]


class Done(msgspec.Struct, frozen=True, tag="done", array_like=True):
    """Every input sequence a door batch covered, by lane, and the batch's counters
    ((source, counter, n): received, rejected, malformed, dead)."""

    seqs: dict[str, list[int]]
    counters: list[tuple[str, str, int]] = []


ItemMessage = PostMessage | DeletionMessage | CheckpointMessage | CountsMessage
EnrichedMessage = PostMessage | DeletionMessage | CheckpointMessage | Done

LANE: Final = b"l"
SEQ: Final = b"s"
BODY: Final = b"m"

_encoder = msgspec.msgpack.Encoder()
_item_decoder = msgspec.msgpack.Decoder(ItemMessage)
_enriched_decoder = msgspec.msgpack.Decoder(EnrichedMessage)


class MessageError(ValueError):
    """An entry that is not a message of this version (corrupt, foreign, or missing fields)."""


def encode(message: ItemMessage | EnrichedMessage) -> bytes:
    return _encoder.encode(message)


def wrap(item: Post | Deletion | Checkpoint) -> ItemMessage:
    if isinstance(item, Post):
        return PostMessage(item)
    if isinstance(item, Deletion):
        return DeletionMessage(item)
    return CheckpointMessage(item)


def item_fields(lane: str, seq: int, message: ItemMessage) -> dict[bytes, bytes]:
    """The fields of one `items` entry."""
    return {LANE: lane.encode(), SEQ: str(seq).encode(), BODY: encode(message)}


def item_position(fields: dict[bytes, bytes]) -> tuple[str, int]:
    """(lane, seq) of an `items` entry; MessageError when they are missing or malformed."""
    try:
        return fields[LANE].decode(), int(fields[SEQ])
    except (KeyError, UnicodeDecodeError, ValueError) as error:
        raise MessageError(f"no lane/sequence: {error!r}") from error


def decode_item(fields: dict[bytes, bytes]) -> ItemMessage:
    try:
        return _item_decoder.decode(fields[BODY])
    except (KeyError, msgspec.DecodeError) as error:
        raise MessageError(f"undecodable item: {error}") from error


def decode_enriched(fields: dict[bytes, bytes]) -> EnrichedMessage:
    try:
        return _enriched_decoder.decode(fields[BODY])
    except (KeyError, msgspec.DecodeError) as error:
        raise MessageError(f"undecodable enriched entry: {error}") from error
