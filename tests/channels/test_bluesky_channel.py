"""The Bluesky channel: notifications in the lexicon's shape mapped to messages, and sessions,
polling and replying against a local XRPC server."""

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
from stadspuls.channels.bluesky import BlueskyChannel, notification_to_inbound
from stadspuls.channels.split import graphemes, split_text
from stadspuls.settings import BlueskyAccountSettings
from tests.support.bluesky_server import DID, HANDLE, PASSWORD, BlueskyAccount
from tests.support.http import serve

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "channels"
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
T = TypeVar("T")
MENTION = "at://did:plc:lisademo7abc3k2q5x6ypz/app.bsky.feed.post/3lcmention1a2"
REPLY = "at://did:plc:omardemo2mnb8v4c7x1zqw/app.bsky.feed.post/3lcreply22b7"


def _notifications() -> list[dict[str, Any]]:
    body = json.loads((FIXTURES / "bluesky_notifications.json").read_text())
    found: list[dict[str, Any]] = body["notifications"]
    return found


def _by_uri(uri: str) -> dict[str, Any]:
    return next(n for n in _notifications() if n["uri"] == uri)


def test_a_mention_loses_our_handle_and_starts_its_own_thread() -> None:
    message = notification_to_inbound(_by_uri(MENTION), received_at=NOW)
    assert message.channel == "bluesky"
    assert message.external_id == MENTION
    assert message.text == "Op de Vondelbrug is de leuning kapot, gevaarlijk voor kinderen!"
    assert message.language == "nl"
    assert message.contact.name == "Lisa de Jong"
    assert message.contact.handle == "@lisa-demo.bsky.social"
    assert message.contact.reply_to is not None
    address = json.loads(message.contact.reply_to)
    cid = _by_uri(MENTION)["cid"]
    assert address == {
        "uri": MENTION,
        "cid": cid,
        "root_uri": MENTION,
        "root_cid": cid,
        "did": "did:plc:lisademo7abc3k2q5x6ypz",
    }


def test_a_reply_to_our_post_keeps_the_thread_root_and_names_its_photo() -> None:
    message = notification_to_inbound(_by_uri(REPLY), received_at=NOW)
    assert message.text.startswith("Geldt dat ook voor de milieustraat?")
    assert f"[1 foto('s) op Bluesky, niet opgehaald: {REPLY}]" in message.text
    assert message.contact.name == "omar-demo.bsky.social"  # no display name
    assert message.contact.reply_to is not None
    address = json.loads(message.contact.reply_to)
    assert address["root_uri"] == f"at://{DID}/app.bsky.feed.post/3lcgemeente2a"
    assert address["uri"] == REPLY


def test_a_notification_without_handle_or_text_is_malformed() -> None:
    broken = next(n for n in _notifications() if n["uri"].endswith("3lcbroken55e6"))
    with pytest.raises(PayloadError, match="without did/handle"):
        notification_to_inbound(broken, received_at=NOW)


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("abc", 3),
        ("e\u0301", 1),  # e + combining acute
        ("👨\u200d👩\u200d👧", 1),  # a family joined by ZWJ
        ("🇳🇱🇧🇪", 2),  # two flags
        ("👍🏽", 1),  # skin tone
        ("❤\ufe0f", 1),  # variation selector
    ],
)
def test_graphemes_are_counted_as_people_see_them(text: str, count: int) -> None:
    assert graphemes(text) == count


def test_a_long_text_splits_at_sentences_and_numbers_its_parts() -> None:
    text = " ".join(f"Zin {n} is kort genoeg." for n in range(30))
    parts = split_text(text, limit=100, count=graphemes)
    assert all(graphemes(p) <= 100 for p in parts)
    assert all(p.rsplit(" ", 1)[0].endswith(".") for p in parts)
    assert " ".join(p.rsplit(" ", 1)[0] for p in parts) == text
    assert split_text("kort", limit=100) == ["kort"]


def _run(
    server: BlueskyAccount,
    tmp_path: Path,
    scenario: Callable[[BlueskyChannel], Awaitable[T]],
    *,
    password: str = PASSWORD,
) -> T:
    secret = tmp_path / "bluesky.password"
    secret.write_text(password + "\n")

    async def run() -> T:
        async with serve(server.app) as url:
            settings = BlueskyAccountSettings(service=url, handle=HANDLE, app_password_file=secret)
            channel = BlueskyChannel(settings, clock=lambda: NOW)
            try:
                return await scenario(channel)
            finally:
                await channel.close()

    return asyncio.run(run())


def test_polling_starts_from_now_then_reads_what_is_new(tmp_path: Path) -> None:
    server = BlueskyAccount(_notifications())

    async def scenario(channel: BlueskyChannel) -> list[Any]:
        first = await channel.poll(None)
        new = copy.deepcopy(_by_uri(MENTION))
        new["uri"] = MENTION.replace("3lcmention1a2", "3lcmention9z9")
        new["indexedAt"] = "2026-12-01T08:40:00.000Z"
        server.notifications.append(new)
        second = await channel.poll(first.cursor)
        third = await channel.poll(second.cursor)
        return [first, second, third]

    first, second, third = _run(server, tmp_path, scenario)
    assert first.messages == ()
    assert str(first.cursor).startswith("2026-12-01T08:28:00.400000Z|")
    assert [m.external_id for m in second.messages] == [MENTION.replace("1a2", "9z9")]
    assert third.messages == ()
    authorised = [r["authorization"] for r in server.requests[1:]]
    assert authorised == ["Bearer access-1-0"] * len(authorised)
    assert server.requests[0]["body"] == {"identifier": HANDLE, "password": "…"}


def test_a_backlog_is_paged_until_the_cursor_and_handed_over_oldest_first(
    tmp_path: Path,
) -> None:
    server = BlueskyAccount(_notifications(), page_size=2)
    polled = _run(server, tmp_path, lambda c: c.poll("2026-12-01T08:00:00.000Z|"))
    assert [m.external_id for m in polled.messages] == [MENTION, REPLY]
    assert (polled.skipped, polled.malformed) == (2, 1)  # a like and a follow; the broken one
    assert str(polled.cursor).startswith("2026-12-01T08:28:00.400000Z|")
    pages = [r["query"].get("cursor") for r in server.requests if "listNotifications" in r["path"]]
    assert pages == [None, "2", "4"]


def test_expired_tokens_are_refreshed_and_a_dead_refresh_logs_in_again(tmp_path: Path) -> None:
    server = BlueskyAccount(_notifications())
    cursor = "2026-12-01T08:28:00.400Z|x"

    async def scenario(channel: BlueskyChannel) -> None:
        await channel.poll(cursor)
        server.expire_access()
        await channel.poll(cursor)
        assert (server.sessions, server.refreshes) == (1, 1)
        server.expire_access()
        server.expire_refresh()
        await channel.poll(cursor)
        assert (server.sessions, server.refreshes) == (2, 1)

    _run(server, tmp_path, scenario)


def test_a_wrong_app_password_is_refused_and_server_errors_are_retried(tmp_path: Path) -> None:
    server = BlueskyAccount(_notifications())
    with pytest.raises(ChannelError, match="AuthenticationRequired") as refused:
        _run(server, tmp_path, lambda c: c.poll(None), password="wrong")
    assert refused.value.retry is False
    server.fail = [502]
    with pytest.raises(ChannelError, match="502") as failed:
        _run(server, tmp_path, lambda c: c.poll(None))
    assert failed.value.retry is True
    server.fail = [429]
    with pytest.raises(ChannelError, match="rate limited") as limited:
        _run(server, tmp_path, lambda c: c.poll(None))
    assert limited.value.retry_after_s == 4102444800 - NOW.timestamp()


def _reply(text: str, notification: str = MENTION) -> OutboundReply:
    inbound = notification_to_inbound(_by_uri(notification), received_at=NOW)
    return OutboundReply(
        message_id=9,
        case_id=3,
        reference="SP-2026-000003",
        channel="bluesky",
        contact=inbound.contact,
        subject="",
        text=text,
    )


def test_a_reply_is_a_post_in_the_thread_with_a_mention_facet(tmp_path: Path) -> None:
    server = BlueskyAccount(_notifications())
    sent = _run(server, tmp_path, lambda c: c.send(_reply("Dank u, we sturen iemand langs.")))
    (record,) = server.records
    assert sent == record["uri"]
    assert record["repo"] == DID
    assert record["collection"] == "app.bsky.feed.post"
    post = record["record"]
    assert post["$type"] == "app.bsky.feed.post"
    assert post["text"] == "@lisa-demo.bsky.social Dank u, we sturen iemand langs."
    assert post["createdAt"] == "2026-12-01T09:00:00.000Z"
    assert post["langs"] == ["nl"]
    mention_cid = _by_uri(MENTION)["cid"]
    assert post["reply"] == {
        "root": {"uri": MENTION, "cid": mention_cid},
        "parent": {"uri": MENTION, "cid": mention_cid},
    }
    (facet,) = post["facets"]
    assert facet["index"] == {"byteStart": 0, "byteEnd": len(b"@lisa-demo.bsky.social")}
    assert facet["features"] == [
        {"$type": "app.bsky.richtext.facet#mention", "did": "did:plc:lisademo7abc3k2q5x6ypz"}
    ]


def test_a_long_reply_in_a_thread_keeps_its_root_and_chains_its_parents(tmp_path: Path) -> None:
    server = BlueskyAccount(_notifications())
    text = " ".join(
        f"Stap {n}: wij nemen uw melding serieus en 🚧 houden u op de hoogte." for n in range(12)
    )
    _run(server, tmp_path, lambda c: c.send(_reply(text, REPLY)))
    posts = [r["record"] for r in server.records]
    assert len(posts) > 1
    assert all(graphemes(p["text"]) <= 300 for p in posts)
    root = f"at://{DID}/app.bsky.feed.post/3lcgemeente2a"
    assert all(p["reply"]["root"]["uri"] == root for p in posts)
    parents = [p["reply"]["parent"]["uri"] for p in posts]
    assert parents == [REPLY, *[r["uri"] for r in server.records[:-1]]]


def test_a_case_without_a_post_to_answer_is_refused(tmp_path: Path) -> None:
    server = BlueskyAccount(_notifications())
    broken = OutboundReply(
        message_id=1,
        case_id=1,
        reference="SP-1",
        channel="bluesky",
        contact=Contact(handle="@x.bsky.social", reply_to="not json"),
        subject="",
        text="Hallo",
    )
    with pytest.raises(ChannelError, match="no post to answer") as error:
        _run(server, tmp_path, lambda c: c.send(broken))
    assert error.value.retry is False
    assert server.records == []


def test_a_reply_to_our_reply_is_linked_to_its_case(tmp_path: Path) -> None:
    server = BlueskyAccount(_notifications())
    sent: dict[tuple[str, str], int] = {}

    async def scenario(channel: BlueskyChannel) -> Any:
        channel.conversations = lambda name, external_id: sent.get((name, external_id))
        ours = await channel.send(_reply("Waar precies op de brug?"))
        sent[("bluesky", ours)] = 3
        answer = copy.deepcopy(_by_uri(MENTION))
        answer["uri"] = MENTION.replace("3lcmention1a2", "3lcanswer7x7")
        answer["reason"] = "reply"
        answer["indexedAt"] = "2026-12-01T08:50:00.000Z"
        answer["record"]["reply"] = {
            "root": {"uri": MENTION, "cid": answer["cid"]},
            "parent": {"uri": ours, "cid": server.records[-1]["cid"]},
        }
        server.notifications.append(answer)
        return await channel.poll("2026-12-01T08:28:00.400Z|x")

    polled = _run(server, tmp_path, scenario)
    assert [m.in_reply_to_case for m in polled.messages] == [3]


SANNE = {"did": "did:plc:sannedemo5k2x9q3m7v4b1c", "handle": "sanne-demo.bsky.social"}


def test_direct_messages_come_from_the_chat_log_and_are_answered_in_their_conversation(
    tmp_path: Path,
) -> None:
    server = BlueskyAccount(_notifications())
    server.direct_message("convo-1", "Een oud bericht van voor de eerste keer.", SANNE)
    sent: dict[tuple[str, str], int] = {}

    async def scenario(channel: BlueskyChannel) -> Any:
        channel.conversations = lambda name, external_id: sent.get((name, external_id))
        first = await channel.poll(None)
        assert first.messages == ()
        asked = server.direct_message("convo-1", "Ik wil iets melden over mijn buren.", SANNE)
        second = await channel.poll(first.cursor)
        (message,) = second.messages
        assert message.external_id == f"chat:convo-1:{asked}"
        assert message.text == "Ik wil iets melden over mijn buren."
        assert message.contact.handle == "@sanne-demo.bsky.social"
        assert message.contact.name == "sanne-demo.bsky.social"
        assert message.in_reply_to_case is None
        reply = OutboundReply(
            message_id=12, case_id=4, reference="SP-2026-000004", channel="bluesky",
            contact=message.contact, subject="", text="Dank u. Wat is er gebeurd?",
        )  # fmt: skip
        ours = await channel.send(reply)
        sent[("bluesky", ours)] = 4
        server.direct_message("convo-1", "Ze maken elke nacht herrie.", SANNE)
        third = await channel.poll(second.cursor)
        return first, second, third, ours

    first, _, third, ours = _run(server, tmp_path, scenario)
    assert "\n" in str(first.cursor)  # notifications and chat positions together
    assert server.chat_sent == [
        {"convoId": "convo-1", "message": {"text": "Dank u. Wat is er gebeurd?"}}
    ]
    assert ours.startswith("chat:convo-1:")
    # Our own message in the log is not a new message; Sanne's answer joins case 4.
    assert [(m.text, m.in_reply_to_case) for m in third.messages] == [
        ("Ze maken elke nacht herrie.", 4)
    ]
    chat_requests = [r for r in server.requests if "chat.bsky" in r["path"]]
    assert chat_requests
    assert all(r["authorization"] == "Bearer access-1-0" for r in chat_requests)


def test_an_app_password_without_direct_messages_still_reads_mentions(tmp_path: Path) -> None:
    server = BlueskyAccount(_notifications())
    server.chat_scope = False

    async def scenario(channel: BlueskyChannel) -> Any:
        polled = await channel.poll("2026-12-01T08:00:00.000Z|")
        again = await channel.poll(polled.cursor)
        return polled, again, channel.chat_allowed

    polled, again, allowed = _run(server, tmp_path, scenario)
    assert [m.external_id for m in polled.messages] == [MENTION, REPLY]
    assert allowed is False
    assert "\n" not in str(polled.cursor)
    assert again.messages == ()
    # The chat service was asked once, then no more.
    assert len([r for r in server.requests if "chat.bsky" in r["path"]]) == 1
