"""The configured channels, built from the settings through one explicit door (no scanning):
e-mail when there is an SMTP server (with a mailbox to poll when `inbox.imap` is set; without
one it only sends answers to web reports), Mastodon and Bluesky when their account is set."""

from __future__ import annotations

from collections.abc import Callable

from stadspuls.channels.base import Channel, ChannelError, Conversations
from stadspuls.channels.bluesky import BlueskyChannel
from stadspuls.channels.email import EmailChannel
from stadspuls.channels.mastodon import MastodonChannel
from stadspuls.media.intake import MediaIntake
from stadspuls.settings import Settings

Report = Callable[[str, ChannelError], None]


def build_channels(
    settings: Settings,
    *,
    media: MediaIntake | None = None,
    conversations: Conversations | None = None,
    report: Report | None = None,
) -> dict[str, Channel]:
    """`media` takes e-mail attachments (else they are named in the text); `conversations`
    (CaseService.find_conversation) links replies to our replies to their case.

    A channel that cannot be built (its secret file unreadable) raises ChannelError
    (retry=False), or, when `report` is given, is reported through it and left out so that the
    other channels run. A mailbox without an SMTP server to answer through is a ValueError."""
    inbox = settings.inbox
    if inbox.imap is not None and settings.smtp is None:
        raise ValueError("[inbox.imap] needs an [smtp] server to send the replies through")
    builders: dict[str, Callable[[], Channel]] = {}
    if settings.smtp is not None:
        smtp = settings.smtp
        builders["email"] = lambda: EmailChannel(
            inbox.imap, smtp, inbox, media=media, conversations=conversations
        )
    if inbox.mastodon is not None:
        mastodon = inbox.mastodon
        builders["mastodon"] = lambda: MastodonChannel(mastodon, conversations=conversations)
    if inbox.bluesky is not None:
        bluesky = inbox.bluesky
        builders["bluesky"] = lambda: BlueskyChannel(bluesky, conversations=conversations)
    channels: dict[str, Channel] = {}
    for name, build in builders.items():
        try:
            channels[name] = build()
        except ChannelError as error:
            if report is None:
                raise
            report(name, error)
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
