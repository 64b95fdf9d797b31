"""Mastodon and Bluesky wired to the real case service and reply sender: a mention becomes a
case, the out-of-hours reply is posted under it (a direct message answered directly), and the
citizen's reply to our reply joins the same case."""

from __future__ import annotations

import asyncio
import copy
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from stadspuls.cases.outbox import ReplySender
from stadspuls.cases.service import CaseService
from stadspuls.channels.bluesky import BlueskyChannel
from stadspuls.channels.mastodon import MastodonChannel
from stadspuls.channels.poller import poll_once
from stadspuls.sealed import Sealer
from stadspuls.settings import BlueskyAccountSettings, MastodonAccountSettings, Settings
from stadspuls.store import channel_cursors
from stadspuls.store.schema import case_messages, cases
from tests.support.bluesky_server import HANDLE, PASSWORD, BlueskyAccount
from tests.support.http import serve
from tests.support.inbox import department
from tests.support.mastodon_account_server import TOKEN, MastodonAccount

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "channels"
SUNDAY = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)  # the desk is closed: an automatic reply


def _service(engine: sa.Engine, settings: Settings) -> CaseService:
    department(engine, "algemeen", "Algemeen")
    return CaseService(engine, settings, sealer=Sealer(os.urandom(32)), clock=lambda: SUNDAY)


def _counts(engine: sa.Engine) -> tuple[int, int]:
    with engine.connect() as conn:
        opened = conn.execute(sa.select(sa.func.count()).select_from(cases)).scalar_one()
        incoming = conn.execute(
            sa.select(sa.func.count())
            .select_from(case_messages)
            .where(case_messages.c.direction == "in")
        ).scalar_one()
    return int(opened), int(incoming)


def test_a_direct_message_on_mastodon_is_answered_directly_and_the_answer_joins_its_case(
    engine: sa.Engine, settings: Settings, tmp_path: Path
) -> None:
    """On SQLite and PostgreSQL."""
    notifications: list[dict[str, Any]] = json.loads(
        (FIXTURES / "mastodon_notifications.json").read_text()
    )
    server = MastodonAccount(notifications)
    service = _service(engine, settings)
    token = tmp_path / "token"
    token.write_text(TOKEN)
    channel_cursors.save(engine, "mastodon", "402")  # only the direct message (403) is new

    async def scenario() -> None:
        async with serve(server.app) as url:
            channel = MastodonChannel(
                MastodonAccountSettings(base_url=url, access_token_file=token),
                clock=lambda: SUNDAY,
                conversations=service.find_conversation,
            )
            await poll_once(channel, engine, service.receive)
            assert _counts(engine) == (1, 1)
            assert await ReplySender(service, {"mastodon": channel}).send_due() == {"sent": 1}
            posted = server.posted[-1]  # a long reply is a thread: Bert answers its last part
            assert all(p["sent"]["visibility"] == "direct" for p in server.posted)
            assert server.posted[0]["sent"]["in_reply_to_id"] == "113580000000000403"
            host = url.split("//")[1].split(":")[0]  # a local account: @user@our-instance
            assert posted["sent"]["status"].startswith(f"@bert_demo@{host} ")
            # Bert answers our reply.
            answer = copy.deepcopy(next(n for n in notifications if n["id"] == "403"))
            answer["id"] = "407"
            answer["status"]["id"] = "113580000000000407"
            answer["status"]["uri"] = "https://mastodon.test/users/bert_demo/statuses/407"
            answer["status"]["in_reply_to_id"] = posted["id"]
            answer["status"]["content"] = "<p>@gemeente Het gaat om de schutting.</p>"
            server.add(answer)
            await poll_once(channel, engine, service.receive)
            assert _counts(engine) == (1, 2)
            await channel.close()

    asyncio.run(scenario())


def test_a_mention_on_bluesky_is_answered_in_its_thread_and_the_answer_joins_its_case(
    engine: sa.Engine, settings: Settings, tmp_path: Path
) -> None:
    """On SQLite and PostgreSQL."""
    body = json.loads((FIXTURES / "bluesky_notifications.json").read_text())
    notifications: list[dict[str, Any]] = body["notifications"]
    mention = next(n for n in notifications if n["reason"] == "mention" and "text" in n["record"])
    server = BlueskyAccount([mention])
    service = _service(engine, settings)
    secret = tmp_path / "app-password"
    secret.write_text(PASSWORD)
    channel_cursors.save(engine, "bluesky", "2026-12-01T08:00:00.000Z|")

    async def scenario() -> None:
        async with serve(server.app) as url:
            channel = BlueskyChannel(
                BlueskyAccountSettings(service=url, handle=HANDLE, app_password_file=secret),
                clock=lambda: SUNDAY,
                conversations=service.find_conversation,
            )
            await poll_once(channel, engine, service.receive)
            assert _counts(engine) == (1, 1)
            assert await ReplySender(service, {"bluesky": channel}).send_due() == {"sent": 1}
            record = server.records[-1]  # a thread of more than 300 graphemes: its last part
            post = server.records[0]["record"]
            assert post["text"].startswith("@lisa-demo.bsky.social ")
            assert post["reply"]["parent"]["uri"] == mention["uri"]
            answer = copy.deepcopy(mention)
            answer["uri"] = mention["uri"].replace("3lcmention1a2", "3lcanswer8y8")
            answer["reason"] = "reply"
            answer["indexedAt"] = "2026-12-06T12:05:00.000Z"
            answer["record"]["text"] = "Het is de leuning aan de kant van het water."
            answer["record"].pop("facets")
            answer["record"]["reply"] = {
                "root": {"uri": mention["uri"], "cid": mention["cid"]},
                "parent": {"uri": record["uri"], "cid": record["cid"]},
            }
            server.notifications.append(answer)
            await poll_once(channel, engine, service.receive)
            assert _counts(engine) == (1, 2)
            await channel.close()

    asyncio.run(scenario())
