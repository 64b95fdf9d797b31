"""The configured channels, built from the settings through one explicit door (no scanning):
e-mail when there is an SMTP server (with a mailbox to poll when `inbox.imap` is set; without
one it only sends answers to web reports), Mastodon and Bluesky when their account is set."""

from __future__ import annotations

from stadspuls.channels.base import Channel
from stadspuls.channels.bluesky import BlueskyChannel
from stadspuls.channels.email import EmailChannel
from stadspuls.channels.mastodon import MastodonChannel
from stadspuls.media.intake import MediaIntake
from stadspuls.settings import Settings


def build_channels(settings: Settings, *, media: MediaIntake | None = None) -> dict[str, Channel]:
    """Raises ChannelError (retry=False) for a channel whose secret file cannot be read, and
    ValueError for a mailbox without an SMTP server to answer through."""
    inbox = settings.inbox
    channels: dict[str, Channel] = {}
    if inbox.imap is not None and settings.smtp is None:
        raise ValueError("[inbox.imap] needs an [smtp] server to send the replies through")
    if settings.smtp is not None:
        channels["email"] = EmailChannel(inbox.imap, settings.smtp, inbox, media=media)
    if inbox.mastodon is not None:
        channels["mastodon"] = MastodonChannel(inbox.mastodon)
    if inbox.bluesky is not None:
        channels["bluesky"] = BlueskyChannel(inbox.bluesky)
    return channels


def poll_intervals(settings: Settings) -> dict[str, float]:
    """Seconds between polls of each channel that has something to poll."""
    inbox = settings.inbox
    intervals: dict[str, float] = {}
    if inbox.imap is not None and settings.smtp is not None:
        intervals["email"] = inbox.imap.poll_interval_s
    if inbox.mastodon is not None:
        intervals["mastodon"] = inbox.mastodon.poll_interval_s
    if inbox.bluesky is not None:
        intervals["bluesky"] = inbox.bluesky.poll_interval_s
    return intervals
