"""The message catalogues: English source strings, translated per language from gettext `.po`
files in `web/locale/<lang>/LC_MESSAGES/*.po` (one file per area of the product, read with Babel
and merged). Dutch is the default language; English is the source text itself."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES = ("nl", "en")
DEFAULT_LANGUAGE = "nl"


class Catalogue:
    """gettext and ngettext for one language; an untranslated message falls back to English."""

    def __init__(self, lang: str, messages: dict[str, str | tuple[str, ...]]) -> None:
        self.lang = lang
        self._messages = messages

    def gettext(self, message: str) -> str:
        found = self._messages.get(message)
        if isinstance(found, tuple):
            return found[0] or message
        return found or message

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        found = self._messages.get(singular)
        if isinstance(found, tuple) and len(found) > 1:
            # Dutch and English share the plural rule: one is singular, everything else plural.
            chosen = found[0] if n == 1 else found[1]
            if chosen:
                return chosen
        return singular if n == 1 else plural


@cache
def catalogue(lang: str) -> Catalogue:
    if lang not in LANGUAGES:
        lang = DEFAULT_LANGUAGE
    messages: dict[str, str | tuple[str, ...]] = {}
    for path in sorted((LOCALE_DIR / lang / "LC_MESSAGES").glob("*.po")):
        with path.open("rb") as handle:
            for message in read_po(handle, locale=lang):
                if not message.id or message.fuzzy:
                    continue
                key = message.id if isinstance(message.id, str) else message.id[0]
                string = message.string
                if isinstance(string, str):
                    messages[key] = string
                elif string:
                    messages[key] = tuple(string)
    return Catalogue(lang, messages)
