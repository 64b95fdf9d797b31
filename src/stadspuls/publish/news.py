"""The organisation's own news page and its RSS/Atom feeds, served by Stadspuls at /nieuws.

Sending to "news" posts nothing anywhere: the publication itself is the news item (the web
pages read published publications), so a send only says where it is: its id and its page,
/nieuws/<id>-<slug> under the public address the citizens' pages use (`inbox.public_url`,
else this server's own address).
"""

from __future__ import annotations

import re
import unicodedata

from stadspuls.publish.preview import whole_preview
from stadspuls.publish.records import Delivery, Preview, Publication
from stadspuls.publish.targets import MediaLoader, SendError, Sent
from stadspuls.settings import Settings

NAME = "news"
SLUG_LENGTH = 60
_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def public_base(settings: Settings) -> str:
    """Where citizens reach this server: the configured public address, else host and port."""
    base = settings.inbox.public_url or f"http://{settings.host}:{settings.port}"
    return base.rstrip("/")


def slugify(title: str) -> str:
    """A readable address part from a title: "Brand in de Kerkstraat: ramen dicht" ->
    "brand-in-de-kerkstraat-ramen-dicht" (accents dropped, at most 60 characters, at a word)."""
    plain = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode().lower()
    slug = _NOT_SLUG.sub("-", plain).strip("-")
    if len(slug) > SLUG_LENGTH:
        slug = slug[:SLUG_LENGTH].rsplit("-", 1)[0]
    return slug or "bericht"


def news_path(publication_id: int, slug: str) -> str:
    return f"/nieuws/{publication_id}-{slug}"


class NewsTarget:
    name = NAME
    limit: int | None = None

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")

    def url_of(self, publication: Publication) -> str | None:
        """The publication's news page (None before it has an id)."""
        if publication.id is None:
            return None
        slug = publication.slug or slugify(publication.title)
        return self.base_url + news_path(publication.id, slug)

    def preview_url(self, publication: Publication) -> str:
        """The page's address as a preview shows it: before the publication is saved its
        number is not known yet ("…"), but the link is there, and counts."""
        slug = publication.slug or slugify(publication.title)
        return self.url_of(publication) or f"{self.base_url}/nieuws/…-{slug}"

    def preview(self, publication: Publication, *, public_url: str | None) -> Preview:
        url = public_url or self.preview_url(publication)
        return whole_preview(NAME, publication, link=url)

    async def send(self, publication: Publication, delivery: Delivery, media: MediaLoader) -> Sent:
        del delivery, media
        url = self.url_of(publication)
        if url is None or publication.id is None:
            raise SendError("news: a publication without an id cannot be shown", permanent=True)
        return Sent(external_id=str(publication.id), url=url)

    async def aclose(self) -> None:
        return None
