"""The configured publishing targets. PLACEHOLDER until the channels land (helper "pubchan"
writes the real one: news, Mastodon, Bluesky, webhooks); without them only the news page,
which needs no target to be previewed, is known to the service."""

from __future__ import annotations

import sqlalchemy as sa

from stadspuls.publish.targets import PublishTarget
from stadspuls.settings import Settings


def build_targets(settings: Settings, engine: sa.Engine) -> dict[str, PublishTarget]:
    del settings, engine
    return {}
