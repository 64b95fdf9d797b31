"""Why a file was refused, in words a citizen understands (Dutch and English)."""

from __future__ import annotations


class MediaRejected(ValueError):
    """A file is refused: `code` for programs and logs ("type", "size", "damaged", "pixels",
    "count", "decode"), a message in Dutch and one in English for the person who sent it."""

    def __init__(self, code: str, nl: str, en: str, *, filename: str = "") -> None:
        super().__init__(en)
        self.code = code
        self.nl = nl
        self.en = en
        self.filename = filename

    def message(self, lang: str) -> str:
        return self.nl if lang == "nl" else self.en
