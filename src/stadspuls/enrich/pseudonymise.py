"""Pseudonymisation at the door: nothing that names a person reaches the store in clear.

- Authors (and, by default, mentioned people) become keyed pseudonyms: HMAC-SHA256 with a secret
  key kept outside the database, so a pseudonym cannot be reversed by hashing candidate handles
  (a plain hash could be). The same handle always gives the same pseudonym under one key, so
  analysis of actors and `@mention` queries still work.
- Post ids and the references between posts (`reply_to`, `repost_of`, and deletions) become
  keyed hashes too (keyed BLAKE2b, 128 bits, under a key derived from the same key): a platform
  id often holds the author (`did:plc:…/rkey`, `host/users/name/…`). The same platform id
  always maps to the same stored id, so re-imports stay idempotent and a deletion, which
  carries the platform id, still finds its post.
- In the text, profile and status URLs (x.com/NAME/…, https://host/@name/…, bsky.app/profile/
  HANDLE/…), bare DIDs and `@mentions` (also `.@name` and `@name@instance`) become `@pseudonym`,
  in one pass of one compiled pattern (built of the forms whose literal hints the text holds).
- The post's own URL, its media URLs and its links are sealed (`stadspuls/sealed.py`).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import os
import re
import secrets
from collections.abc import Sequence
from pathlib import Path

import msgspec

from stadspuls.enrich.normalize import MENTION
from stadspuls.records import Deletion, Post
from stadspuls.sealed import Sealer

log = logging.getLogger(__name__)

PSEUDONYM_PREFIX = "u"
# 64 bits: collisions become likely only around four billion distinct handles.
PSEUDONYM_HEX = 16
# Post ids are primary keys: 128 bits, so that a collision is out of reach at any volume.
POST_ID_BYTES = 16

# The rest of a URL, without the punctuation that ends a sentence after it.
_URL_REST = r"(?:[/?#](?:[^\s<>\"']*[^\s<>\"'.,;:!?)\]}])?)?"
_NAME = r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?"
# Possessive: a host that is not followed by "/@" or "/users/" fails without backtracking.
_HOST = r"[A-Za-z0-9-]++(?:\.[A-Za-z0-9-]++)++"
# X paths that are not accounts (x.com/i/web/status/… names nobody).
_X_RESERVED = (
    "i|home|search|hashtag|intent|share|explore|notifications|messages|settings|compose|"
    "login|signup|tos|privacy"
)
# (literal hints, pattern): a pattern takes part in a text's pass only when one of its hints
# occurs in the text. Each pattern costs ~10-30 ns per character it scans, so a text pays
# only for the forms it may hold: most texts hold none, most others only an "@".
_ALTERNATIVES = (
    (
        ("x.com/", "twitter.com/", "X.com/", "Twitter.com/"),
        rf"(?:https?://)?(?:www\.|mobile\.)?(?:[xX]|[tT]witter)\.com/(?!(?:{_X_RESERVED})\b)"
        rf"(?P<x>[A-Za-z0-9_]{{1,15}})\b{_URL_REST}",
    ),
    (
        ("bsky.app/profile/",),
        r"(?:https?://)?(?:www\.)?bsky\.app/profile/"
        rf"(?P<bsky>[A-Za-z0-9][A-Za-z0-9.:_-]*[A-Za-z0-9]){_URL_REST}",
    ),
    (
        ("/@", "/users/"),
        # The port is not part of the account's name (a test server at localhost:3000 too).
        rf"(?<![A-Za-z0-9.-])(?:https?://)?(?P<host>{_HOST}|localhost)(?::[0-9]{{1,5}})?/"
        rf"(?:@(?P<acct>{_NAME})(?:@(?P<remote>{_HOST}))?|users/(?P<user>{_NAME})){_URL_REST}",
    ),
    (("did:",), r"(?<![A-Za-z0-9])(?P<did>did:[a-z]+:[A-Za-z0-9._%-]*[A-Za-z0-9])"),
    (("@",), MENTION.pattern),  # last: its handle is the pattern's last group
)


@functools.cache
def _pattern(mask: int) -> re.Pattern[str]:
    """One pattern of the alternatives whose bits are set in `mask`."""
    return re.compile(
        "|".join(pattern for bit, (_, pattern) in enumerate(_ALTERNATIVES) if mask >> bit & 1)
    )


def load_or_create_key(path: Path, what: str = "pseudonymisation") -> bytes:
    """Read the key from `path`, creating a random 256-bit key there (mode 0600) if absent.

    The new key is written to a temporary file and linked into place, so a process that starts
    at the same moment never reads half a key, and exactly one key wins."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_bytes(32)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(key.hex() + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass  # another process created it first: use that one
        else:
            log.info("generated a new %s key in %s (keep it secret, keep it safe)", what, path)
        finally:
            os.unlink(temporary)
    key = bytes.fromhex(path.read_text().strip())
    if len(key) < 16:
        raise ValueError(f"{what} key in {path} is shorter than 128 bits")
    return key


def canonical_handle(handle: str) -> str:
    return handle.strip().lstrip("@").lower()


def qualified_mentions(mentions: Sequence[str]) -> dict[str, str]:
    """Bare name → `name@server` for the server-qualified mentions a platform gave (Mastodon
    writes `@anna` in the text for the account it lists as `anna@mastodon.nl`), so that one
    mentioned person gets one pseudonym, the same as when they post themselves."""
    out: dict[str, str] = {}
    for mention in mentions:
        name, at, server = canonical_handle(mention).partition("@")
        if at and server:
            out.setdefault(name, mention)
    return out


class Pseudonymiser:
    """The enricher that replaces identities; `sealer` is needed for posts with URLs."""

    name = "pseudonymise"

    def __init__(
        self,
        key: bytes,
        sealer: Sealer | None = None,
        *,
        mentions: bool = True,
        cache_size: int = 500_000,
    ) -> None:
        self._key = key
        # A key of its own for ids, so that an id's hash never equals a handle's pseudonym.
        self._id_key = hmac.new(key, b"stadspuls post id", hashlib.sha256).digest()
        self._sealer = sealer
        self.mentions = mentions
        # Without the `@mention` pattern when a deployment keeps mentions in clear.
        self._alternatives = [
            (1 << bit, hints)
            for bit, (hints, _) in enumerate(_ALTERNATIVES)
            if mentions or bit < len(_ALTERNATIVES) - 1
        ]
        self._cache: dict[str, str] = {}
        self._cache_size = cache_size

    def pseudonym(self, handle: str) -> str:
        canonical = canonical_handle(handle)
        cached = self._cache.get(canonical)
        if cached is not None:
            return cached
        digest = hmac.new(self._key, canonical.encode(), hashlib.sha256).hexdigest()
        value = PSEUDONYM_PREFIX + digest[:PSEUDONYM_HEX]
        if len(self._cache) >= self._cache_size:
            self._cache.clear()
        self._cache[canonical] = value
        return value

    def post_id(self, raw_id: str) -> str:
        """The stored id of a platform post id ("source:native"): "source:" + keyed hash."""
        source, colon, _ = raw_id.partition(":")
        if not colon or not source.isalnum() or len(source) > 16 or source == "did":
            # An id not shaped "source:native" (a plugin's, or a bare DID) keeps nothing of it.
            source = "post"
        # Keyed BLAKE2b is a MAC like HMAC, and about three times faster in CPython: this runs
        # for every post and reference.
        digest = hashlib.blake2b(raw_id.encode(), key=self._id_key, digest_size=POST_ID_BYTES)
        return f"{source}:{digest.hexdigest()}"

    def deletions(self, deletions: Sequence[Deletion]) -> list[Deletion]:
        return [Deletion(self.post_id(d.id), d.at) for d in deletions]

    def _replace(self, match: re.Match[str], qualified: dict[str, str] | None = None) -> str:
        groups = match.groupdict()
        if groups.get("x") is not None:
            handle = groups["x"]
        elif groups.get("bsky") is not None:
            handle = groups["bsky"]
        elif groups.get("host") is not None:
            name = groups["acct"] or groups["user"]
            handle = f"{name}@{groups['remote'] or groups['host']}"
        elif groups.get("did") is not None:
            handle = groups["did"]
        else:
            handle = match.group(match.lastindex or 0)  # the mention's handle
            if qualified:
                handle = qualified.get(canonical_handle(handle), handle)
        return "@" + self.pseudonym(handle)

    def text(self, text: str, qualified: dict[str, str] | None = None) -> str:
        """`text` with every profile URL, DID and (if enabled) @mention as `@pseudonym`;
        a bare `@name` that `qualified` knows (see `qualified_mentions`) as `name@server`."""
        if "/" not in text and "@" not in text and "did:" not in text:
            return text  # every hint holds one of these
        mask = 0
        for bit, hints in self._alternatives:
            for hint in hints:
                if hint in text:
                    mask |= bit
                    break
        if not mask:
            return text
        if qualified:
            return _pattern(mask).sub(functools.partial(self._replace, qualified=qualified), text)
        return _pattern(mask).sub(self._replace, text)

    def _seal(self, post: Post, post_id: str) -> dict[str, object]:
        if post.url is None and not post.links and not post.media:
            return {}
        sealer = self._sealer
        if sealer is None:
            raise ValueError("post has URLs but the pseudonymiser was built without a sealer")
        return {
            "url": sealer.seal(post.url, post_id) if post.url is not None else None,
            "links": tuple(sealer.seal(link, post_id) for link in post.links),
            "media": tuple(sealer.seal(link, post_id) for link in post.media),
        }

    def __call__(self, posts: Sequence[Post]) -> list[Post]:
        out = []
        for post in posts:
            post_id = self.post_id(post.id)
            changes = self._seal(post, post_id)
            qualified = qualified_mentions(post.mentions) if post.mentions else None
            if self.mentions and post.mentions:
                changes["mentions"] = tuple(
                    dict.fromkeys(
                        self.pseudonym(qualified.get(canonical_handle(m), m) if qualified else m)
                        for m in post.mentions
                    )
                )
            out.append(
                msgspec.structs.replace(
                    post,
                    id=post_id,
                    native_id=post_id.partition(":")[2],
                    author=None,
                    author_key=self.pseudonym(post.author) if post.author else post.author_key,
                    text=self.text(post.text, qualified),
                    reply_to=self.post_id(post.reply_to) if post.reply_to else None,
                    repost_of=self.post_id(post.repost_of) if post.repost_of else None,
                    **changes,
                )
            )
        return out
