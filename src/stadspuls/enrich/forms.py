"""The forms of a post's text that several stages need, computed once per text at the door.

Folding (`query.text.fold`: NFKD, marks dropped, casefold) is the start of the near-duplicate
key and of the full-text index body; the door folds each text once and every stage that needs
the folded form asks the door's `TextForms`. The full-text index body is computed at the door
too (`index_body`) and travels to the writer on the post (`Post.index_body`), so the writer's
core only writes.
"""

from __future__ import annotations

from stadspuls.query.text import fold, index_folded


class TextForms:
    """Folded texts of the batch in flight, keyed by the text (copies fold once too).

    The door clears it after each batch, so it holds one batch's texts at most; a stage used on
    its own (tests, evaluations) with a private `TextForms` keeps at most `limit` texts."""

    def __init__(self, limit: int = 20_000) -> None:
        self.limit = limit
        self._folded: dict[str, str] = {}

    def folded(self, text: str) -> str:
        value = self._folded.get(text)
        if value is None:
            if len(self._folded) >= self.limit:
                self._folded.clear()
            value = self._folded[text] = fold(text)
        return value

    def index_body(self, text: str) -> str:
        """What the full-text index stores for `text` (`query.text.index_text`)."""
        return index_folded(self.folded(text))

    def clear(self) -> None:
        self._folded.clear()
