"""Recorded e-mails to the case service's messages: text, sender, threading, attachments, and
the automatic mail that must never open a case."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from stadspuls.channels.mail_parse import (
    MailError,
    ParsedMail,
    answers,
    automatic,
    parse,
    to_inbound,
    without_quote,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "channels"
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
OURS = ("gemeente.test",)


def _inbound(name: str) -> ParsedMail:
    mail = parse((FIXTURES / name).read_bytes())
    assert automatic(mail) is None
    return to_inbound(mail, fallback_id="imap:1:1", received_at=NOW, our_domains=OURS)


def test_a_plain_question_gives_subject_text_and_the_sender_to_answer() -> None:
    parsed = _inbound("question.eml")
    message = parsed.message
    assert message.channel == "email"
    assert message.external_id == "<CAF3x9Lw7d2QwX1@mail.example.nl>"
    assert message.subject == "Kapotte lantaarnpaal Kerkstraat"
    assert "brandt al een week niet. 's Avonds is het daar erg donker" in message.text
    assert message.contact.name == "Jan de Vries"
    assert message.contact.email == "j.devries@example.nl"
    assert message.contact.reply_to == "<CAF3x9Lw7d2QwX1@mail.example.nl>"
    assert message.in_reply_to_case is None
    assert message.received_at == NOW
    assert parsed.attachments == ()


def test_html_only_mail_becomes_text_without_script_or_style() -> None:
    message = _inbound("outlook_html.eml").message
    assert message.subject == "Geluidsoverlast café"
    assert message.contact.name == "Fatima El Amrani"
    assert "Het café op het Marktplein maakt nu al uren lawaai." in message.text
    assert "Wie kan daar iets aan doen?" in message.text
    assert "alert" not in message.text
    assert "margin" not in message.text
    assert "<" not in message.text


def test_a_reply_to_our_reply_names_the_case_and_drops_the_quote() -> None:
    message = _inbound("reply.eml").message
    assert message.in_reply_to_case == 123
    assert message.text == "Dank u wel. Het gaat om de paal aan de kant van de bakkerij."


def test_our_message_id_from_another_domain_does_not_name_a_case() -> None:
    mail = parse((FIXTURES / "reply.eml").read_bytes())
    parsed = to_inbound(mail, fallback_id="x", received_at=NOW, our_domains=("elders.test",))
    assert parsed.message.in_reply_to_case is None


def test_photos_are_handed_over_and_other_attachments_counted() -> None:
    parsed = _inbound("photos.eml")
    assert [a.filename for a in parsed.attachments] == ["IMG_4031.jpg", "IMG_4032.jpg"]
    assert all(a.data.startswith(b"\xff\xd8\xff") for a in parsed.attachments)
    assert all(a.content_type == "image/jpeg" for a in parsed.attachments)
    assert parsed.other_attachments == 1  # the PDF
    assert parsed.message.text.startswith("Hierbij twee foto's van de brand")


@pytest.mark.parametrize(
    ("name", "reason"),
    [("out_of_office.eml", "Auto-Submitted: auto-replied"), ("bounce.eml", "Auto-Submitted")],
)
def test_auto_replies_and_bounces_are_automatic(name: str, reason: str) -> None:
    found = automatic(parse((FIXTURES / name).read_bytes()))
    assert found is not None
    assert found.startswith(reason)


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ("Precedence: bulk\n", "Precedence: bulk"),
        ("Precedence: list\n", "Precedence: list"),
        ("X-Autoreply: yes\n", "X-Autoreply"),
        ("Return-Path: <>\n", "null sender (bounce)"),
        ("", None),
        ("Auto-Submitted: no\n", None),
    ],
)
def test_automatic_mail_by_its_headers(headers: str, reason: str | None) -> None:
    raw = f"From: a@example.nl\n{headers}Subject: x\n\nhallo\n".encode()
    assert automatic(parse(raw)) == reason


def test_the_mailer_daemon_is_automatic_even_without_headers() -> None:
    raw = b"From: Mailer-Daemon@mx.example.net\nSubject: failure\n\nbounced\n"
    assert automatic(parse(raw)) == "from Mailer-Daemon@mx.example.net"


def test_a_message_without_sender_or_readable_body_is_malformed() -> None:
    mail = parse((FIXTURES / "malformed.eml").read_bytes())
    with pytest.raises(MailError, match="no sender address"):
        to_inbound(mail, fallback_id="x", received_at=NOW, our_domains=OURS)
    unknown_charset = parse(
        b"From: a@example.nl\nContent-Type: text/plain; charset=x-nope\n\nhallo\n"
    )
    with pytest.raises(MailError, match="unreadable body"):
        to_inbound(unknown_charset, fallback_id="x", received_at=NOW, our_domains=OURS)
    empty = parse(b"From: a@example.nl\n\n\n")
    with pytest.raises(MailError, match="no text"):
        to_inbound(empty, fallback_id="x", received_at=NOW, our_domains=OURS)


def test_without_message_id_the_imap_position_is_the_id_and_reply_to_wins() -> None:
    raw = b"From: Jan <jan@example.nl>\nReply-To: thuis@example.nl\nSubject: vraag\n\nhoi\n"
    parsed = to_inbound(parse(raw), fallback_id="imap:7:42", received_at=NOW, our_domains=OURS)
    assert parsed.message.external_id == "imap:7:42"
    assert parsed.message.contact.email == "thuis@example.nl"
    assert parsed.message.contact.name == "Jan"
    assert parsed.message.contact.reply_to is None


def test_quotes_are_cut_in_english_and_dutch_and_a_fully_quoted_text_is_kept() -> None:
    assert without_quote("Yes.\n\nOn Mon, 1 Dec 2026 Gemeente wrote:\n> hi") == "Yes."
    assert without_quote("Ja\n-----Oorspronkelijk bericht-----\nVan: x") == "Ja"
    assert without_quote("> alleen een citaat") == "> alleen een citaat"


def test_the_message_answered_is_named_for_the_conversation_lookup() -> None:
    raw = (
        b"From: a@example.nl\nIn-Reply-To: <rewritten.1@relay.example>\n"
        b"References: <first@example.nl> <rewritten.1@relay.example>\nSubject: x\n\nja\n"
    )
    assert answers(parse(raw)) == ["<rewritten.1@relay.example>", "<first@example.nl>"]
    assert answers(parse(b"From: a@example.nl\nSubject: x\n\nja\n")) == []


def test_our_own_reply_coming_back_is_automatic() -> None:
    raw = b"From: Gemeente <Meldingen@gemeente.test>\nSubject: Re: x\n\nons antwoord\n"
    assert automatic(parse(raw), ("meldingen@gemeente.test",)) == "from our own address"
    assert automatic(parse(raw)) is None


def test_a_question_in_the_subject_alone_and_an_absurd_message_id() -> None:
    raw = b"From: a@example.nl\nSubject: Wanneer wordt het grofvuil opgehaald?\nMessage-ID: <"
    raw += b"x" * 600 + b"@example.nl>\n\n\n"
    message = to_inbound(parse(raw), fallback_id="imap:1:9", received_at=NOW, our_domains=OURS)
    assert message.message.text == "Wanneer wordt het grofvuil opgehaald?"
    assert message.message.external_id == "imap:1:9"
