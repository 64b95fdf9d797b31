"""One SMTP session: connect with a timeout, STARTTLS with the caller's (checking) context, log
in, send. Alert e-mails and the inbox's replies both go through it; each caller turns the
failures smtplib raises into its own errors."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage

from stadspuls.settings import SmtpSettings


def send(
    smtp: SmtpSettings,
    message: EmailMessage,
    *,
    tls: ssl.SSLContext | None,
    password: str | None,
) -> None:
    with smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout_s) as client:
        if smtp.starttls:
            client.starttls(context=tls)
        if smtp.user is not None:
            client.login(smtp.user, password or "")
        client.send_message(message)
