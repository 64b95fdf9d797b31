"""The inbox inside `stadspuls run` (replies sent, old cases purged, until stopped) and the
`stadspuls cases` commands on a real database."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from click.testing import CliRunner

from stadspuls.cases.records import AcceptedMedia, InboundMessage
from stadspuls.cases.runner import build_service, run_inbox
from stadspuls.cli.main import main
from stadspuls.media.vault import Vault
from stadspuls.records import User, utcnow
from stadspuls.settings import InboxSettings, Settings
from stadspuls.store import users
from stadspuls.store.database import open_store
from stadspuls.store.schema import cases
from tests.cases.conftest import ALICE
from tests.cases.test_outbox import FakeChannel
from tests.support.inbox import ALWAYS, department


def _message(external_id: str, text: str = "De stoep is kapot.") -> InboundMessage:
    return InboundMessage(
        channel="email", external_id=external_id, received_at=utcnow(), text=text,
        language="nl", contact=ALICE,
    )  # fmt: skip


def test_the_runner_sends_queued_replies_and_purges(settings: Settings) -> None:
    engine = open_store(settings.db_url)
    user = users.create_user(engine, User(username="ann", role="analyst"), password_hash=None)
    desk = department(engine, "algemeen", "Algemeen", hours=ALWAYS, members=("ann",))
    assert desk.id is not None
    service = build_service(engine, settings)
    ann = users.actor_of(user, "token")
    case_id = service.receive(_message("<1@x>")).case_id
    service.reply(ann, case_id, body="Wij repareren het.")
    old = service.receive(_message("<2@x>")).case_id
    service.set_state(ann, old, "closed")
    with engine.begin() as conn:  # closed six years ago
        long_ago = datetime.now(UTC) - timedelta(days=6 * 365)
        conn.execute(
            cases.update()
            .where(cases.c.id == old)
            .values(closed_us=int(long_ago.timestamp() * 1_000_000))
        )
    email = FakeChannel("email")

    async def run() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(run_inbox(engine, settings, stop, channels={"email": email}))
        for _ in range(200):
            if email.sent:
                break
            await asyncio.sleep(0.05)
        stop.set()
        await asyncio.wait_for(task, 10)

    asyncio.run(run())
    assert [(r.case_id, r.contact.email) for r in email.sent] == [(case_id, ALICE.email)]
    with engine.connect() as conn:
        assert list(conn.execute(sa.select(cases.c.id)).scalars()) == [case_id]
    engine.dispose()


def test_cases_commands(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    env = {"STADSPULS_KEY_FILE": str(tmp_path / "key")}
    runner = CliRunner()
    empty = runner.invoke(main, ["cases", "list", "--db", url], env=env)
    assert empty.exit_code == 0, empty.output
    assert "no cases" in empty.output
    engine = open_store(url)
    settings = Settings(db_url=url, key_file=tmp_path / "key")
    department(engine, "algemeen", "Algemeen", hours=ALWAYS)
    receipt = build_service(engine, settings).receive(_message("<1@x>", "Losse stoeptegel"))
    engine.dispose()

    listed = runner.invoke(main, ["cases", "list", "--db", url], env=env)
    assert listed.exit_code == 0, listed.output
    assert receipt.reference in listed.output
    assert "Losse stoeptegel" in listed.output
    as_json = runner.invoke(main, ["cases", "list", "--json", "--db", url], env=env)
    assert json.loads(as_json.output.splitlines()[0])["reference"] == receipt.reference

    shown = runner.invoke(main, ["cases", "show", str(receipt.case_id), "--db", url], env=env)
    assert shown.exit_code == 0, shown.output
    assert "route:" in shown.output
    assert "routed" in shown.output
    assert "alice.jansen@example.nl" not in shown.output  # contact details: not on the CLI
    missing = runner.invoke(main, ["cases", "show", "999", "--db", url], env=env)
    assert missing.exit_code != 0
    assert "no case 999" in missing.output

    purged = runner.invoke(main, ["cases", "purge", "--db", url], env=env)
    assert purged.exit_code == 0, purged.output
    assert "deleted 0 closed cases" in purged.output


def test_purge_removes_vault_files_no_case_uses(tmp_path: Path) -> None:
    settings = Settings(
        db_url=f"sqlite:///{tmp_path / 's.db'}",
        key_file=tmp_path / "key",
        inbox=InboxSettings(media_dir=tmp_path / "media"),
    )
    engine = open_store(settings.db_url)
    user = users.create_user(engine, User(username="ann", role="analyst"), password_hash=None)
    department(engine, "algemeen", "Algemeen", hours=ALWAYS, members=("ann",))
    vault = Vault(settings.inbox.media_dir)
    photo = AcceptedMedia(sha256="c" * 64, size=3, content_type="image/jpeg", received_at=utcnow())
    original = vault.path_of(photo.sha256)
    original.parent.mkdir(parents=True)
    original.write_bytes(b"jpg")
    service = build_service(engine, settings)
    case_id = service.receive(
        InboundMessage(channel="web", external_id="s1", received_at=utcnow(), text="foto",
                       language="nl", media=(photo,))
    ).case_id  # fmt: skip
    service.set_state(users.actor_of(user, "token"), case_id, "closed")
    assert service.purge() == 0
    assert original.exists()
    with engine.begin() as conn:
        conn.execute(cases.update().values(closed_us=0))
    assert service.purge() == 1
    assert not original.exists()
    engine.dispose()
