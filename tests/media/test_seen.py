"""The images of monitored posts are hashed into `media_seen` (fetched from a local server that
plays a platform's media host), carefully; a citizen's photo posted before is then named in its
verification findings."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
import sqlalchemy as sa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from stadspuls import monitors
from stadspuls.consumers import Consumers
from stadspuls.enrich.door import build_door
from stadspuls.media import seen, verify
from stadspuls.media.intake import MediaIntake
from stadspuls.media.seen import Fetcher, FetchRefused
from stadspuls.pipeline import Pipeline, optional_consumers
from stadspuls.records import Monitor
from stadspuls.settings import Settings
from stadspuls.store import media as store
from stadspuls.store.schema import media_seen
from tests.factories import make_post
from tests.media.conftest import accept
from tests.media.inbox import actor, desk
from tests.media.photos import jpeg, scene
from tests.support.http import serve

PHOTO = jpeg(scene(40), quality=85)


class MediaHost:
    """A platform's media host: one photo, a redirect to it, a page, and a file too big."""

    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        self.app = Starlette(routes=[Route("/{name}", self.serve)])

    async def serve(self, request: Request) -> Response:
        name = request.path_params["name"]
        self.hits[name] += 1
        if name == "photo.jpg":
            return Response(PHOTO, media_type="image/jpeg")
        if name == "short":
            return RedirectResponse("/photo.jpg", status_code=302)
        if name == "to-private":
            return RedirectResponse("http://10.1.2.3/photo.jpg", status_code=302)
        if name == "page.jpg":
            return Response(b"<html><body>no photo</body></html>", media_type="image/jpeg")
        if name == "huge.jpg":
            return Response(PHOTO + bytes(3 * 1024 * 1024), media_type="image/jpeg")
        return Response(status_code=404)


def _monitor() -> Monitor:
    return Monitor(
        name="brand",
        query="brand",
        owner="team-oost",
        purpose="tests of the media seen in monitored posts",
        legal_basis="public-task",
        retention_days=30,
    )


def test_the_consumer_is_off_unless_switched_on(settings: Settings) -> None:
    assert optional_consumers(settings) == ()
    settings.inbox.fetch_post_media = True
    (factory,) = optional_consumers(settings)
    assert factory.__name__ == "_seen_media"


def test_images_of_monitored_posts_are_hashed_and_a_recycled_photo_is_named(
    engine: sa.Engine, settings: Settings, intake: MediaIntake
) -> None:
    host = MediaHost()
    settings.inbox.fetch_post_media = True
    settings.inbox.media_dir = intake.settings.media_dir
    monitors.create(engine, _monitor())

    async def scenario() -> None:
        async with serve(host.app) as base:
            posts = [
                make_post(
                    1, "brand bij het station", source="bluesky", media=(f"{base}/photo.jpg",)
                ),
                make_post(2, "grote brand, kijk", source="bluesky", media=(f"{base}/short",)),
                make_post(3, "brand!", source="bluesky", media=(f"{base}/page.jpg",)),
                make_post(4, "brand in de haven", source="bluesky", media=(f"{base}/huge.jpg",)),
                make_post(5, "zonnig weer vandaag", source="bluesky", media=(f"{base}/photo.jpg",)),
                make_post(6, "brand, zie bijlage", source="bluesky", media=("file:///etc/passwd",)),
            ]
            fetcher = Fetcher(max_bytes=2 * 1024 * 1024, timeout_s=5, allow_private=True)
            consumer = seen.build(engine, settings, fetcher=fetcher)
            linker = monitors.MonitorLinker(engine)
            with Consumers(engine, [linker, consumer], poll_s=0.05) as running:
                pipeline = Pipeline(engine, build_door(settings), on_commit=running.wake)
                pipeline.process(posts)
                pipeline.close()
                assert await asyncio.to_thread(running.drain)
            consumer.decoder.close()

    asyncio.run(scenario())
    with engine.connect() as conn:
        rows = conn.execute(sa.select(media_seen).order_by(media_seen.c.post_pk)).mappings().all()
    # Posts 1 and 2 (the same photo, directly and through a redirect); not the page, not the
    # file over the cap, not the post no monitor watches, not the file URL.
    assert len(rows) == 2
    expected = accept(intake, PHOTO).phash
    assert {row["phash"] for row in rows} == {expected}
    assert {row["source"] for row in rows} == {"bluesky"}
    assert host.hits["photo.jpg"] == 2
    assert host.hits["short"] == 1
    assert host.hits["page.jpg"] == 1
    # The unmonitored post's image was never asked for: post 5 is the only other carrier.
    assert sum(host.hits.values()) == 5

    # A citizen sends the same photo, recompressed: it was on Bluesky a week before.
    inbox = desk(engine, settings, "ann")
    case_id = inbox.receive(accept(intake, jpeg(scene(40), quality=70)))
    view = inbox.service.view(actor(engine, "ann"), case_id)
    with engine.connect() as conn:
        found = {f.kind: f for f in verify.findings(conn, view.media[0], case=view.case)}
        # Once stored, the index of this process knows them (and a second call is cheap).
        assert store.seen_by_ids(conn, [int(rows[0]["id"])])[0].source == "bluesky"
    online = found["seen_online"]
    assert online.severity == "warn"
    assert online.nl.startswith("Eerder online gezien: op Bluesky, ")
    assert "dagen vóór deze melding (2 berichten)" in online.nl
    assert online.values["posts"] == 2


def test_the_fetcher_refuses_private_addresses_schemes_and_redirects_inside() -> None:
    careful = Fetcher(max_bytes=1024, resolve=lambda host: {"cdn.example": ["10.0.0.5"]}[host])
    with pytest.raises(FetchRefused, match="private"):
        careful.check("https://cdn.example/a.jpg")
    with pytest.raises(FetchRefused, match="private"):
        Fetcher(max_bytes=1024).check("http://127.0.0.1:8000/a.jpg")
    with pytest.raises(FetchRefused, match="http"):
        Fetcher(max_bytes=1024).check("file:///etc/passwd")
    with pytest.raises(FetchRefused, match="credentials"):
        Fetcher(max_bytes=1024).check("https://user:pw@cdn.example/a.jpg")
    public = Fetcher(max_bytes=1024, resolve=lambda host: ["93.184.216.34"])
    public.check("https://cdn.example/a.jpg")  # a public address passes

    host = MediaHost()

    async def scenario(tmp: str) -> None:
        from pathlib import Path

        async with serve(host.app) as base:
            # The loopback server stands in for a public host; its redirect points inside.
            pretend = Fetcher(
                max_bytes=1024 * 1024,
                resolve=lambda name: ["93.184.216.34"] if name == "127.0.0.1" else [name],
            )
            with pytest.raises(FetchRefused, match="private"):
                await asyncio.to_thread(pretend.fetch, f"{base}/to-private", Path(tmp) / "x")

    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(scenario(tmp))
    assert host.hits["to-private"] == 1
