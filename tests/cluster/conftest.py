"""Fixtures of the cluster's tests: the Redis that scripts/test-services.sh starts (a stream
prefix of its own per test, removed afterwards) and PostgreSQL; each skips without its server."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from stadspuls.settings import BlueskySettings, ClusterSettings, Settings

REDIS_URL_ENV = "STADSPULS_TEST_REDIS_URL"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sources"


@pytest.fixture
def redis_url() -> str:
    url = os.environ.get(REDIS_URL_ENV)
    if not url:
        pytest.skip(f"Redis not started: set {REDIS_URL_ENV} (scripts/test-services.sh start)")
    return url


@pytest.fixture
def prefix(redis_url: str) -> Iterator[str]:
    """A stream prefix of this test's own; its keys are deleted afterwards."""
    name = "t" + uuid.uuid4().hex[:10]
    yield name
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=f"{name}:*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def cluster_settings(tmp_path: Path, pg_url: str, redis_url: str, prefix: str) -> Settings:
    """Settings of a cluster on the test servers: the core door only, short claim times."""
    return Settings(
        db_url=pg_url,
        key_file=tmp_path / "secrets" / "pseudonym.key",
        mastodon=[],
        feeds=[],
        bluesky=BlueskySettings(enabled=False),
        enrichers=[],
        door_process=False,
        cluster=ClusterSettings(
            broker_url=redis_url,
            stream_prefix=prefix,
            claim_idle_s=0.3,
            block_ms=20,
            batch=100,
            max_attempts=2,
            trim_interval_s=0.01,
        ),
    )
