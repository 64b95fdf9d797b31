"""Publishing to Bluesky through the `atproto` client against a local PDS."""

from __future__ import annotations

import asyncio
import io
import itertools
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from stadspuls.channels.split import graphemes
from stadspuls.publish.bluesky import BlueskyTarget
from stadspuls.publish.news import NewsTarget
from stadspuls.publish.preview import URL, shorten_links
from stadspuls.publish.richtext import TID_PATTERN, facets, record_key
from stadspuls.publish.targets import SendError
from stadspuls.settings import BlueskyAccountSettings
from tests.publish.channel_support import delivery, item, jpeg, photo, vault
from tests.support.bluesky_pds_server import BLOB_LIMIT, DID, HANDLE, PASSWORD, BlueskyPds
from tests.support.http import closed_port, serve

T = TypeVar("T")
NEWS = NewsTarget("https://stad.example.nl")
WHEN = datetime(2026, 12, 1, 21, 30, tzinfo=UTC)


def run(
    tmp_path: Path,
    pds: BlueskyPds,
    act: Callable[[BlueskyTarget], Awaitable[T]],
    *,
    password: str = PASSWORD,
) -> T:
    (tmp_path / "password").write_text(password + "\n")

    async def main() -> T:
        async with serve(pds.app) as url:
            account = BlueskyAccountSettings(
                service=url, handle=HANDLE, app_password_file=tmp_path / "password"
            )
            target = BlueskyTarget(account, NEWS, timeout_s=5)
            try:
                return await act(target)
            finally:
                await target.aclose()

    return asyncio.run(main())


def _bytes(text: str, facet: dict[str, Any]) -> str:
    index = facet["index"]
    return text.encode()[index["byteStart"] : index["byteEnd"]].decode()


def test_facets_cover_the_right_bytes_after_accents_and_emoji() -> None:
    text = "Café 👍🏽 bij de brug: https://www.gemeente.nl/brand. #Brand! #112 #Kerkstraat"
    found = facets(text)
    assert [_bytes(text, f) for f in found] == [
        "https://www.gemeente.nl/brand",
        "#Brand",
        "#Kerkstraat",
    ]
    link = found[0]
    assert link["index"]["byteStart"] == len("Café 👍🏽 bij de brug: ".encode())
    assert link["index"]["byteStart"] != len("Café 👍🏽 bij de brug: ")  # bytes, not characters
    assert link["features"] == [
        {"$type": "app.bsky.richtext.facet#link", "uri": "https://www.gemeente.nl/brand"}
    ]
    assert found[1]["features"] == [{"$type": "app.bsky.richtext.facet#tag", "tag": "Brand"}]


PIECE = st.one_of(
    st.sampled_from(["é", "ë", "👍🏽", "🇳🇱", "👩‍🚒", "straat", "ß", "—", "z\u0301"]),
    st.builds(lambda p: f"https://gemeente.nl/{p}", st.text("abcé-/", max_size=20)),
    st.builds(lambda t: f"#{t}", st.text("abcKé", min_size=1, max_size=10)),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(PIECE, max_size=30).map(" ".join))
def test_every_facet_decodes_to_its_own_link_or_tag(text: str) -> None:
    for facet in facets(text):
        covered = _bytes(text, facet)
        (feature,) = facet["features"]
        if feature["$type"].endswith("#link"):
            assert covered == feature["uri"]
            assert covered.startswith("https://")
        else:
            assert covered == "#" + feature["tag"]


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 10**7), st.integers(1, 10**7), st.integers(0, 9))
def test_record_keys_are_valid_tids_stable_and_distinct(first: int, second: int, part: int) -> None:
    key = record_key(first, part, WHEN)
    assert TID_PATTERN.match(key)
    assert key == record_key(first, part, WHEN)
    if first != second and (first - second) % 100_000 != 0:
        assert key != record_key(second, part, WHEN)
    if part < 9:
        assert key != record_key(first, part + 1, WHEN)
        assert key < record_key(first, part + 1, WHEN)  # parts sort in order


def test_a_post_with_an_image_and_its_alt_text(tmp_path: Path) -> None:
    pds = BlueskyPds()
    image = jpeg()
    publication = item(
        "Ramen dicht in Café-buurt 👍🏽 #Kerkstraat", media=(photo("a" * 64),), published_at=WHEN
    )
    sent = run(tmp_path, pds, lambda t: t.send(publication, delivery(), vault({"a" * 64: image})))
    (post,) = pds.posts
    rkey = record_key(31, 0, WHEN)
    assert sent.external_id == f"at://{DID}/app.bsky.feed.post/{rkey}" == post["uri"]
    assert sent.url == f"https://bsky.app/profile/{HANDLE}/post/{rkey}"
    value = post["value"]
    assert value["$type"] == "app.bsky.feed.post"
    assert value["langs"] == ["nl"]
    news = "https://stad.example.nl/nieuws/12-brand-in-de-kerkstraat"
    short = "stad.example.nl/nieuws/12-br..."  # shown short, as Bluesky's app does
    assert value["text"] == f"Ramen dicht in Café-buurt 👍🏽 #Kerkstraat\n\n{short}"
    (embedded,) = value["embed"]["images"]
    assert value["embed"]["$type"] == "app.bsky.embed.images"
    assert embedded["alt"] == "Rook boven de Kerkstraat"
    assert pds.blob_bytes[embedded["image"]["ref"]["$link"]] == image
    assert embedded["image"]["mimeType"] == "image/jpeg"
    covered = sorted(_bytes(value["text"], f) for f in value["facets"])
    assert covered == ["#Kerkstraat", short]
    link = next(f for f in value["facets"] if f["features"][0]["$type"].endswith("#link"))
    assert link["features"][0]["uri"] == news  # the facet carries the whole link


def test_an_image_over_the_blob_limit_is_made_smaller(tmp_path: Path) -> None:
    pds = BlueskyPds()
    large = jpeg(1400, 1100, noise=True)
    assert len(large) > BLOB_LIMIT
    publication = item("Foto van de schade.", media=(photo("b" * 64),))
    run(tmp_path, pds, lambda t: t.send(publication, delivery(), vault({"b" * 64: large})))
    (post,) = pds.posts
    (embedded,) = post["value"]["embed"]["images"]
    sent = pds.blob_bytes[embedded["image"]["ref"]["$link"]]
    assert len(sent) <= BLOB_LIMIT
    with Image.open(io.BytesIO(sent)) as shrunk:
        assert shrunk.format == "JPEG"
        assert shrunk.width >= 320


def test_without_images_the_link_card_is_an_external_embed(tmp_path: Path) -> None:
    pds = BlueskyPds()
    publication = item("Ramen en deuren dicht.", link="https://www.gemeente.nl/brand")
    run(tmp_path, pds, lambda t: t.send(publication, delivery(), vault({})))
    (post,) = pds.posts
    external = post["value"]["embed"]["external"]
    assert post["value"]["embed"]["$type"] == "app.bsky.embed.external"
    assert (external["uri"], external["title"], external["description"]) == (
        "https://www.gemeente.nl/brand",
        "Brand in de Kerkstraat",
        "Ramen en deuren dicht.",
    )


def test_a_long_text_is_a_thread_of_replies_with_root_and_parent(tmp_path: Path) -> None:
    pds = BlueskyPds()
    body = " ".join(f"Zin {n}: blijf uit de buurt van de Kerkstraat 🚒." for n in range(20))
    sent = run(tmp_path, pds, lambda t: t.send(item(body), delivery(), vault({})))
    posts = pds.posts
    assert len(posts) >= 3
    assert sent.external_id == posts[0]["uri"]
    assert "reply" not in posts[0]["value"]
    root = {"uri": posts[0]["uri"], "cid": posts[0]["cid"]}
    for before, post in itertools.pairwise(posts):
        reply = post["value"]["reply"]
        assert {k: reply["root"][k] for k in ("uri", "cid")} == root
        assert {k: reply["parent"][k] for k in ("uri", "cid")} == {
            "uri": before["uri"],
            "cid": before["cid"],
        }
    for number, post in enumerate(posts, start=1):
        assert post["value"]["text"].endswith(f"({number}/{len(posts)})")
        assert graphemes(post["value"]["text"]) <= 300
    assert "embed" in posts[0]["value"]  # the news page's card, on the first post only
    assert all("embed" not in post["value"] for post in posts[1:])


def test_the_same_delivery_sent_twice_posts_once(tmp_path: Path) -> None:
    pds = BlueskyPds()
    publication = item("Ramen dicht.", media=(photo("c" * 64),))

    async def twice(target: BlueskyTarget) -> tuple[str, str]:
        first = await target.send(publication, delivery(44), vault({"c" * 64: jpeg()}))
        again = await target.send(publication, delivery(44), vault({"c" * 64: jpeg()}))
        return first.external_id, again.external_id

    first, again = run(tmp_path, pds, twice)
    assert first == again
    assert len(pds.posts) == 1
    assert len(pds.blobs) == 1  # the second send found the post before uploading again


def test_a_lost_answer_is_retried_and_the_post_is_found_not_made_twice(tmp_path: Path) -> None:
    pds = BlueskyPds()
    body = " ".join(f"Zin {n} over de brand in de Kerkstraat." for n in range(15))
    publication = item(body)

    async def attempts(target: BlueskyTarget) -> tuple[SendError, str]:
        pds.lose_next_create = True  # the first post is stored, its answer lost
        try:
            await target.send(publication, delivery(), vault({}))
        except SendError as error:
            lost = error
        # The retry looks each part up first: the stored one is found, the rest are made.
        sent = await target.send(publication, delivery(), vault({}))
        return lost, sent.external_id

    lost, external_id = run(tmp_path, pds, attempts)
    assert not lost.permanent
    assert len(pds.posts) > 1
    assert len({post["uri"] for post in pds.posts}) == len(pds.posts)
    assert external_id == pds.posts[0]["uri"]
    nsids = [r["nsid"] for r in pds.requests]
    assert nsids.count("com.atproto.repo.createRecord") == len(pds.posts)


def test_a_taken_key_refused_by_create_is_read_back(tmp_path: Path) -> None:
    pds = BlueskyPds()

    async def race(target: BlueskyTarget) -> str:
        sent = await target.send(item("Eerste."), delivery(50), vault({}))
        # As if another worker posted between our lookup and our create: the lookup misses,
        # the create is refused as existing, and the second lookup finds it.
        pds.miss_lookups = 1
        again = await target.send(item("Eerste."), delivery(50), vault({}))
        assert again.external_id == sent.external_id
        return sent.external_id

    run(tmp_path, pds, race)
    assert len(pds.posts) == 1
    nsids = [r["nsid"] for r in pds.requests]
    assert nsids.count("com.atproto.repo.createRecord") == 2  # the second one refused


def test_a_wrong_app_password_is_permanent(tmp_path: Path) -> None:
    pds = BlueskyPds()
    with pytest.raises(SendError) as caught:
        run(tmp_path, pds, lambda t: t.send(item("Tekst"), delivery(), vault({})), password="x")
    assert caught.value.permanent
    assert "Invalid identifier or password" in str(caught.value)


def test_an_invalid_record_is_permanent_in_the_servers_words(tmp_path: Path) -> None:
    pds = BlueskyPds()
    pds.fail, pds.fail_nsid = [400], "com.atproto.repo.createRecord"
    with pytest.raises(SendError) as caught:
        run(tmp_path, pds, lambda t: t.send(item("Tekst"), delivery(), vault({})))
    assert caught.value.permanent
    assert "InvalidRequest" in str(caught.value)
    assert pds.posts == []


def test_a_429_says_when_to_come_back_and_a_500_is_retried(tmp_path: Path) -> None:
    pds = BlueskyPds()

    async def attempts(target: BlueskyTarget) -> list[SendError]:
        errors = []
        for code in (429, 500, 502):
            pds.fail, pds.fail_nsid = [code], "com.atproto.repo.createRecord"
            try:
                await target.send(item("Tekst"), delivery(), vault({}))
            except SendError as error:
                errors.append(error)
        await target.send(item("Tekst"), delivery(), vault({}))
        return errors

    limited, failed, upstream = run(tmp_path, pds, attempts)
    assert not limited.permanent
    assert limited.retry_after_s is not None
    assert 100 <= limited.retry_after_s <= 121
    assert not failed.permanent
    assert not upstream.permanent
    assert len(pds.posts) == 1


def test_a_pds_that_is_down_is_retried(tmp_path: Path) -> None:
    (tmp_path / "password").write_text(PASSWORD)
    account = BlueskyAccountSettings(
        service=f"http://127.0.0.1:{closed_port()}",
        handle=HANDLE,
        app_password_file=tmp_path / "password",
    )

    async def main() -> None:
        target = BlueskyTarget(account, NEWS, timeout_s=2)
        try:
            await target.send(item("Tekst"), delivery(), vault({}))
        finally:
            await target.aclose()

    with pytest.raises(SendError) as caught:
        asyncio.run(main())
    assert not caught.value.permanent


def test_an_unreadable_app_password_fails_each_send_permanently(tmp_path: Path) -> None:
    account = BlueskyAccountSettings(
        service="http://127.0.0.1:9", handle=HANDLE, app_password_file=tmp_path / "missing"
    )

    async def main() -> None:
        target = BlueskyTarget(account, NEWS)
        try:
            await target.send(item("Tekst"), delivery(), vault({}))
        finally:
            await target.aclose()

    with pytest.raises(SendError) as caught:
        asyncio.run(main())
    assert caught.value.permanent
    assert "app_password_file" in str(caught.value)


def test_a_short_lived_session_is_renewed_by_the_library(tmp_path: Path) -> None:
    pds = BlueskyPds(access_s=120)  # the client renews within 15 minutes of expiry

    async def two(target: BlueskyTarget) -> None:
        await target.send(item("Eerste."), delivery(1), vault({}))
        await target.send(item("Tweede."), delivery(2), vault({}))

    run(tmp_path, pds, two)
    nsids = [r["nsid"] for r in pds.requests]
    assert nsids.count("com.atproto.server.createSession") == 1
    assert "com.atproto.server.refreshSession" in nsids
    assert len(pds.posts) == 2


def test_a_revoked_session_fails_one_try_and_the_next_logs_in_again(tmp_path: Path) -> None:
    pds = BlueskyPds()

    async def revoked(target: BlueskyTarget) -> SendError:
        await target.send(item("Eerste."), delivery(1), vault({}))
        pds.tokens.clear()  # e.g. the app password's sessions were revoked
        try:
            await target.send(item("Tweede."), delivery(2), vault({}))
        except SendError as error:
            failed = error
        await target.send(item("Tweede."), delivery(2), vault({}))
        return failed

    failed = run(tmp_path, pds, revoked)
    assert not failed.permanent
    assert "InvalidToken" in str(failed)
    assert pds.sessions == 2
    assert [post["value"]["text"].split("\n\n")[0] for post in pds.posts] == ["Eerste.", "Tweede."]


@settings(max_examples=150, deadline=None)
@given(st.lists(PIECE, max_size=30).map(" ".join))
def test_every_short_link_facet_covers_its_short_form_and_carries_the_whole_link(
    text: str,
) -> None:
    shown, links = shorten_links(text)
    whole = URL.findall(text)
    found = [f for f in facets(shown, links) if f["features"][0]["$type"].endswith("#link")]
    assert sorted(f["features"][0]["uri"] for f in found) == sorted(whole)
    for facet in found:
        covered, uri = _bytes(shown, facet), facet["features"][0]["uri"]
        assert covered == uri or links[covered] == uri
