"""A lane's contiguous done watermark: a source's cursor never passes a post not yet stored.

The collector numbers the items of each lane 1, 2, 3, …; door workers finish them in any
order, and the writer marks each sequence done in the transaction that stores its effect. A
checkpoint at sequence n is held until every sequence ≤ n is done, then stored; of several
released at once, the one with the highest sequence per stream wins.

The state is small: the watermark, the done sequences above it (at most what is in flight) and
the held checkpoints. The writer keeps it per lane in `cluster_lanes`, in the same transaction
as the posts and cursors it covers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import msgspec


class _State(msgspec.Struct):
    done: list[int] = []
    held: list[tuple[int, str, str]] = []  # (seq, stream, cursor)


_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(_State).decode


@dataclass
class Lane:
    watermark: int = 0  # every sequence ≤ watermark is done
    done: set[int] = field(default_factory=set)  # done sequences above the watermark
    held: dict[int, tuple[str, str]] = field(default_factory=dict)  # seq → (stream, cursor)

    def is_done(self, seq: int) -> bool:
        return seq <= self.watermark or seq in self.done

    def mark(self, seqs: Iterable[int]) -> int:
        """Mark sequences done; returns how many were new. Advances the watermark over every
        contiguous done sequence."""
        new = 0
        for seq in seqs:
            if seq <= 0:
                raise ValueError(f"sequence numbers start at 1, not {seq}")
            if not self.is_done(seq):
                self.done.add(seq)
                new += 1
        while self.watermark + 1 in self.done:
            self.watermark += 1
            self.done.discard(self.watermark)
        return new

    def hold(self, seq: int, stream: str, cursor: str) -> None:
        """A checkpoint covering everything of this lane up to `seq`; stored once released.
        One whose own sequence is done already is a redelivery (it came before its done mark
        the first time) and is ignored."""
        if not self.is_done(seq):
            self.held[seq] = (stream, cursor)

    def release(self) -> dict[str, str]:
        """The held checkpoints the watermark has reached, latest per stream; forgotten here."""
        ready = sorted(seq for seq in self.held if seq <= self.watermark)
        out: dict[str, str] = {}
        for seq in ready:
            stream, cursor = self.held.pop(seq)
            out[stream] = cursor
        return out

    def copy(self) -> Lane:
        return Lane(self.watermark, set(self.done), dict(self.held))

    def dumps(self) -> str:
        state = _State(
            done=sorted(self.done),
            held=[(seq, stream, cursor) for seq, (stream, cursor) in sorted(self.held.items())],
        )
        return _encode(state).decode()

    @classmethod
    def loads(cls, watermark: int, text: str) -> Lane:
        state = _decode(text)
        return cls(
            watermark, set(state.done), {seq: (stream, cur) for seq, stream, cur in state.held}
        )
