"""Heartbeats and health checks of the cluster's processes. Skeleton (next commits)."""

from __future__ import annotations

from stadspuls.settings import Settings


def check_health(settings: Settings, kind: str, name: str | None) -> tuple[bool, list[str]]:
    return False, [f"{kind}: health checks are not built yet on this branch"]
