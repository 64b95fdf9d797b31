"""The organisation's mailbox: new messages polled over IMAP, replies sent over SMTP.

imaplib and smtplib are the standard library's and run in a worker thread with socket
timeouts: a slow mail server holds one thread, never the event loop.

Which messages are new. The cursor is "UIDVALIDITY:UID", the highest UID handled: the next poll
asks for UIDs above it. Without a cursor (the first run) or when the server renumbered the
folder (a new UIDVALIDITY), the unread (UNSEEN) messages are taken. Messages are read with
BODY.PEEK, so reading alone changes nothing on the server; only after the cursor is stored does
`acknowledge` flag them \\Seen and move them to the done folder. A crash before that leaves
them in the inbox; a crash in between leaves them unread in the inbox, behind the cursor,
never received twice.

What is skipped: automatic mail (auto-replies, bounces, lists: see mail_parse) is moved to the
done folder without opening a case. A message that cannot be read (no sender, an unknown
charset, too large) is logged, counted as malformed and left in the inbox for a person.
"""

from __future__ import annotations

import asyncio
import contextlib
import imaplib
import logging
import smtplib
import ssl
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import msgspec

from stadspuls import smtp as smtp_session
from stadspuls.cases.records import AcceptedMedia, InboundMessage
from stadspuls.channels import imap_protocol as imap_p
from stadspuls.channels.base import (
    ChannelError,
    Conversations,
    OutboundReply,
    Polled,
    link_replies,
)
from stadspuls.channels.mail_parse import (
    CHANNEL,
    Attachment,
    MailError,
    ParsedMail,
    answers,
    automatic,
    parse,
    to_inbound,
)
from stadspuls.media.errors import MediaRejected
from stadspuls.media.intake import MediaIntake
from stadspuls.records import utcnow
from stadspuls.settings import ImapSettings, InboxSettings, SmtpSettings

log = logging.getLogger(__name__)

BATCH = 50  # messages fetched per poll; the rest waits for the next (Polled.more)
TIMEOUT_S = 30.0  # one IMAP command; a server that says nothing this long is down


def message_id(reply: OutboundReply, domain: str) -> str:
    """Stable per outbox row: a retry is recognisably the same message, and the citizen's
    answer names the case in In-Reply-To."""
    return f"<case-{reply.case_id}.msg-{reply.message_id}@{domain}>"


def reply_subject(reply: OutboundReply) -> str:
    subject = " ".join(reply.subject.split()) or reply.reference
    if not subject.lower().startswith(("re:", "antw:")):
        subject = f"Re: {subject}"
    if reply.reference and reply.reference not in subject:
        subject = f"{subject} [{reply.reference}]"
    return subject[:250]


def compose(reply: OutboundReply, *, sender: str, now: datetime) -> EmailMessage:
    if not reply.contact.email:
        raise ChannelError(f"case {reply.case_id}: no e-mail address to answer", retry=False)
    domain = sender.rpartition("@")[2]
    mail = EmailMessage()
    mail["From"] = sender
    try:
        mail["To"] = Address(display_name=reply.contact.name or "", addr_spec=reply.contact.email)
    except (ValueError, IndexError) as error:
        raise ChannelError(
            f"case {reply.case_id}: bad e-mail address: {error}", retry=False
        ) from error
    mail["Subject"] = reply_subject(reply)
    mail["Date"] = format_datetime(now)
    mail["Message-ID"] = message_id(reply, domain)
    answered = reply.contact.reply_to
    if answered and answered.startswith("<") and answered.endswith(">"):
        mail["In-Reply-To"] = answered
        mail["References"] = answered
    mail["Content-Language"] = reply.language
    mail["X-Stadspuls-Case"] = reply.reference
    if reply.auto_reply:
        # RFC 3834: responders must not answer this; Exchange honours its own header.
        mail["Auto-Submitted"] = "auto-replied"
        mail["X-Auto-Response-Suppress"] = "All"
    mail.set_content(reply.text)
    return mail


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(data), 1 << 16):
        yield data[start : start + (1 << 16)]


class EmailChannel:
    name = CHANNEL

    def __init__(
        self,
        imap: ImapSettings | None,
        smtp: SmtpSettings,
        inbox: InboxSettings,
        *,
        media: MediaIntake | None = None,
        clock: Callable[[], datetime] = utcnow,
        conversations: Conversations | None = None,
    ) -> None:
        self.conversations = conversations
        # Without a mailbox the channel only sends: answers to web reports that left an
        # e-mail address.
        self.imap_settings = imap
        self.smtp = smtp
        self.media = media
        self.clock = clock
        self.sender = (imap.reply_from if imap else None) or smtp.sender
        self.domains = tuple({a.rpartition("@")[2] for a in (self.sender, smtp.sender)})
        # A message carrying the largest report we take, base64-encoded (4/3) with headroom.
        self.max_bytes = int(inbox.max_file_mb * 1024 * 1024 * max(inbox.max_files, 1) * 1.4)
        self.max_files = inbox.max_files
        self.password = (
            _read_secret(imap.password_file, "imap password_file") if imap is not None else ""
        )
        self.smtp_password = (
            _read_secret(smtp.password_file, "smtp password_file")
            if smtp.password_file is not None
            else None
        )
        self.imap_tls = (
            _tls(imap.ca_file, "imap") if imap is not None and imap.security != "none" else None
        )
        self.smtp_tls = _tls(smtp.ca_file, "smtp") if smtp.starttls else None

    @property
    def imap(self) -> ImapSettings:
        if self.imap_settings is None:
            raise ChannelError(
                "no [inbox.imap] mailbox: this e-mail channel only sends", retry=False
            )
        return self.imap_settings

    # -- in ---------------------------------------------------------------------------------

    async def poll(self, cursor: str | None) -> Polled:
        if self.imap_settings is None:
            return Polled(messages=(), cursor=cursor)
        validity, fetched, last_uid, more, too_large = await asyncio.to_thread(
            self._fetch, imap_p.parse_cursor(cursor)
        )
        messages: list[tuple[InboundMessage, list[str]]] = []
        handled: list[str] = []
        malformed = too_large
        skipped = 0
        for uid, raw in fetched:
            where = f"{self.imap.folder} UID {uid}"
            try:
                mail = parse(raw)
                reason = automatic(mail, (self.sender, self.smtp.sender))
                if reason is not None:
                    log.info("e-mail %s: automatic message (%s), no case", where, reason)
                    skipped += 1
                    handled.append(f"{validity}:{uid}")
                    continue
                parsed = to_inbound(
                    mail,
                    fallback_id=f"imap:{validity}:{uid}",
                    received_at=self.clock(),
                    our_domains=self.domains,
                )
            except MailError as error:
                log.warning("e-mail %s: not readable, left in the inbox: %s", where, error)
                malformed += 1
                continue
            messages.append((await self._with_media(parsed), answers(mail)))
            handled.append(f"{validity}:{uid}")
        return Polled(
            messages=await link_replies(messages, self.conversations),
            cursor=f"{validity}:{last_uid}",
            malformed=malformed,
            skipped=skipped,
            handled=tuple(handled),
            more=more,
        )

    async def _with_media(self, parsed: ParsedMail) -> InboundMessage:
        accepted: list[AcceptedMedia] = []
        refused: list[str] = []
        for index, attachment in enumerate(parsed.attachments):
            if self.media is None or index >= self.max_files:
                refused.append(attachment.filename or attachment.content_type)
                continue
            try:
                accepted.append(await self._accept(attachment))
            except MediaRejected as error:
                refused.append(f"{attachment.filename or attachment.content_type}: {error.nl}")
        notes = []
        if refused:
            notes.append(f"{len(refused)} bijlage(n) niet verwerkt: " + "; ".join(refused))
        if parsed.other_attachments:
            notes.append(f"{parsed.other_attachments} bijlage(n) zonder foto of video genegeerd")
        message = parsed.message
        text = message.text
        if notes:
            text = (text + "\n\n" if text else "") + "\n".join(f"[{n}]" for n in notes)
        return msgspec.structs.replace(message, text=text, media=tuple(accepted))

    async def _accept(self, attachment: Attachment) -> AcceptedMedia:
        assert self.media is not None
        return await self.media.accept(
            _chunks(attachment.data),
            filename=attachment.filename,
            declared_type=attachment.content_type,
        )

    def _fetch(
        self, cursor: tuple[int, int] | None
    ) -> tuple[int, list[tuple[int, bytes]], int, bool, int]:
        with self._session() as client:
            imap_p.ok(
                client.select(imap_p.quote_mailbox(self.imap.folder), readonly=True),
                "select",
            )
            validity = imap_p.number(client, "UIDVALIDITY")
            uid_next = imap_p.number(client, "UIDNEXT", default=0)
            if cursor is not None and cursor[0] == validity:
                after = cursor[1]
                found = imap_p.uids(client.uid("SEARCH", f"UID {after + 1}:*"))
                # "n:*" always names the last message, even when its UID is below n.
                uids = sorted(uid for uid in found if uid > after)
            else:
                after = max(uid_next - 1, 0)
                uids = sorted(imap_p.uids(client.uid("SEARCH", "UNSEEN")))
                # Unread mail that arrived before the first run is taken; the cursor moves to
                # the newest message so the next poll asks for what is newer.
            batch, more = uids[:BATCH], len(uids) > BATCH
            fetched: list[tuple[int, bytes]] = []
            too_large = 0
            if batch:
                sizes = imap_p.sizes(client.uid("FETCH", imap_p.uid_set(batch), "(RFC822.SIZE)"))
                for uid in batch:
                    if sizes.get(uid, 0) > self.max_bytes:
                        log.warning(
                            "e-mail UID %s: %s bytes is larger than the %s we take; left in the "
                            "inbox",
                            uid,
                            sizes[uid],
                            self.max_bytes,
                        )
                        too_large += 1
                        continue
                    raw = imap_p.body(client.uid("FETCH", str(uid), "(BODY.PEEK[])"))
                    if raw is not None:
                        fetched.append((uid, raw))
            last = batch[-1] if batch else after
            if not more and cursor is None:
                last = max(last, after)
            return validity, fetched, last, more, too_large

    async def acknowledge(self, polled: Polled) -> None:
        if polled.handled:
            await asyncio.to_thread(self._tidy, polled.handled)

    def _tidy(self, handled: tuple[str, ...]) -> None:
        with self._session() as client:
            imap_p.ok(client.select(imap_p.quote_mailbox(self.imap.folder)), "select")
            validity = imap_p.number(client, "UIDVALIDITY")
            uids = [
                int(uid)
                for v, _, uid in (item.partition(":") for item in handled)
                if v == str(validity) and uid.isdigit()
            ]
            if not uids:
                return
            uid_set = imap_p.uid_set(uids)
            imap_p.ok(client.uid("STORE", uid_set, "+FLAGS.SILENT", r"(\Seen)"), "store")
            if self.imap.done_folder is None:
                return
            target = imap_p.quote_mailbox(self.imap.done_folder)
            client.create(target)  # "already exists" is an answer, not a failure
            if "MOVE" in client.capabilities:
                imap_p.ok(client.uid("MOVE", uid_set, target), "move")
            else:
                imap_p.ok(client.uid("COPY", uid_set, target), "copy")
                imap_p.ok(client.uid("STORE", uid_set, "+FLAGS.SILENT", r"(\Deleted)"), "store")
                imap_p.ok(client.expunge(), "expunge")

    def _session(self) -> _Session:
        return _Session(self)

    def _connect(self) -> imaplib.IMAP4:
        imap = self.imap
        try:
            client: imaplib.IMAP4
            if imap.security == "ssl":
                client = imaplib.IMAP4_SSL(
                    imap.host, imap.port, ssl_context=self.imap_tls, timeout=TIMEOUT_S
                )
            else:
                client = imaplib.IMAP4(imap.host, imap.port, timeout=TIMEOUT_S)
                if imap.security == "starttls":
                    client.starttls(ssl_context=self.imap_tls)
        except ssl.SSLCertVerificationError as error:
            raise ChannelError(f"imap {imap.host}: certificate: {error}", retry=False) from error
        except (OSError, imaplib.IMAP4.error) as error:
            raise ChannelError(f"imap {imap.host}:{imap.port}: {error}") from error
        try:
            client.login(imap.user, self.password)
        except imaplib.IMAP4.abort as error:
            raise ChannelError(f"imap {imap.host}: {error}") from error
        except imaplib.IMAP4.error as error:
            _close(client)
            raise ChannelError(f"imap {imap.host}: login refused: {error}", retry=False) from error
        except OSError as error:
            raise ChannelError(f"imap {imap.host}: {error}") from error
        return client

    # -- out --------------------------------------------------------------------------------

    async def send(self, reply: OutboundReply) -> str:
        mail = compose(reply, sender=self.sender, now=self.clock())
        await asyncio.to_thread(self._send, mail)
        return str(mail["Message-ID"])

    def _send(self, mail: EmailMessage) -> None:
        smtp = self.smtp
        where = f"smtp {smtp.host}:{smtp.port}"
        try:
            smtp_session.send(smtp, mail, tls=self.smtp_tls, password=self.smtp_password)
        except smtplib.SMTPAuthenticationError as error:
            raise ChannelError(f"{where}: login refused: {error}", retry=False) from error
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _ in error.recipients.values()]
            permanent = all(code >= 500 for code in codes)
            raise ChannelError(
                f"{where}: recipient refused: {error}", retry=not permanent
            ) from error
        except smtplib.SMTPResponseException as error:
            raise ChannelError(f"{where}: {error}", retry=error.smtp_code < 500) from error
        except ssl.SSLCertVerificationError as error:
            raise ChannelError(f"{where}: certificate: {error}", retry=False) from error
        except (OSError, smtplib.SMTPException) as error:
            raise ChannelError(f"{where}: {error}") from error

    async def close(self) -> None:
        return None


class _Session:
    """A logged-in IMAP connection for one poll or one tidy-up; errors become ChannelError."""

    def __init__(self, channel: EmailChannel) -> None:
        self.channel = channel
        self.client: imaplib.IMAP4 | None = None

    def __enter__(self) -> imaplib.IMAP4:
        self.client = self.channel._connect()
        return self.client

    def __exit__(self, kind: object, error: object, trace: object) -> None:
        if self.client is not None:
            _close(self.client)
        if isinstance(error, ChannelError):
            return
        host = self.channel.imap.host
        if isinstance(error, imaplib.IMAP4.abort | OSError):
            raise ChannelError(f"imap {host}: {error}") from error
        if isinstance(error, imaplib.IMAP4.error):
            raise ChannelError(f"imap {host}: {error}", retry=False) from error


def _close(client: imaplib.IMAP4) -> None:
    with contextlib.suppress(OSError, imaplib.IMAP4.error):
        client.logout()


def _read_secret(path: Path, what: str) -> str:
    try:
        return path.read_text().strip()
    except OSError as error:
        raise ChannelError(f"cannot read {what} {path}: {error}", retry=False) from error


def _tls(ca_file: Path | None, what: str) -> ssl.SSLContext:
    # The default context checks the server's certificate (smtplib's and imaplib's own
    # defaults for STARTTLS do not).
    try:
        return ssl.create_default_context(cafile=ca_file)
    except OSError as error:
        raise ChannelError(
            f"{what}: cannot read ca_file {ca_file}: {error}", retry=False
        ) from error
