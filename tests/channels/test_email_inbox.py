"""The e-mail channel wired to the real case service, end to end: a question from a real IMAP
mailbox becomes a case and gets the out-of-hours reply by SMTP, threaded under the question;
the citizen's answer to that reply joins the same case; the citizen's out-of-office does not
open one (no mail loop)."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import sqlalchemy as sa

from stadspuls.cases.outbox import ReplySender
from stadspuls.cases.service import CaseService
from stadspuls.channels.email import EmailChannel
from stadspuls.channels.poller import poll_once
from stadspuls.sealed import Sealer
from stadspuls.settings import ImapSettings, Settings, SmtpSettings
from stadspuls.store.schema import case_messages, cases
from tests.support.imap_server import Account
from tests.support.inbox import department
from tests.support.smtp_server import SmtpInbox

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "channels"
SUNDAY = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)  # the desk is closed


def _counts(engine: sa.Engine) -> tuple[int, int]:
    with engine.connect() as conn:
        opened = conn.execute(sa.select(sa.func.count()).select_from(cases)).scalar_one()
        incoming = conn.execute(
            sa.select(sa.func.count())
            .select_from(case_messages)
            .where(case_messages.c.direction == "in")
        ).scalar_one()
    return int(opened), int(incoming)


def test_a_question_by_e_mail_is_answered_and_the_answer_finds_its_case(
    mailbox: Account,
    smtp_server: tuple[SmtpInbox, int],
    engine: sa.Engine,
    settings: Settings,
    tmp_path: Path,
) -> None:
    """On SQLite and PostgreSQL."""
    server, port = smtp_server
    secret = tmp_path / "imap.password"
    secret.write_text(mailbox.password)
    imap = ImapSettings(
        host=mailbox.host, port=mailbox.port, security="none", user=mailbox.user,
        password_file=secret, reply_from="meldingen@gemeente.test",
    )  # fmt: skip
    smtp = SmtpSettings(host="127.0.0.1", port=port, starttls=False, sender="m@gemeente.test")
    config = settings.model_copy(update={"smtp": smtp})
    service = CaseService(engine, config, sealer=Sealer(os.urandom(32)), clock=lambda: SUNDAY)
    department(engine, "algemeen", "Algemeen")
    channel = EmailChannel(
        imap, smtp, config.inbox, clock=lambda: SUNDAY, conversations=service.find_conversation
    )
    sender = ReplySender(service, {"email": channel})

    mailbox.append((FIXTURES / "question.eml").read_bytes())
    asyncio.run(poll_once(channel, engine, service.receive))
    assert _counts(engine) == (1, 1)
    assert asyncio.run(sender.send_due()) == {"sent": 1}
    (auto,) = server.messages
    assert server.recipients == [["j.devries@example.nl"]]
    assert auto["In-Reply-To"] == "<CAF3x9Lw7d2QwX1@mail.example.nl>"
    assert str(auto["Message-ID"]).startswith("<case-")
    assert str(auto["Message-ID"]).endswith("@gemeente.test>")
    assert "SP-" in str(auto["Subject"])

    # The citizen answers the reply from their mail program: the same case, a second message.
    answer = EmailMessage()
    answer["From"] = "Jan de Vries <j.devries@example.nl>"
    answer["To"] = "meldingen@gemeente.test"
    answer["Subject"] = f"Re: {auto['Subject']}"
    answer["Message-ID"] = "<answer-2@mail.example.nl>"
    answer["In-Reply-To"] = str(auto["Message-ID"])
    answer["References"] = f"<CAF3x9Lw7d2QwX1@mail.example.nl> {auto['Message-ID']}"
    answer.set_content("Het is de paal bij de bakkerij.")
    mailbox.append(answer.as_bytes())
    # Their out-of-office answering our reply opens nothing.
    out_of_office = (FIXTURES / "out_of_office.eml").read_bytes()
    mailbox.append(
        out_of_office.replace(b"<case-124.msg-457@gemeente.test>", auto["Message-ID"].encode())
    )
    polled = asyncio.run(poll_once(channel, engine, service.receive))
    assert (len(polled.messages), polled.skipped) == (1, 1)
    assert _counts(engine) == (1, 2)
    assert mailbox.folder() == []  # both handled, moved to the done folder


def test_the_out_of_hours_reply_is_marked_automatic(
    mailbox: Account, smtp_server: tuple[SmtpInbox, int], sqlite_url: str, settings: Settings,
    tmp_path: Path,
) -> None:  # fmt: skip
    from stadspuls.store.database import open_store

    engine = open_store(sqlite_url)
    server, port = smtp_server
    secret = tmp_path / "imap.password"
    secret.write_text(mailbox.password)
    imap = ImapSettings(
        host=mailbox.host, port=mailbox.port, security="none", user=mailbox.user,
        password_file=secret,
    )  # fmt: skip
    smtp = SmtpSettings(host="127.0.0.1", port=port, starttls=False, sender="m@gemeente.test")
    config = settings.model_copy(update={"smtp": smtp})
    service = CaseService(engine, config, sealer=Sealer(os.urandom(32)), clock=lambda: SUNDAY)
    department(engine, "algemeen", "Algemeen")
    channel = EmailChannel(imap, smtp, config.inbox, clock=lambda: SUNDAY)
    mailbox.append((FIXTURES / "question.eml").read_bytes())
    asyncio.run(poll_once(channel, engine, service.receive))
    asyncio.run(ReplySender(service, {"email": channel}).send_due())
    engine.dispose()
    # Marked automatic, so that the citizen's own auto-responder does not answer it.
    (auto,) = server.messages
    assert auto["Auto-Submitted"] == "auto-replied"
    assert auto["X-Auto-Response-Suppress"] == "All"
