"""Alert e-mails over SMTP: a plain-text message in Dutch and English with the alert's numbers,
terms, places, evidence and a link to the dashboard.

smtplib runs in a worker thread with a socket timeout: one slow mail server holds one thread,
never the event loop.
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import make_msgid

import msgspec

from stadspuls import smtp as smtp_session
from stadspuls.alerts.rules import LOCAL
from stadspuls.alerts.webhook import ChannelError, SendError
from stadspuls.records import Alert
from stadspuls.settings import SmtpSettings
from stadspuls.store.outbox import Delivery

_KIND_NL = {"opened": "nieuw", "updated": "ernstiger"}


def compose(delivery: Delivery, *, sender: str, link: str) -> EmailMessage:
    alert = msgspec.json.decode(delivery.payload, type=Alert)
    local = alert.opened_at.astimezone(LOCAL)
    kind_nl = _KIND_NL.get(delivery.kind, delivery.kind)
    message = EmailMessage()
    message["Subject"] = (
        f"[Stadspuls] {alert.severity.upper()} {alert.detector} #{alert.id}: "
        f"{alert.summary or 'alert'}"
    )[:250]
    message["From"] = sender
    message["To"] = delivery.target
    # The same id on every retry, so a mail client shows a re-sent alert once.
    message["Message-ID"] = make_msgid(f"stadspuls.{delivery.id}")
    message["X-Stadspuls-Delivery"] = str(delivery.id)
    terms = ", ".join(alert.top_terms) or "-"
    places = ", ".join(alert.top_places) or "-"
    posts = "\n".join(f"  - {post_id}" for post_id in alert.post_ids) or "  -"
    message.set_content(
        f"""Stadspuls-melding ({kind_nl}) / Stadspuls alert ({delivery.kind})

{alert.summary}

Monitor:                   {alert.monitor_id}
Detector:                  {alert.detector}{f" ({alert.key})" if alert.key else ""}
Ernst / severity:          {alert.severity}
Status / state:            {alert.state}
Geopend / opened:          {local:%Y-%m-%d %H:%M} (Europe/Amsterdam), \
{alert.opened_at:%Y-%m-%d %H:%M} UTC
Waargenomen / observed:    {alert.observed:g}
Verwacht / expected:       {alert.expected:g}
Meldingen / triggers:      {alert.triggers}
Termen / terms:            {terms}
Plaatsen / places:         {places}

Bewijs / evidence: posts van monitor {alert.monitor_id} tussen / between
  {alert.started_at.isoformat()} en / and {alert.updated_at.isoformat()}
Voorbeeldposts (gepseudonimiseerde ids) / representative posts (pseudonymised ids):
{posts}

Openen / open: {link}
"""
    )
    return message


class EmailSender:
    def __init__(self, smtp: SmtpSettings | None) -> None:
        self.smtp = smtp
        self.password: str | None = None
        self.tls: ssl.SSLContext | None = None
        if smtp is not None and smtp.starttls:
            # smtplib's own default context does not check the certificate: this one does.
            try:
                self.tls = ssl.create_default_context(cafile=smtp.ca_file)
            except OSError as error:
                raise ChannelError(f"smtp: cannot read ca_file {smtp.ca_file}: {error}") from error
        if smtp is not None and smtp.password_file is not None:
            try:
                self.password = smtp.password_file.read_text().strip()
            except OSError as error:
                raise ChannelError(
                    f"smtp: cannot read password_file {smtp.password_file}: {error}"
                ) from error

    async def send(self, delivery: Delivery, link: str) -> None:
        if self.smtp is None:
            raise ChannelError("an e-mail alert needs an [smtp] server in the settings")
        message = compose(delivery, sender=self.smtp.sender, link=link)
        await asyncio.to_thread(self._send, message)

    def _send(self, message: EmailMessage) -> None:
        smtp = self.smtp
        assert smtp is not None
        try:
            smtp_session.send(smtp, message, tls=self.tls, password=self.password)
        except (OSError, smtplib.SMTPException) as error:
            raise SendError(f"smtp {smtp.host}:{smtp.port}: {error}") from error
