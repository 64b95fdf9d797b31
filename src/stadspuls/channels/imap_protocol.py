"""The IMAP side of the e-mail channel that is plain protocol: the cursor's form, quoting a
folder name, and reading imaplib's untyped answers (a status and a list of bytes or tuples)."""

from __future__ import annotations

import imaplib
import re
from collections.abc import Sequence

from stadspuls.channels.base import ChannelError

_UID = re.compile(rb"UID (\d+)")
_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")


def parse_cursor(cursor: str | None) -> tuple[int, int] | None:
    if cursor is None:
        return None
    validity, _, uid = cursor.partition(":")
    if not (validity.isdigit() and uid.isdigit()):
        return None
    return int(validity), int(uid)


def quote_mailbox(name: str) -> str:
    if not name.isascii() or any(c in name for c in "\r\n\x00"):
        raise ChannelError(f"imap: folder name {name!r} must be plain ASCII", retry=False)
    escaped = name.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def ok(answer: tuple[str, Sequence[object]], what: str) -> Sequence[object]:
    status, data = answer
    if status != "OK":
        raise imaplib.IMAP4.error(f"{what}: {status} {data!r}")
    return data


def number(client: imaplib.IMAP4, key: str, default: int | None = None) -> int:
    _, data = client.response(key)
    values = [v for v in data if isinstance(v, bytes) and v.strip().isdigit()]
    if values:
        return int(values[-1])
    if default is None:
        raise imaplib.IMAP4.error(f"the server did not say its {key}")
    return default


def uids(answer: tuple[str, Sequence[object]]) -> list[int]:
    data = ok(answer, "search")
    return [int(n) for line in data if isinstance(line, bytes) for n in line.split()]


def uid_set(uids: list[int]) -> str:
    return ",".join(str(uid) for uid in uids)


def sizes(answer: tuple[str, Sequence[object]]) -> dict[int, int]:
    sizes: dict[int, int] = {}
    for line in ok(answer, "fetch"):
        head = line[0] if isinstance(line, tuple) else line
        if isinstance(head, bytes):
            uid, size = _UID.search(head), _SIZE.search(head)
            if uid and size:
                sizes[int(uid.group(1))] = int(size.group(1))
    return sizes


def body(answer: tuple[str, Sequence[object]]) -> bytes | None:
    for line in ok(answer, "fetch"):
        if isinstance(line, tuple) and len(line) == 2 and isinstance(line[1], bytes):
            return line[1]
    return None  # expunged by someone else meanwhile
