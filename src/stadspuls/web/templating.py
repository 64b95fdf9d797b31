"""Server-rendered pages: one Jinja2 environment, the message catalogue of the reader's language,
and the acting user and CSRF token in every template's context."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from stadspuls.access.roles import allows
from stadspuls.web.auth import identify
from stadspuls.web.formatting import FILTERS
from stadspuls.web.i18n import DEFAULT_LANGUAGE, LANGUAGES, catalogue

TEMPLATE_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"
LANG_COOKIE = "stadspuls_lang"

environment = Environment(
    loader=FileSystemLoader(TEMPLATE_DIR),
    autoescape=select_autoescape(default=True),
    extensions=["jinja2.ext.i18n"],
    trim_blocks=True,
    lstrip_blocks=True,
)
environment.filters.update(FILTERS)
environment.globals["allows"] = allows


def language(request: Request) -> str:
    """The reader's language: `?lang=` or the cookie it sets, else Dutch."""
    chosen = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE)
    return chosen if chosen in LANGUAGES else DEFAULT_LANGUAGE


def render(
    request: Request, template: str, context: dict[str, Any] | None = None, status: int = 200
) -> HTMLResponse:
    lang = language(request)
    words = catalogue(lang)
    identity = identify(request)
    values: dict[str, Any] = {
        "request": request,
        "lang": lang,
        "gettext": words.gettext,
        "ngettext": words.ngettext,
        "_": words.gettext,
        "actor": None if identity is None else identity.actor,
        "csrf": None if identity is None else identity.csrf,
    }
    values.update(context or {})
    html = environment.get_template(template).render(values)
    response = HTMLResponse(html, status_code=status)
    if request.query_params.get("lang") in LANGUAGES:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax")
    return response
