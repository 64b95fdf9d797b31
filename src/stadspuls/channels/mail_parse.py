"""From the bytes of one e-mail to what the case service needs: pure functions, no network, so
that they are tested on recorded messages (STYLE.md habit 4).

What is never a case: automatic mail. An out-of-office reply, a bounce or a list's message that
opened a case would get our own automatic reply, whose answer opens the next case: a mail loop.
RFC 3834 (Auto-Submitted), the de-facto `Precedence: bulk|junk|list`, the null sender of
delivery reports (RFC 3464) and the mailer-daemon's address are checked.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage, Message

import msgspec

from stadspuls.cases.records import Contact, InboundMessage
from stadspuls.sources.markup import html_to_text

CHANNEL = "email"
# Our own Message-IDs name the case they belong to: <case-123.msg-456@gemeente.nl>.
OUR_MESSAGE_ID = re.compile(r"<case-(\d{1,18})\.msg-\d{1,18}@([^>\s]+)>")
_MESSAGE_IDS = re.compile(r"<[^<>\s]{1,500}>")
_AUTOMATIC_PRECEDENCE = frozenset({"bulk", "junk", "list", "auto_reply"})
_DAEMONS = re.compile(r"^(mailer-daemon|postmaster|mail-daemon)@", re.IGNORECASE)
# Headers auto-responders set besides (or instead of) Auto-Submitted.
_AUTORESPONDER_HEADERS = ("X-Autoreply", "X-Autorespond", "X-Auto-Reply-From")
# A reply quotes what it answers: keep the citizen's new words only. The attribution line
# ("Op 1 dec. 2026 om 10:00 schreef …:", "On … wrote:") and the quoted lines after it go.
_ATTRIBUTION = re.compile(r"^\s*(op|on)\b.{0,200}\b(schreef|wrote)\b.{0,200}:\s*$", re.IGNORECASE)
_ORIGINAL = re.compile(r"^\s*-{2,}\s*(original message|oorspronkelijk bericht)", re.IGNORECASE)
MAX_TEXT = 20_000  # characters kept of a message's text; the rest is cut with a note
MAX_ID = 500  # the case service's limit for a channel's message id


class MailError(ValueError):
    """A message that cannot be read as a question (counted as malformed, left in the inbox)."""


class Attachment(msgspec.Struct, frozen=True, kw_only=True):
    filename: str
    content_type: str  # as declared by the sender (the media intake checks the content)
    data: bytes


class ParsedMail(msgspec.Struct, frozen=True, kw_only=True):
    message: InboundMessage
    attachments: tuple[Attachment, ...] = ()
    other_attachments: int = 0  # not a photo or video: not taken


def parse(raw: bytes) -> EmailMessage:
    parsed: Message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(parsed, EmailMessage)  # policy.default makes EmailMessage
    return parsed


def automatic(mail: EmailMessage, ours: Sequence[str] = ()) -> str | None:
    """Why this message was sent by a machine (and must not open a case), or None. `ours`: our
    own sending addresses (our own reply coming back, through a forward or a list, is no
    citizen's question)."""
    submitted = str(mail.get("Auto-Submitted", "")).strip().lower()
    if submitted and not submitted.startswith("no"):
        return f"Auto-Submitted: {submitted}"
    precedence = str(mail.get("Precedence", "")).strip().lower()
    if precedence in _AUTOMATIC_PRECEDENCE:
        return f"Precedence: {precedence}"
    for header in _AUTORESPONDER_HEADERS:
        if header in mail:
            return header
    if mail.get_content_type() == "multipart/report":
        return "delivery or read report"
    return_path = str(mail.get("Return-Path", "")).strip()
    if return_path == "<>":
        return "null sender (bounce)"
    sender = _address(mail, "From")
    if sender is not None and _DAEMONS.match(sender[1]):
        return f"from {sender[1]}"
    if sender is not None and sender[1].lower() in {a.lower() for a in ours}:
        return "from our own address"
    return None


def case_in_reply(mail: EmailMessage, our_domains: Sequence[str]) -> int | None:
    """The case named by one of our own Message-IDs that this message answers."""
    domains = {domain.lower() for domain in our_domains}
    ids = f"{mail.get('In-Reply-To', '')} {mail.get('References', '')}"
    for match in reversed(list(OUR_MESSAGE_ID.finditer(ids))):
        if match.group(2).lower() in domains:
            return int(match.group(1))
    return None


def answers(mail: EmailMessage) -> list[str]:
    """The Message-IDs this message answers, nearest first: In-Reply-To, then References from
    the newest back to the citizen's first message (which names the case even when a mail
    server rewrote our Message-ID)."""
    found: list[str] = []
    references = _MESSAGE_IDS.findall(_header(mail, "References"))
    for message_id in _MESSAGE_IDS.findall(_header(mail, "In-Reply-To")) + references[::-1]:
        if message_id not in found:
            found.append(message_id)
    return found[:20]


def to_inbound(
    mail: EmailMessage,
    *,
    fallback_id: str,
    received_at: datetime,
    our_domains: Sequence[str],
    media_types: Sequence[str] = ("image/", "video/"),
) -> ParsedMail:
    """The case service's message for one e-mail, and the attachments the media intake should
    check. Raises MailError for a message without a sender address or readable text."""
    sender = _address(mail, "From")
    if sender is None:
        raise MailError("no sender address in From")
    reply_address = _address(mail, "Reply-To")
    name = sender[0]
    subject = _header(mail, "Subject")
    text = _text(mail)
    attachments: list[Attachment] = []
    others = 0
    for part in mail.iter_attachments():
        assert isinstance(part, EmailMessage)
        content_type = part.get_content_type()
        if part.is_multipart() or not content_type.startswith(tuple(media_types)):
            others += 1
            continue
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes) or not payload:
            others += 1
            continue
        attachments.append(
            Attachment(filename=part.get_filename() or "", content_type=content_type, data=payload)
        )
    if not text.strip() and not subject and not attachments:
        raise MailError("no text, subject or attachment")
    message_id = _header(mail, "Message-ID")
    if len(message_id) > MAX_ID or "\x00" in message_id:
        message_id = ""  # not a real one: the mailbox position identifies the message
    if not text.strip():
        text = subject  # a question asked in the subject line alone
    return ParsedMail(
        message=InboundMessage(
            channel=CHANNEL,
            external_id=message_id if message_id else fallback_id,
            received_at=received_at,
            subject=subject[:300],
            text=text,
            contact=Contact(
                name=name or None,
                email=(reply_address or sender)[1],
                reply_to=message_id or None,
            ),
            in_reply_to_case=case_in_reply(mail, our_domains),
        ),
        attachments=tuple(attachments),
        other_attachments=others,
    )


def without_quote(text: str) -> str:
    """The new words of a reply, without the quoted message below the attribution line."""
    kept: list[str] = []
    for line in text.splitlines():
        if _ATTRIBUTION.match(line) or _ORIGINAL.match(line):
            break
        if line.lstrip().startswith(">"):
            continue
        kept.append(line)
    return "\n".join(kept).strip() or text.strip()


def _text(mail: EmailMessage) -> str:
    body = mail.get_body(preferencelist=("plain", "html"))
    if body is None:
        return ""
    try:
        content = body.get_content()
    except (LookupError, UnicodeError, ValueError, KeyError) as error:
        # An unknown charset or a broken transfer encoding: no text we can trust.
        raise MailError(f"unreadable body: {error}") from error
    if not isinstance(content, str):
        raise MailError("the body is not text")
    text = html_to_text(content) if body.get_content_type() == "text/html" else content
    text = without_quote(text.replace("\r\n", "\n"))
    if len(text) > MAX_TEXT:
        text = text[:MAX_TEXT] + "\n[…]"
    return text


def _header(mail: EmailMessage, name: str) -> str:
    try:
        value = mail.get(name)
    except (ValueError, IndexError, TypeError):
        return ""  # a header the parser cannot even read (the stdlib raises on a few)
    return " ".join(str(value).split()) if value is not None else ""


def _address(mail: EmailMessage, header: str) -> tuple[str, str] | None:
    try:
        value = mail.get(header)
        addresses = getattr(value, "addresses", ()) if value is not None else ()
    except (ValueError, IndexError, TypeError):
        return None
    for found in addresses:
        spec = str(found.addr_spec)
        if "@" in spec and found.domain and found.username:
            return str(found.display_name or ""), spec
    return None
