"""The e-mail channel against a real dovecot: new mail becomes messages, automatic mail and
unreadable mail do not, handled mail moves to the done folder only when acknowledged, and the
cursor resumes after a restart without reading anything twice."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Literal

import pytest

from stadspuls.channels.base import ChannelError, Polled
from stadspuls.channels.email import EmailChannel
from stadspuls.settings import ImapSettings, InboxSettings, SmtpSettings
from tests.support.http import closed_port
from tests.support.imap_server import Account, Dovecot

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "channels"
SMTP = SmtpSettings(host="127.0.0.1", port=closed_port(), starttls=False, sender="m@gemeente.test")


def _channel(
    account: Account, tmp_path: Path, *, done: str | None = "Stadspuls", password: str = ""
) -> EmailChannel:
    secret = tmp_path / "imap.password"
    secret.write_text((password or account.password) + "\n")
    imap = ImapSettings(
        host=account.host,
        port=account.port,
        security="none",
        user=account.user,
        password_file=secret,
        done_folder=done,
    )
    return EmailChannel(imap, SMTP, InboxSettings())


def _append(account: Account, *names: str) -> None:
    for name in names:
        account.append((FIXTURES / name).read_bytes())


def test_new_mail_is_polled_tidied_and_never_read_twice(mailbox: Account, tmp_path: Path) -> None:
    _append(
        mailbox, "question.eml", "photos.eml", "out_of_office.eml", "bounce.eml", "malformed.eml"
    )
    channel = _channel(mailbox, tmp_path)

    first = asyncio.run(channel.poll(None))
    assert [m.subject for m in first.messages] == [
        "Kapotte lantaarnpaal Kerkstraat",
        "Foto's van de brand",
    ]
    assert (first.skipped, first.malformed) == (2, 1)
    photos = first.messages[1]
    # No media intake given to this channel: the photos are named in the text, not lost.
    assert "[2 bijlage(n) niet verwerkt: IMG_4031.jpg; IMG_4032.jpg]" in photos.text
    assert "[1 bijlage(n) zonder foto of video genegeerd]" in photos.text
    assert first.cursor is not None
    validity, _, last = first.cursor.partition(":")
    assert int(last) == max(uid for uid, _ in mailbox.folder())

    # Polling again before acknowledging (a crash before the cursor was stored) reads the same.
    again = asyncio.run(channel.poll(None))
    assert [m.external_id for m in again.messages] == [m.external_id for m in first.messages]
    assert all(flags == set() for _, flags in mailbox.folder())  # reading changed nothing

    asyncio.run(channel.acknowledge(first))
    # The malformed message stays for a person; the rest moved, read, to the done folder.
    left = mailbox.folder()
    assert len(left) == 1
    assert left[0][1] == set()
    done = mailbox.folder("Stadspuls")
    assert len(done) == 4
    assert all("\\Seen" in flags for _, flags in done)

    # A restart: a new channel from the stored cursor reads only what is new.
    restarted = _channel(mailbox, tmp_path)
    assert asyncio.run(restarted.poll(first.cursor)).messages == ()
    _append(mailbox, "reply.eml")
    later = asyncio.run(restarted.poll(first.cursor))
    assert [m.in_reply_to_case for m in later.messages] == [123]
    assert later.cursor is not None
    assert later.cursor.startswith(f"{validity}:")
    assert int(later.cursor.partition(":")[2]) > int(last)


def test_without_a_done_folder_handled_mail_is_flagged_read(
    mailbox: Account, tmp_path: Path
) -> None:
    _append(mailbox, "question.eml", "bounce.eml")
    channel = _channel(mailbox, tmp_path, done=None)
    polled = asyncio.run(channel.poll(None))
    assert len(polled.messages) == 1
    asyncio.run(channel.acknowledge(polled))
    assert [flags for _, flags in mailbox.folder()] == [{"\\Seen"}, {"\\Seen"}]


def test_mail_read_before_the_first_run_is_left_and_the_cursor_starts_at_the_newest(
    mailbox: Account, tmp_path: Path
) -> None:
    mailbox.append((FIXTURES / "question.eml").read_bytes(), flags="(\\Seen)")
    channel = _channel(mailbox, tmp_path)
    polled = asyncio.run(channel.poll(None))
    assert polled.messages == ()
    assert polled.cursor is not None
    _append(mailbox, "outlook_html.eml")
    assert [m.subject for m in asyncio.run(channel.poll(polled.cursor)).messages] == [
        "Geluidsoverlast café"
    ]


def test_a_renumbered_folder_falls_back_to_unread_mail(mailbox: Account, tmp_path: Path) -> None:
    _append(mailbox, "question.eml")
    channel = _channel(mailbox, tmp_path)
    polled = asyncio.run(channel.poll("1:999999"))  # another UIDVALIDITY
    assert len(polled.messages) == 1
    assert polled.cursor != "1:999999"


def test_more_than_a_batch_is_read_over_several_polls(mailbox: Account, tmp_path: Path) -> None:
    raw = (FIXTURES / "question.eml").read_bytes()
    for n in range(53):
        mailbox.append(raw.replace(b"<CAF3x9Lw7d2QwX1@", f"<n{n}@".encode()))
    channel = _channel(mailbox, tmp_path)
    first = asyncio.run(channel.poll(None))
    assert (len(first.messages), first.more) == (50, True)
    second = asyncio.run(channel.poll(first.cursor))
    assert (len(second.messages), second.more) == (3, False)
    ids = {m.external_id for m in first.messages + second.messages}
    assert len(ids) == 53


def test_a_message_over_the_size_limit_is_left_and_counted(
    mailbox: Account, tmp_path: Path
) -> None:
    big = (FIXTURES / "question.eml").read_bytes() + b"x" * 200_000 + b"\n"
    mailbox.append(big)
    _append(mailbox, "outlook_html.eml")
    channel = _channel(mailbox, tmp_path)
    channel.max_bytes = 100_000
    polled = asyncio.run(channel.poll(None))
    assert ([m.subject for m in polled.messages], polled.malformed) == (
        ["Geluidsoverlast café"],
        1,
    )


def test_acknowledging_nothing_touches_nothing(mailbox: Account, tmp_path: Path) -> None:
    _append(mailbox, "question.eml")
    asyncio.run(_channel(mailbox, tmp_path).acknowledge(Polled(messages=(), cursor=None)))
    assert [flags for _, flags in mailbox.folder()] == [set()]


def test_a_wrong_password_is_not_retried_and_a_dead_server_is(
    lone_dovecot: Dovecot, tmp_path: Path
) -> None:
    mailbox = lone_dovecot.account()
    with pytest.raises(ChannelError, match="login refused") as refused:
        asyncio.run(_channel(mailbox, tmp_path, password="wrong").poll(None))
    assert refused.value.retry is False
    dead = Account(mailbox.host, closed_port(), mailbox.user, mailbox.password)
    with pytest.raises(ChannelError) as down:
        asyncio.run(_channel(dead, tmp_path).poll(None))
    assert down.value.retry is True


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_tls_checks_the_servers_certificate(
    tls_dovecot: Dovecot, tmp_path: Path, security: Literal["starttls", "ssl"]
) -> None:
    mailbox = tls_dovecot.account()
    _append(mailbox, "question.eml")
    assert tls_dovecot.tls is not None
    secret = tmp_path / "imap.password"
    secret.write_text(mailbox.password)
    port = tls_dovecot.ssl_port if security == "ssl" else tls_dovecot.port
    trusted = ImapSettings(
        host="127.0.0.1", port=port, security=security, user=mailbox.user,
        password_file=secret, ca_file=tls_dovecot.tls[0],
    )  # fmt: skip
    polled = asyncio.run(EmailChannel(trusted, SMTP, InboxSettings()).poll(None))
    assert [m.subject for m in polled.messages] == ["Kapotte lantaarnpaal Kerkstraat"]
    # Without the certificate's CA the connection is refused before the password is sent.
    untrusted = trusted.model_copy(update={"ca_file": None})
    with pytest.raises(ChannelError, match="certificate") as refused:
        asyncio.run(EmailChannel(untrusted, SMTP, InboxSettings()).poll(None))
    assert refused.value.retry is False
