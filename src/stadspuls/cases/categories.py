"""The categories a citizen picks on the public form. One list, used by the form, by the routing
rules' `categories` condition and by the staff pages: a slug is stored with the case, the label
(English source text, translated by the pages' catalogues) is what people read."""

from __future__ import annotations

# (slug, label). The slugs are Dutch because the routing rules that name them are written by
# Dutch operators ("categorie afval"); changing one breaks every rule that uses it.
CATEGORIES: tuple[tuple[str, str], ...] = (
    ("afval", "Waste and litter"),
    ("openbare-ruimte", "Streets, parks and public space"),
    ("overlast", "Nuisance"),
    ("verkeer", "Traffic"),
    ("veiligheid", "Safety"),
    ("anders", "Something else"),
)
CATEGORY_SLUGS: tuple[str, ...] = tuple(slug for slug, _label in CATEGORIES)


def category_label(slug: str) -> str:
    """The English label of a category slug (the slug itself when unknown)."""
    return dict(CATEGORIES).get(slug, slug)
