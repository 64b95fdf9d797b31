"""Refusals of the inbox settings that a page can say in the reader's language.

The message is an English template with named values ("a call ends after it starts", "unknown
place %(place)s"); `str()` gives the English text (the API and the command line answer in
English), and a page shows `gettext(message) % params` from its catalogue.
"""

from __future__ import annotations


class Explained(ValueError):
    def __init__(self, message: str, **params: object) -> None:
        super().__init__(message % params if params else message)
        self.message = message
        self.params = params
