"""A real SMTP server for tests (aiosmtpd's handler): keeps what it received, and refuses
recipients at `onbekend@` with 550, as a mail server refuses an unknown mailbox."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage

from aiosmtpd.smtp import SMTP, Envelope, Session


class SmtpInbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.recipients: list[list[str]] = []
        self.senders: list[str] = []

    async def handle_RCPT(
        self, _server: SMTP, _session: Session, envelope: Envelope, address: str, _options: object
    ) -> str:
        if address.startswith("onbekend@"):
            return "550 5.1.1 <onbekend@example.nl>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, _server: SMTP, _session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        self.recipients.append(list(envelope.rcpt_tos))
        self.senders.append(str(envelope.mail_from))
        return "250 Message accepted for delivery"
