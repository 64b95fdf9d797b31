"""The colours of both themes meet WCAG 2.1 AA: 4.5:1 for text (1.4.3), 3:1 for the focus ring
and other non-text cues (1.4.11). Computed from the style sheet itself, so a changed colour is
checked again."""

from __future__ import annotations

import re

import pytest

from stadspuls.web.templating import STATIC_DIR

CSS = (STATIC_DIR / "css" / "stadspuls.css").read_text()
TEXT = (
    "--text",
    "--muted",
    "--accent",
    "--high",
    "--medium",
    "--low",
    "--negative",
    "--neutral",
    "--positive",
)
BACKGROUNDS = ("--bg", "--surface", "--surface-2")


def _theme(selector: str) -> dict[str, str]:
    block = CSS.split(selector, 1)[1].split("}", 1)[0]
    return dict(re.findall(r"(--[\w-]+):\s*(#[0-9a-fA-F]{6})\s*;", block))


def _luminance(colour: str) -> float:
    def channel(hex2: str) -> float:
        c = int(hex2, 16) / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(colour[i : i + 2]) for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


THEMES = {"light": _theme(":root {"), "dark": _theme(':root[data-theme="dark"] {')}


def test_contrast_helper_matches_known_values() -> None:
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#767676", "#ffffff") == pytest.approx(4.54, abs=0.01)


@pytest.mark.parametrize("theme", THEMES)
def test_text_colours_meet_aa_on_every_background(theme: str) -> None:
    colours = THEMES[theme]
    failing = [
        f"{fg} on {bg}: {contrast(colours[fg], colours[bg]):.2f}"
        for fg in TEXT
        for bg in BACKGROUNDS
        if contrast(colours[fg], colours[bg]) < 4.5
    ]
    assert not failing, failing
    assert contrast(colours["--accent-text"], colours["--accent"]) >= 4.5
    assert contrast(colours["--text"], colours["--chip"]) >= 4.5
    assert contrast(colours["--focus"], colours["--bg"]) >= 3.0
    assert contrast(colours["--focus"], colours["--surface"]) >= 3.0


def test_the_dark_theme_is_the_same_for_the_system_setting_and_the_toggle() -> None:
    system = CSS.split(':root:not([data-theme="light"]) {', 1)[1].split("}", 1)[0]
    assert dict(re.findall(r"(--[\w-]+):\s*([^;]+);", system)) == dict(
        re.findall(
            r"(--[\w-]+):\s*([^;]+);",
            CSS.split(':root[data-theme="dark"] {', 1)[1].split("}", 1)[0],
        )
    )
