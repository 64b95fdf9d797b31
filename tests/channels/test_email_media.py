"""E-mail attachments through the media intake: photos become the message's media (original
in the vault under its SHA-256), a file that is no photo is named in the text with the
intake's reason, and the text of the message is kept either way."""

from __future__ import annotations

import asyncio
import hashlib
from email.message import EmailMessage
from pathlib import Path

from stadspuls.channels.email import EmailChannel
from stadspuls.channels.mail_parse import parse
from stadspuls.media.intake import MediaIntake
from stadspuls.settings import ImapSettings, InboxSettings, SmtpSettings
from tests.support.http import closed_port
from tests.support.imap_server import Account

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "channels"


def test_photos_reach_the_vault_and_a_fake_photo_is_named(mailbox: Account, tmp_path: Path) -> None:
    photos = (FIXTURES / "photos.eml").read_bytes()
    mailbox.append(photos)
    fake = EmailMessage()
    fake["From"] = "Kees <kees@example.nl>"
    fake["Subject"] = "Foto"
    fake["Message-ID"] = "<fake-photo@example.nl>"
    fake.set_content("Zie bijlage.")
    fake.add_attachment(
        b"<html><script>alert(1)</script></html>",
        maintype="image",
        subtype="jpeg",
        filename="foto.jpg",
    )
    mailbox.append(fake.as_bytes())
    secret = tmp_path / "imap.password"
    secret.write_text(mailbox.password)
    imap = ImapSettings(
        host=mailbox.host, port=mailbox.port, security="none", user=mailbox.user,
        password_file=secret,
    )  # fmt: skip
    inbox = InboxSettings(media_dir=tmp_path / "media", decode_workers=1)
    intake = MediaIntake(inbox)
    smtp = SmtpSettings(host="127.0.0.1", port=closed_port(), starttls=False)
    channel = EmailChannel(imap, smtp, inbox, media=intake)
    try:
        polled = asyncio.run(channel.poll(None))
    finally:
        asyncio.run(intake.close())
    with_photos, with_fake = polled.messages
    expected = [
        hashlib.sha256(part.get_payload(decode=True)).hexdigest()  # type: ignore[arg-type]
        for part in parse(photos).iter_attachments()
        if part.get_content_type() == "image/jpeg"
    ]
    assert [m.sha256 for m in with_photos.media] == expected
    assert [m.filename for m in with_photos.media] == ["IMG_4031.jpg", "IMG_4032.jpg"]
    assert all(m.content_type == "image/jpeg" for m in with_photos.media)
    assert (tmp_path / "media").exists()
    assert "niet verwerkt" not in with_photos.text
    assert "[1 bijlage(n) zonder foto of video genegeerd]" in with_photos.text
    assert with_fake.media == ()
    assert with_fake.text.startswith("Zie bijlage.")
    assert "[1 bijlage(n) niet verwerkt: foto.jpg: Dit bestand is geen foto of video" in (
        with_fake.text
    )
