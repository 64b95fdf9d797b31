"""HTML (Mastodon statuses, RSS summaries) to plain text, with the stdlib HTML parser.

Whitespace inside text collapses as a browser would; `<br>` becomes a newline and block
elements (paragraphs, list items, headings) are separated by a blank line, so that paragraph
breaks survive as newlines for the door and the dashboard.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

_BLOCK = frozenset(
    {"p", "div", "li", "ul", "ol", "blockquote", "pre", "h1", "h2", "h3", "h4", "h5", "h6", "tr"}
)
_SKIP = frozenset({"script", "style", "template"})
_SPACE = re.compile(r"[ \t\r\n\f\v]+")
_BREAK = "\x00"  # placeholder for a hard line break while whitespace collapses


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self._skipping += 1
        elif tag == "br":
            self.parts.append(_BREAK)
        elif tag in _BLOCK:
            self.parts.append(_BREAK * 2)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.parts.append(_BREAK)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self._skipping = max(0, self._skipping - 1)
        elif tag in _BLOCK:
            self.parts.append(_BREAK * 2)

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def html_to_text(markup: str) -> str:
    """Plain text of an HTML fragment; text without tags is returned with whitespace tidied."""
    if "<" not in markup and "&" not in markup:
        return _tidy(markup.replace("\n", _BREAK))
    parser = _TextExtractor()
    parser.feed(markup)
    parser.close()
    return _tidy("".join(parser.parts))


def _tidy(text: str) -> str:
    lines = [_SPACE.sub(" ", line).strip() for line in text.split(_BREAK)]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    # collapse runs of empty lines to one (a paragraph break) and trim the ends
    return re.sub(r"\n{3,}", "\n\n", "\n".join(out)).strip()
