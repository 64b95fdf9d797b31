"""The poller: a channel's cursor moves only after every message of a poll was received (on
SQLite and PostgreSQL), mail is moved out of the inbox only after that, failures back off, and
the registry builds the configured channels."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from stadspuls.cases.records import InboundMessage
from stadspuls.channels.base import ChannelError
from stadspuls.channels.bluesky import BlueskyChannel
from stadspuls.channels.email import EmailChannel
from stadspuls.channels.mastodon import MastodonChannel
from stadspuls.channels.poller import ChannelPoller, backoff_s, poll_once
from stadspuls.channels.registry import build_channels, poll_intervals
from stadspuls.settings import (
    BlueskyAccountSettings,
    ImapSettings,
    InboxSettings,
    MastodonAccountSettings,
    Settings,
    SmtpSettings,
)
from stadspuls.store import channel_cursors
from stadspuls.store.status import load_status
from tests.support.http import closed_port, serve
from tests.support.imap_server import Account
from tests.support.mastodon_account_server import TOKEN, MastodonAccount

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "channels"


def _notifications() -> list[dict[str, Any]]:
    loaded: list[dict[str, Any]] = json.loads(
        (FIXTURES / "mastodon_notifications.json").read_text()
    )
    return loaded


class _Receiver:
    """Stands in for CaseService.receive; `fail_at` makes the n-th call raise."""

    def __init__(self, fail_at: int | None = None) -> None:
        self.received: list[InboundMessage] = []
        self.calls = 0
        self.fail_at = fail_at

    def __call__(self, message: InboundMessage) -> object:
        self.calls += 1
        if self.calls == self.fail_at:
            raise RuntimeError("the database went away")
        self.received.append(message)
        return None


def _mastodon(url: str, tmp_path: Path) -> MastodonChannel:
    token = tmp_path / "token"
    token.write_text(TOKEN)
    return MastodonChannel(MastodonAccountSettings(base_url=url, access_token_file=token))


def test_the_cursor_moves_only_after_every_message_was_received(
    engine: sa.Engine, tmp_path: Path
) -> None:
    """On SQLite and PostgreSQL."""
    server = MastodonAccount(_notifications())
    channel_cursors.save(engine, "mastodon", "0")

    async def scenario() -> None:
        async with serve(server.app) as url:
            channel = _mastodon(url, tmp_path)
            failing = _Receiver(fail_at=2)
            with pytest.raises(RuntimeError, match="went away"):
                await poll_once(channel, engine, failing)
            assert channel_cursors.load(engine, "mastodon") == "0"
            assert len(failing.received) == 1
            working = _Receiver()
            polled = await poll_once(channel, engine, working)
            assert len(working.received) == 2  # both again: receive is idempotent
            assert polled.malformed == 1
            assert channel_cursors.load(engine, "mastodon") == "404"
            await channel.close()

    asyncio.run(scenario())
    assert channel_cursors.load(engine, "email") is None


def test_mail_leaves_the_inbox_only_after_it_was_received(
    mailbox: Account, tmp_path: Path, engine: sa.Engine
) -> None:
    mailbox.append((FIXTURES / "question.eml").read_bytes())
    mailbox.append((FIXTURES / "outlook_html.eml").read_bytes())
    secret = tmp_path / "imap.password"
    secret.write_text(mailbox.password)
    imap = ImapSettings(
        host=mailbox.host,
        port=mailbox.port,
        security="none",
        user=mailbox.user,
        password_file=secret,
    )
    smtp = SmtpSettings(host="127.0.0.1", port=closed_port(), starttls=False)
    channel = EmailChannel(imap, smtp, InboxSettings())
    with pytest.raises(RuntimeError):
        asyncio.run(poll_once(channel, engine, _Receiver(fail_at=2)))
    assert len(mailbox.folder()) == 2
    assert mailbox.folder("Stadspuls") == []
    assert channel_cursors.load(engine, "email") is None
    receiver = _Receiver()
    asyncio.run(poll_once(channel, engine, receiver))
    assert [m.subject for m in receiver.received] == [
        "Kapotte lantaarnpaal Kerkstraat",
        "Geluidsoverlast café",
    ]
    assert mailbox.folder() == []
    assert len(mailbox.folder("Stadspuls")) == 2
    # After a restart nothing is read twice.
    again = _Receiver()
    asyncio.run(poll_once(EmailChannel(imap, smtp, InboxSettings()), engine, again))
    assert again.received == []


def test_the_loop_backs_off_after_a_failure_and_counts(engine: sa.Engine, tmp_path: Path) -> None:
    server = MastodonAccount(_notifications())
    server.fail = [503]
    channel_cursors.save(engine, "mastodon", "0")
    receiver = _Receiver()

    async def scenario() -> ChannelPoller:
        async with serve(server.app) as url:
            poller = ChannelPoller(
                engine,
                {"mastodon": _mastodon(url, tmp_path)},
                receiver,
                intervals={"mastodon": 0.05},
                backoff_min_s=0.05,
                backoff_max_s=0.1,
            )
            stop = asyncio.Event()
            task = asyncio.create_task(poller.run(stop))
            for _ in range(200):
                if len(receiver.received) == 2:
                    break
                await asyncio.sleep(0.02)
            stop.set()
            await task
            await poller.channels["mastodon"].close()
            return poller

    poller = asyncio.run(scenario())
    status = poller.status["mastodon"]
    assert (status.state, status.errors, status.received, status.malformed) == (
        "stopped",
        1,
        2,
        1,
    )
    assert status.polls >= 1
    assert status.last_error is not None
    assert "503" in status.last_error
    assert channel_cursors.load(engine, "mastodon") == "404"
    # /health and `stadspuls sources list` read it from the store.
    (row,) = [r for r in load_status(engine) if r.source == "inbox:mastodon"]
    assert (row.state, row.error_count, row.last_error) == ("stopped", 0, status.last_error)
    assert row.last_success is not None


def test_back_off_doubles_with_jitter_up_to_the_cap() -> None:
    assert backoff_s(1, 1.0, 600.0, lambda: 0.5) == 1.0
    assert backoff_s(4, 1.0, 600.0, lambda: 0.5) == 8.0
    assert backoff_s(30, 1.0, 600.0, lambda: 1.0) == 600.0
    assert backoff_s(3, 1.0, 600.0, lambda: 0.0) == 3.0


def test_a_refused_channel_says_so_and_waits_the_longest_back_off(
    engine: sa.Engine, tmp_path: Path
) -> None:
    server = MastodonAccount(_notifications())
    channel_cursors.save(engine, "mastodon", "0")

    async def scenario() -> ChannelPoller:
        async with serve(server.app) as url:
            token = tmp_path / "stale"
            token.write_text("stale-token")
            channel = MastodonChannel(
                MastodonAccountSettings(base_url=url, access_token_file=token)
            )
            poller = ChannelPoller(
                engine,
                {"mastodon": channel},
                _Receiver(),
                intervals={"mastodon": 0.01},
                backoff_min_s=0.01,
                backoff_max_s=0.3,
            )
            stop = asyncio.Event()
            task = asyncio.create_task(poller.run(stop))
            while poller.status["mastodon"].errors == 0:
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.15)
            assert poller.status["mastodon"].state == "refused"
            stored = [r for r in load_status(engine) if r.source == "inbox:mastodon"]
            assert [r.state for r in stored] == ["failed"]
            stop.set()
            await task
            await channel.close()
            return poller

    poller = asyncio.run(scenario())
    status = poller.status["mastodon"]
    # One try in 0.15 s: a refusal is not hammered at the short back-off.
    assert (status.errors, status.polls, status.failures) == (1, 0, 1)
    assert len(server.requests) == 1
    (row,) = [r for r in load_status(engine) if r.source == "inbox:mastodon"]
    assert (row.state, row.error_count) == ("stopped", 1)
    assert row.last_error is not None
    assert "401" in row.last_error
    assert row.next_retry is not None


def test_the_registry_builds_the_configured_channels(settings: Settings, tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("s")
    smtp = SmtpSettings(host="127.0.0.1", starttls=False)
    imap = ImapSettings(host="127.0.0.1", user="u", password_file=secret, poll_interval_s=30)
    inbox = InboxSettings(
        imap=imap,
        mastodon=MastodonAccountSettings(
            base_url="https://mastodon.test", access_token_file=secret
        ),
        bluesky=BlueskyAccountSettings(handle="gemeente.test", app_password_file=secret),
    )
    full = settings.model_copy(update={"smtp": smtp, "inbox": inbox})
    channels = build_channels(full)
    assert sorted(channels) == ["bluesky", "email", "mastodon"]
    assert isinstance(channels["email"], EmailChannel)
    assert isinstance(channels["mastodon"], MastodonChannel)
    assert isinstance(channels["bluesky"], BlueskyChannel)
    assert poll_intervals(full) == {"email": 30, "mastodon": 60, "bluesky": 60}

    # SMTP alone: an e-mail channel that only sends (web reports that left an address).
    send_only = settings.model_copy(update={"smtp": smtp})
    assert list(build_channels(send_only)) == ["email"]
    assert poll_intervals(send_only) == {}
    assert build_channels(settings) == {}

    with pytest.raises(ValueError, match=r"\[inbox.imap\] needs an \[smtp\] server"):
        build_channels(settings.model_copy(update={"inbox": InboxSettings(imap=imap)}))
    missing = MastodonAccountSettings(
        base_url="https://mastodon.test", access_token_file=tmp_path / "nope"
    )
    with pytest.raises(ChannelError, match="cannot read access_token_file") as error:
        build_channels(settings.model_copy(update={"inbox": InboxSettings(mastodon=missing)}))
    assert error.value.retry is False
    # With `report`, the broken one is reported and the others are built.
    reported: list[str] = []
    broken = InboxSettings(
        mastodon=missing,
        bluesky=BlueskyAccountSettings(handle="gemeente.test", app_password_file=secret),
    )
    built = build_channels(
        settings.model_copy(update={"inbox": broken}),
        report=lambda name, failure: reported.append(f"{name}: {failure}"),
    )
    assert list(built) == ["bluesky"]
    assert len(reported) == 1
    assert reported[0].startswith("mastodon: mastodon: cannot read access_token_file")
    asyncio.run(built["bluesky"].close())
    for channel in channels.values():
        asyncio.run(channel.close())
