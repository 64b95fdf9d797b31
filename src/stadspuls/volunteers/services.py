"""The volunteer services, built once with their keys: the web, the CLI and the runner use the
same construction, so a key is created in one place (on first use, mode 0600)."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Callable
from datetime import datetime
from email.message import EmailMessage
from typing import NamedTuple

import sqlalchemy as sa

from stadspuls import smtp as smtp_session
from stadspuls.enrich.pseudonymise import load_or_create_key
from stadspuls.sealed import Sealer
from stadspuls.settings import Settings
from stadspuls.volunteers.callouts import CallOutService
from stadspuls.volunteers.registry import SendMail, VolunteerService
from stadspuls.volunteers.select import Selector


class Services(NamedTuple):
    volunteers: VolunteerService
    callouts: CallOutService
    selector: Selector


def build_services(
    engine: sa.Engine,
    settings: Settings,
    *,
    send_mail: SendMail | None = None,
    clock: Callable[[], datetime] | None = None,
) -> Services:
    """(VolunteerService, CallOutService, Selector) over `engine`, with the volunteers' sealing
    and index keys (created on first run beside the pseudonymisation key unless configured).
    Mail goes through `send_mail`, else the [smtp] server of the settings (none: no mail)."""
    if send_mail is None:
        send_mail = mail_sender(settings)
    sealer = Sealer(load_or_create_key(settings.volunteer_key_path, "volunteer sealing"))
    index_key = load_or_create_key(settings.volunteer_index_key_path, "volunteer index")
    volunteers = VolunteerService(
        engine, settings, sealer=sealer, index_key=index_key, send_mail=send_mail, clock=clock
    )
    selector = Selector(engine, settings, sealer=sealer, index_key=index_key)
    callouts = CallOutService(
        engine,
        settings,
        selector=selector,
        link_key=index_key,
        clock=clock,
        volunteers=volunteers,
    )
    return Services(volunteers, callouts, selector)


def mail_sender(settings: Settings) -> SendMail | None:
    """Send one e-mail through the configured SMTP server (stadspuls.smtp: STARTTLS with a
    checking context, login), raising smtplib's or the socket's error; None without [smtp]."""
    smtp = settings.smtp
    if smtp is None:
        return None
    tls = ssl.create_default_context(cafile=smtp.ca_file) if smtp.starttls else None
    password = smtp.password_file.read_text().strip() if smtp.password_file else None

    def send(message: EmailMessage) -> None:
        if "From" not in message:
            message["From"] = smtp.sender
        smtp_session.send(smtp, message, tls=tls, password=password)

    return send


# What a send raises that is worth another try later (the server busy, down, or unreachable);
# a refused recipient (SMTPRecipientsRefused, 5xx) is not.
def mail_retryable(error: BaseException) -> bool:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code < 500 for code, _ in error.recipients.values())
    if isinstance(error, smtplib.SMTPResponseException):
        return error.smtp_code < 500
    return isinstance(error, (OSError, smtplib.SMTPException))
