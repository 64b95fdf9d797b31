"""The publishing targets this installation has, built from the settings through one explicit
door: "news" always; "mastodon" and "bluesky" when the inbox has those accounts (the
organisation's one voice); "webhook:NAME" for each name in `publish.webhooks`."""

from __future__ import annotations

import sqlalchemy as sa

from stadspuls.publish.bluesky import BlueskyTarget
from stadspuls.publish.mastodon import MastodonTarget
from stadspuls.publish.news import NewsTarget, public_base
from stadspuls.publish.targets import PublishTarget
from stadspuls.publish.webhook import WebhookTarget
from stadspuls.settings import Settings


def build_targets(settings: Settings, engine: sa.Engine) -> dict[str, PublishTarget]:
    """Every configured target by name. An account whose secret cannot be read still gets its
    target: each of its sends fails permanently, saying why, and the other targets go on."""
    del engine  # the targets keep no state of their own in the database
    base = public_base(settings)
    news = NewsTarget(base)
    targets: dict[str, PublishTarget] = {news.name: news}
    if settings.inbox.mastodon is not None:
        targets["mastodon"] = MastodonTarget(settings.inbox.mastodon, news)
    if settings.inbox.bluesky is not None:
        targets["bluesky"] = BlueskyTarget(settings.inbox.bluesky, news)
    hooks = {hook.name: hook for hook in settings.webhooks}
    for name in settings.publish.webhooks:
        # Settings refuse a name that is not among `webhooks`.
        webhook = WebhookTarget(hooks[name], news, timeout_s=settings.publish.send_timeout_s)
        targets[webhook.name] = webhook
    return targets
