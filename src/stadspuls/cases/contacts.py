"""Sealing a case's contact: who wrote and where a reply goes, encrypted at rest.

The contact is JSON of `cases.records.Contact`, sealed with AES-256-GCM (`stadspuls.sealed`)
under the inbox's own key (`Settings.contact_key_path`, outside the database and apart from the
monitoring keys), with "case:<id>" as associated data: a sealed contact copied onto another case
does not open there.
"""

from __future__ import annotations

import msgspec

from stadspuls.cases.records import Contact
from stadspuls.sealed import Sealer

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(Contact).decode


def context(case_id: int) -> str:
    return f"case:{case_id}"


def is_empty(contact: Contact) -> bool:
    return not any((contact.name, contact.email, contact.handle, contact.reply_to))


def seal(sealer: Sealer, case_id: int, contact: Contact) -> str:
    return sealer.seal(_encode(contact).decode(), context(case_id))


def open_sealed(sealer: Sealer, case_id: int, sealed: str) -> Contact:
    """Raises `sealed.SealError` for a value sealed under another key or for another case."""
    return _decode(sealer.open(sealed, context(case_id)))
