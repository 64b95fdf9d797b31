"""Replies by e-mail through a real SMTP server (aiosmtpd): headers that thread the reply under
the citizen's message, a Message-ID that names the case and is the same on a retry, the
automatic reply marked as such, and the citizen's answer to it finding its case again."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import pytest

from stadspuls.cases.records import Contact
from stadspuls.channels.base import ChannelError, OutboundReply
from stadspuls.channels.email import EmailChannel, reply_subject
from stadspuls.channels.mail_parse import parse, to_inbound
from stadspuls.settings import ImapSettings, InboxSettings, SmtpSettings
from tests.support.http import closed_port
from tests.support.smtp_server import SmtpInbox

NOW = datetime(2026, 12, 1, 10, 5, tzinfo=UTC)


def _channel(tmp_path: Path, port: int) -> EmailChannel:
    secret = tmp_path / "imap.password"
    secret.write_text("x\n")
    imap = ImapSettings(
        host="127.0.0.1",
        port=closed_port(),
        security="none",
        user="meldingen",
        password_file=secret,
        reply_from="meldingen@gemeente.test",
    )
    smtp = SmtpSettings(host="127.0.0.1", port=port, starttls=False, sender="noreply@gemeente.test")
    return EmailChannel(imap, smtp, InboxSettings(), clock=lambda: NOW)


def _reply(**changes: object) -> OutboundReply:
    values: dict[str, object] = {
        "message_id": 456,
        "case_id": 123,
        "reference": "SP-2026-000123",
        "channel": "email",
        "contact": Contact(
            name="Jan de Vries",
            email="j.devries@example.nl",
            reply_to="<CAF3x9Lw7d2QwX1@mail.example.nl>",
        ),
        "subject": "Kapotte lantaarnpaal Kerkstraat",
        "text": "Beste Jan de Vries,\n\nBedankt voor uw melding. We kijken ernaar.",
    }
    values.update(changes)
    return OutboundReply(**values)  # type: ignore[arg-type]


def test_a_reply_is_threaded_and_names_its_case(
    smtp_server: tuple[SmtpInbox, int], tmp_path: Path
) -> None:
    server, port = smtp_server
    channel = _channel(tmp_path, port)
    sent = asyncio.run(channel.send(_reply()))
    assert sent == "<case-123.msg-456@gemeente.test>"
    (message,) = server.messages
    assert server.recipients == [["j.devries@example.nl"]]
    assert message["From"] == "meldingen@gemeente.test"
    assert message["To"] == "Jan de Vries <j.devries@example.nl>"
    assert message["Subject"] == "Re: Kapotte lantaarnpaal Kerkstraat [SP-2026-000123]"
    assert message["Message-ID"] == sent
    assert message["In-Reply-To"] == "<CAF3x9Lw7d2QwX1@mail.example.nl>"
    assert message["References"] == "<CAF3x9Lw7d2QwX1@mail.example.nl>"
    assert message["Date"] == "Tue, 01 Dec 2026 10:05:00 +0000"
    assert "Auto-Submitted" not in message
    assert message.get_content().startswith("Beste Jan de Vries,")

    # The citizen answers from their mail program: the answer finds case 123 again.
    answer = EmailMessage()
    answer["From"] = "Jan de Vries <j.devries@example.nl>"
    answer["To"] = str(message["From"])
    answer["Subject"] = f"Re: {message['Subject']}"
    answer["Message-ID"] = "<answer-1@mail.example.nl>"
    answer["In-Reply-To"] = str(message["Message-ID"])
    answer["References"] = f"{message['References']} {message['Message-ID']}"
    answer.set_content("Het is de paal bij de bakkerij.\n\n> Bedankt voor uw melding.")
    inbound = to_inbound(
        parse(answer.as_bytes()), fallback_id="x", received_at=NOW, our_domains=channel.domains
    ).message
    assert inbound.in_reply_to_case == 123
    assert inbound.text == "Het is de paal bij de bakkerij."


def test_a_retry_of_the_same_outbox_row_is_the_same_message(
    smtp_server: tuple[SmtpInbox, int], tmp_path: Path
) -> None:
    server, port = smtp_server
    channel = _channel(tmp_path, port)
    first = asyncio.run(channel.send(_reply()))
    second = asyncio.run(channel.send(_reply()))
    other = asyncio.run(channel.send(_reply(message_id=457)))
    assert first == second != other
    assert [m["Message-ID"] for m in server.messages] == [first, first, other]


def test_the_out_of_hours_reply_is_marked_automatic(
    smtp_server: tuple[SmtpInbox, int], tmp_path: Path
) -> None:
    server, port = smtp_server
    asyncio.run(_channel(tmp_path, port).send(_reply(auto_reply=True)))
    (message,) = server.messages
    assert message["Auto-Submitted"] == "auto-replied"
    assert message["X-Auto-Response-Suppress"] == "All"


def test_a_refused_recipient_is_not_retried_and_a_dead_server_is(
    smtp_server: tuple[SmtpInbox, int], tmp_path: Path
) -> None:
    _server, port = smtp_server
    unknown = _reply(contact=Contact(email="onbekend@example.nl"))
    with pytest.raises(ChannelError, match="recipient refused") as refused:
        asyncio.run(_channel(tmp_path, port).send(unknown))
    assert refused.value.retry is False
    with pytest.raises(ChannelError) as down:
        asyncio.run(_channel(tmp_path, closed_port()).send(_reply()))
    assert down.value.retry is True


def test_a_case_without_an_address_cannot_be_answered_by_e_mail(tmp_path: Path) -> None:
    channel = _channel(tmp_path, closed_port())
    with pytest.raises(ChannelError, match="no e-mail address") as error:
        asyncio.run(channel.send(_reply(contact=Contact(name="Anoniem"))))
    assert error.value.retry is False


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Vraag", "Re: Vraag [SP-2026-000123]"),
        ("Re: Vraag [SP-2026-000123]", "Re: Vraag [SP-2026-000123]"),
        ("  Antw:  Vraag ", "Antw: Vraag [SP-2026-000123]"),
        ("", "Re: SP-2026-000123"),
    ],
)
def test_the_subject_says_re_and_the_reference_once(subject: str, expected: str) -> None:
    assert reply_subject(_reply(subject=subject)) == expected
