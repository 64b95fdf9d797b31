"""`stadspuls volunteers counts` and `purge` on a real database, the reminders through a real
(local) SMTP server."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiosmtpd.controller import Controller
from click.testing import CliRunner

from stadspuls.cli.main import main
from stadspuls.enrich.pseudonymise import load_or_create_key
from stadspuls.sealed import Sealer
from stadspuls.settings import BlueskySettings, Settings
from stadspuls.store.database import open_store
from stadspuls.volunteers.records import Registration
from stadspuls.volunteers.registry import VolunteerService
from tests.support.http import closed_port
from tests.support.smtp_server import SmtpInbox

LONG_AGO = datetime.now(UTC) - timedelta(days=400)


def test_counts_and_purge(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    env = {"STADSPULS_KEY_FILE": str(tmp_path / "secrets" / "pseudonym.key")}
    settings = Settings(
        db_url=url, key_file=tmp_path / "secrets" / "pseudonym.key", mastodon=[], feeds=[],
        bluesky=BlueskySettings(enabled=False),
    )  # fmt: skip
    engine = open_store(url)
    mails: list[object] = []
    service = VolunteerService(
        engine,
        settings,
        sealer=Sealer(load_or_create_key(settings.volunteer_key_path, "volunteer sealing")),
        index_key=load_or_create_key(settings.volunteer_index_key_path, "volunteer index"),
        send_mail=mails.append,
        clock=lambda: LONG_AGO,
    )
    for name in ("ans", "bert"):
        service.register(
            Registration(name=name, email=f"{name}@example.org", postcode="8011", consent=True),
            base_url="https://x.example",
        )
    confirm = str(mails[0]).split("/vrijwilligers/bevestig/", 1)[1].split()[0]
    service.confirm(confirm)
    engine.dispose()

    runner = CliRunner()
    counts = runner.invoke(main, ["volunteers", "counts", "--json", "--db", url], env=env)
    assert counts.exit_code == 0, counts.output
    assert json.loads(counts.output) == {"pending": 1, "active": 1, "paused": 0}
    table = runner.invoke(main, ["volunteers", "counts", "--db", url], env=env).output
    assert "total" in table
    assert "ans" not in table

    inbox = SmtpInbox()
    port = closed_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        smtp_env = env | {
            "STADSPULS_SMTP__HOST": "127.0.0.1",
            "STADSPULS_SMTP__PORT": str(port),
            "STADSPULS_SMTP__STARTTLS": "false",
            "STADSPULS_SMTP__SENDER": "vrijwilligers@stad.example",
        }
        purged = runner.invoke(
            main,
            ["volunteers", "purge", "--base-url", "https://stad.example", "--db", url],
            env=smtp_env,
        )
    finally:
        controller.stop()
    assert purged.exit_code == 0, purged.output
    assert "deleted 1 unconfirmed registrations" in purged.output
    assert "reminded 1" in purged.output
    (reminder,) = inbox.messages
    assert inbox.recipients == [["ans@example.org"]]
    assert reminder["From"] == "vrijwilligers@stad.example"
    assert "https://stad.example/vrijwilligers/ik/" in reminder.get_content()
    after = runner.invoke(main, ["volunteers", "counts", "--json", "--db", url], env=env)
    assert json.loads(after.output) == {"pending": 0, "active": 1, "paused": 0}
