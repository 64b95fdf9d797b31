"""A published item's page draws the response it drew: links to our news item among the
collected posts (through the real door, the real response consumer), counted per hour after
publishing, as the chart's data and the table under it."""

from __future__ import annotations

import json
import re
from datetime import timedelta

from stadspuls.consumers import Driver
from stadspuls.enrich.door import build_door
from stadspuls.enrich.pseudonymise import Pseudonymiser, load_or_create_key
from stadspuls.pipeline import Pipeline
from stadspuls.publish.records import Publication
from stadspuls.publish.responses import PublicationResponses
from stadspuls.publish.service import PublishService
from stadspuls.records import Post
from stadspuls.sealed import Sealer
from tests.publish.conftest import NOW, Clock
from tests.web.publish.conftest import Newsroom


def test_the_response_per_hour_is_on_the_page(newsroom: Newsroom) -> None:
    app = newsroom.app
    settings = app.state.settings
    clock = Clock(NOW)
    service = PublishService(
        newsroom.engine, settings, targets=app.state.publish.targets, clock=clock
    )
    app.state.publish = service
    anna, chef = newsroom.actor("anna"), newsroom.actor("chef")
    created = service.create(
        anna, Publication(title="Brug dicht", body="De Catharijnebrug is dicht.")
    )
    assert created.id is not None
    service.submit(anna, created.id)
    published = service.approve(chef, created.id)
    item = f"https://gemeente.example/nieuws/{published.id}-{published.slug}"
    # Three posts link to our item: two in the first hour, one in the third.
    posts = [
        Post(
            id=f"mastodon:other.example/users/p{n}/statuses/{n}",
            source="mastodon",
            native_id=str(n),
            created_at=NOW + timedelta(minutes=minutes),
            text=f"Lees dit: {item}",
            author=f"p{n}@other.example",
            links=(item,),
        )
        for n, minutes in ((1, 5), (2, 20), (3, 130))
    ]
    pipeline = Pipeline(newsroom.engine, build_door(settings))
    pipeline.process(posts)
    pipeline.close()
    key = load_or_create_key(settings.key_file)
    consumer = PublicationResponses(
        settings,
        post_id=Pseudonymiser(key).post_id,
        sealer=Sealer(load_or_create_key(settings.seal_key_path, "sealing")),
        clock=clock,
    )
    driver = Driver(newsroom.engine, consumer, start="beginning")
    driver.prepare()
    driver.step()
    clock.advance(hours=3)
    page = newsroom.session("chef").get(f"/publicaties/{published.id}")
    assert page.status_code == 200
    found = re.search(r'<script type="application/json" id="chart-data">(.*?)</script>', page.text)
    assert found is not None, "no chart data on the page"
    chart = json.loads(found.group(1))
    assert len(chart["x"]) >= 3
    assert chart["x"][0] == NOW.timestamp()
    # Two links in the first hour, none in the second, one in the third; no replies.
    assert chart["links"][:3] == [2.0, 0.0, 1.0]
    assert chart["replies"][:3] == [0.0, 0.0, 0.0]
    assert 'data-kind="response"' in page.text
