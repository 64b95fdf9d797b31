"""The Mastodon channel: recorded notifications mapped to messages, and polling and replying
against a local server speaking the notifications and statuses API."""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest

from stadspuls.cases.records import Contact
from stadspuls.channels.base import ChannelError, OutboundReply, PayloadError
from stadspuls.channels.mastodon import MastodonChannel, mention_to_inbound
from stadspuls.settings import MastodonAccountSettings
from tests.support.http import serve
from tests.support.mastodon_account_server import TOKEN, MastodonAccount

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "channels"
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
T = TypeVar("T")


def _notifications(name: str = "mastodon_notifications.json") -> list[dict[str, Any]]:
    loaded: list[dict[str, Any]] = json.loads((FIXTURES / name).read_text())
    return loaded


def _by_id(notification_id: str) -> dict[str, Any]:
    return next(n for n in _notifications() if n["id"] == notification_id)


def test_a_recorded_mention_from_a_real_server() -> None:
    (recorded,) = _notifications("mastodon_py_notifications.json")
    message = mention_to_inbound(recorded, instance_host="localhost", received_at=NOW)
    assert message.channel == "mastodon"
    assert message.external_id == "http://localhost:3000/users/admin/statuses/109383669874296325"
    assert message.text == "hello!"  # our own @mention in front is dropped
    assert message.language == "en"
    assert message.contact == Contact(
        name="admin", handle="@admin@localhost", reply_to="109383669874296325"
    )


def test_a_remote_public_mention_and_a_direct_message_with_a_photo() -> None:
    public = mention_to_inbound(_by_id("401"), instance_host="mastodon.test", received_at=NOW)
    assert public.text == (
        "Er ligt al dagen een berg grofvuil bij de ingang van het Stadspark. Wie ruimt dat op?"
    )
    assert public.contact.handle == "@anna_demo@social.example"
    assert public.contact.name == "Anna 🚲"
    assert public.language == "nl"
    direct = mention_to_inbound(_by_id("403"), instance_host="mastodon.test", received_at=NOW)
    assert direct.text.startswith("Ik wil iets melden over mijn buurman, liever niet openbaar.\n")
    assert "[1 bijlage(n) op Mastodon, niet opgehaald: https://mastodon.test/system/" in direct.text
    assert direct.contact.handle == "@bert_demo@mastodon.test"
    assert direct.contact.name == "bert_demo"  # no display name: the username
    assert direct.contact.reply_to == "113580000000000403"


def test_a_notification_without_its_status_is_malformed() -> None:
    with pytest.raises(PayloadError, match="without status"):
        mention_to_inbound(_by_id("404"), instance_host="mastodon.test", received_at=NOW)


def _run(
    server: MastodonAccount,
    tmp_path: Path,
    scenario: Callable[[MastodonChannel], Awaitable[T]],
    *,
    token: str = TOKEN,
) -> T:
    secret = tmp_path / "mastodon.token"
    secret.write_text(token + "\n")

    async def run() -> T:
        async with serve(server.app) as url:
            settings = MastodonAccountSettings(base_url=url, access_token_file=secret)
            channel = MastodonChannel(settings, clock=lambda: NOW)
            try:
                return await scenario(channel)
            finally:
                await channel.close()

    return asyncio.run(run())


def test_polling_starts_from_now_then_reads_new_mentions_oldest_first(tmp_path: Path) -> None:
    server = MastodonAccount(_notifications())

    async def scenario(channel: MastodonChannel) -> list[Any]:
        first = await channel.poll(None)
        extra = copy.deepcopy(_by_id("401"))
        extra["id"] = "405"
        extra["status"]["id"] = "113580000000000405"
        extra["status"]["uri"] = "https://social.example/users/anna_demo/statuses/405"
        server.add(extra)
        second = await channel.poll(first.cursor)
        third = await channel.poll(second.cursor)
        return [first, second, third]

    first, second, third = _run(server, tmp_path, scenario)
    assert (first.messages, first.cursor) == ((), "404")
    assert [m.contact.reply_to for m in second.messages] == ["113580000000000405"]
    assert second.cursor == "405"
    assert third.messages == ()
    assert all(r["authorization"] == f"Bearer {TOKEN}" for r in server.requests)
    assert ("types[]", "mention") in server.requests[1]["query"]
    assert ("min_id", "404") in server.requests[1]["query"]


def test_a_backlog_is_read_page_by_page_through_the_link_header(tmp_path: Path) -> None:
    server = MastodonAccount(_notifications(), page_size=1)
    polled = _run(server, tmp_path, lambda channel: channel.poll("0"))
    assert [m.contact.reply_to for m in polled.messages] == [
        "113580000000000401",
        "113580000000000403",
    ]
    assert (polled.malformed, polled.cursor) == (1, "404")  # 404 has no status
    # Favourites are filtered by the server (types[]=mention); one page per mention, then the
    # empty page after the newest.
    assert [dict(r["query"]).get("min_id") for r in server.requests] == ["0", "401", "403", "404"]


def test_paging_stops_when_the_rate_limit_runs_low(tmp_path: Path) -> None:
    server = MastodonAccount(_notifications(), page_size=1)
    server.remaining = 4
    polled = _run(server, tmp_path, lambda channel: channel.poll("0"))
    assert len(server.requests) == 1
    assert [m.contact.reply_to for m in polled.messages] == ["113580000000000401"]
    assert polled.cursor == "401"


@pytest.mark.parametrize(("code", "retry"), [(500, True), (503, True), (401, False)])
def test_server_errors_are_retried_and_refusals_are_not(
    tmp_path: Path, code: int, retry: bool
) -> None:
    server = MastodonAccount(_notifications())
    server.fail = [code]
    with pytest.raises(ChannelError) as error:
        _run(server, tmp_path, lambda channel: channel.poll("0"))
    assert error.value.retry is retry


def test_a_wrong_token_is_refused_and_a_429_says_when_to_come_back(tmp_path: Path) -> None:
    server = MastodonAccount(_notifications(), clock=lambda: NOW)
    with pytest.raises(ChannelError, match="401") as refused:
        _run(server, tmp_path, lambda channel: channel.poll("0"), token="stale")
    assert refused.value.retry is False
    server.fail = [429]
    with pytest.raises(ChannelError, match="rate limited") as limited:
        _run(server, tmp_path, lambda channel: channel.poll("0"))
    assert limited.value.retry is True
    assert limited.value.retry_after_s == 30.0  # X-RateLimit-Reset, 30 s after "now"


def _reply(text: str, reply_to: str = "113580000000000403", message_id: int = 77) -> OutboundReply:
    return OutboundReply(
        message_id=message_id,
        case_id=5,
        reference="SP-2026-000005",
        channel="mastodon",
        contact=Contact(handle="@bert_demo@mastodon.test", reply_to=reply_to),
        subject="",
        text=text,
    )


def test_a_reply_to_a_direct_message_stays_direct_and_a_retry_posts_once(tmp_path: Path) -> None:
    server = MastodonAccount(_notifications())

    async def scenario(channel: MastodonChannel) -> tuple[str, str]:
        reply = _reply("Dank voor uw bericht. Een medewerker neemt contact met u op.")
        return await channel.send(reply), await channel.send(reply)

    first, again = _run(server, tmp_path, scenario)
    assert first == again
    (posted,) = server.posted
    assert posted["sent"] == {
        "status": "@bert_demo@mastodon.test Dank voor uw bericht. Een medewerker neemt contact "
        "met u op.",
        "in_reply_to_id": "113580000000000403",
        "visibility": "direct",
        "language": "nl",
    }
    keys = [r["idempotency_key"] for r in server.requests if r["method"] == "POST"]
    assert keys == ["stadspuls-77-1", "stadspuls-77-1"]


def test_a_public_mention_gets_a_public_reply_and_a_long_reply_becomes_a_thread(
    tmp_path: Path,
) -> None:
    server = MastodonAccount(_notifications())
    sentences = " ".join(f"Dit is zin nummer {n} van een lang antwoord." for n in range(40))
    first = _run(server, tmp_path, lambda c: c.send(_reply(sentences, "113580000000000401")))
    sent = [p["sent"] for p in server.posted]
    assert len(sent) == 4
    assert all(len(s["status"]) <= 500 for s in sent)
    assert all(s["visibility"] == "public" for s in sent)
    assert [s["status"].rsplit(" ", 1)[1] for s in sent] == ["(1/4)", "(2/4)", "(3/4)", "(4/4)"]
    assert all(s["status"].startswith("@bert_demo@mastodon.test Dit is zin") for s in sent)
    # Each part answers the previous one: a thread under the citizen's mention.
    parents = [s["in_reply_to_id"] for s in sent]
    assert parents == ["113580000000000401", *[p["id"] for p in server.posted[:-1]]]
    assert first == server.posted[0]["id"]
    words = " ".join(s["status"].split(" ", 1)[1].rsplit(" ", 1)[0] for s in sent)
    assert words == sentences


def test_a_deleted_mention_cannot_be_answered(tmp_path: Path) -> None:
    server = MastodonAccount(_notifications())
    with pytest.raises(ChannelError, match="404") as error:
        _run(server, tmp_path, lambda channel: channel.send(_reply("Hallo", "999")))
    assert error.value.retry is False
    assert server.posted == []


def test_a_mention_answering_our_reply_is_linked_to_its_case(tmp_path: Path) -> None:
    server = MastodonAccount(_notifications())
    sent: dict[tuple[str, str], int] = {}

    def conversations(channel: str, external_id: str) -> int | None:
        return sent.get((channel, external_id))

    async def scenario(channel: MastodonChannel) -> Any:
        channel.conversations = conversations
        ours = await channel.send(_reply("Kunt u zeggen waar precies?", "113580000000000401"))
        sent[("mastodon", ours)] = 5
        answer = copy.deepcopy(_by_id("401"))
        answer["id"] = "406"
        answer["status"]["id"] = "113580000000000406"
        answer["status"]["uri"] = "https://social.example/users/anna_demo/statuses/406"
        answer["status"]["in_reply_to_id"] = ours
        server.add(answer)
        return await channel.poll("404")

    polled = _run(server, tmp_path, scenario)
    assert [m.in_reply_to_case for m in polled.messages] == [5]


def test_an_answer_to_a_later_part_of_our_thread_is_linked_through_its_ancestors(
    tmp_path: Path,
) -> None:
    server = MastodonAccount(_notifications())
    sent: dict[tuple[str, str], int] = {}

    async def scenario(channel: MastodonChannel) -> Any:
        channel.conversations = lambda name, external_id: sent.get((name, external_id))
        long = " ".join(f"Dit is zin {n} van ons antwoord." for n in range(30))
        ours = await channel.send(_reply(long, "113580000000000401"))
        assert len(server.posted) > 1
        sent[("mastodon", ours)] = 8  # the service knows the first part only
        answer = copy.deepcopy(_by_id("401"))
        answer["id"] = "408"
        answer["status"]["id"] = "113580000000000408"
        answer["status"]["uri"] = "https://social.example/users/anna_demo/statuses/408"
        answer["status"]["in_reply_to_id"] = server.posted[-1]["id"]
        server.add(answer)
        return await channel.poll("404")

    polled = _run(server, tmp_path, scenario)
    assert [m.in_reply_to_case for m in polled.messages] == [8]
    assert any(r["path"].endswith("/context") for r in server.requests)


def test_an_unreadable_thread_leaves_the_mention_unlinked_but_received(tmp_path: Path) -> None:
    server = MastodonAccount(_notifications())

    async def scenario(channel: MastodonChannel) -> Any:
        channel.conversations = lambda name, external_id: None
        answer = copy.deepcopy(_by_id("401"))
        answer["id"] = "409"
        answer["status"]["id"] = "113580000000000409"
        answer["status"]["uri"] = "https://social.example/users/anna_demo/statuses/409"
        answer["status"]["in_reply_to_id"] = "999"  # gone: /context answers 404
        server.add(answer)
        return await channel.poll("404")

    polled = _run(server, tmp_path, scenario)
    assert [m.in_reply_to_case for m in polled.messages] == [None]
