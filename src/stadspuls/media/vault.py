"""The media vault: originals byte for byte, named by their SHA-256, and the copies derived
from them.

    media_dir/tmp/                      uploads being received (removed when refused)
    media_dir/originals/<aa>/<sha256>   written once, read-only (0440); the same file sent
                                        twice is kept once, the first copy, untouched
    media_dir/derived/<aa>/<sha256>.thumb.jpg
    media_dir/derived/<aa>/<sha256>.jpg | .png     the metadata-stripped copy staff see

Files are shared between cases (the same photo sent in two tips is one file); a file goes
when no media row names its hash any more (`remove_unused`, called by retention).
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

import sqlalchemy as sa

from stadspuls.store import media as store

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_STRIPPED_SUFFIXES = (".jpg", ".png")
# A full sweep leaves files younger than this: accepted, their case not yet stored.
GRACE_S = 24 * 3600.0


class Vault:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.tmp = root / "tmp"
        self.originals = root / "originals"
        self.derived = root / "derived"

    def prepare(self) -> None:
        for folder in (self.tmp, self.originals, self.derived):
            folder.mkdir(parents=True, exist_ok=True, mode=0o750)

    def temporary(self) -> tuple[int, Path]:
        """A new file for an upload being received: (descriptor, path)."""
        self.prepare()
        fd, name = tempfile.mkstemp(dir=self.tmp, prefix="upload-")
        return fd, Path(name)

    @staticmethod
    def _check(sha256: str) -> str:
        if not _SHA256.match(sha256):
            raise ValueError(f"not a SHA-256: {sha256!r}")
        return sha256

    def path_of(self, sha256: str) -> Path:
        sha256 = self._check(sha256)
        return self.originals / sha256[:2] / sha256

    def derived_stem(self, sha256: str) -> Path:
        sha256 = self._check(sha256)
        return self.derived / sha256[:2] / sha256

    def thumb_of(self, sha256: str) -> Path | None:
        path = self.derived_stem(sha256).with_suffix(".thumb.jpg")
        return path if path.exists() else None

    def stripped_of(self, sha256: str) -> Path | None:
        stem = self.derived_stem(sha256)
        for suffix in _STRIPPED_SUFFIXES:
            path = stem.with_name(stem.name + suffix)
            if path.exists():
                return path
        return None

    def thumb_target(self, sha256: str) -> Path:
        stem = self.derived_stem(sha256)
        stem.parent.mkdir(parents=True, exist_ok=True, mode=0o750)
        return stem.with_name(stem.name + ".thumb.jpg")

    def keep(self, received: Path, sha256: str) -> Path:
        """Move a received file into place as the original of `sha256`; when the vault holds
        it already, the first copy stays and the new one is dropped."""
        target = self.path_of(sha256)
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o750)
        os.chmod(received, 0o440)
        # link() fails on an existing name: two uploads of one photo at once keep one.
        with contextlib.suppress(FileExistsError):
            os.link(received, target)
        received.unlink(missing_ok=True)
        return target

    def remove(self, sha256: str) -> None:
        stem = self.derived_stem(sha256)
        for path in (
            self.path_of(sha256),
            stem.with_name(stem.name + ".thumb.jpg"),
            *(stem.with_name(stem.name + suffix) for suffix in _STRIPPED_SUFFIXES),
        ):
            path.unlink(missing_ok=True)

    def stored_hashes(self) -> Iterable[str]:
        if not self.originals.exists():
            return
        for folder in self.originals.iterdir():
            for path in folder.iterdir():
                if _SHA256.match(path.name):
                    yield path.name

    def remove_unused(self, conn: sa.Connection, candidates: Iterable[str] | None = None) -> int:
        """Delete the files of hashes no media row uses any more: of `candidates` (the hashes of
        media rows just deleted), or of every file in the vault older than `GRACE_S` (a file
        just received waits for its case to be stored). Returns how many went."""
        if candidates is None:
            cutoff = time.time() - GRACE_S
            hashes = {
                sha256
                for sha256 in self.stored_hashes()
                if self.path_of(sha256).stat().st_mtime < cutoff
            }
        else:
            hashes = set(candidates)
        used = store.hashes_in_use(conn, hashes)
        removed = 0
        for sha256 in sorted(hashes - used):
            if _SHA256.match(sha256):
                self.remove(sha256)
                removed += 1
        return removed
