"""Every message of the login, account and users pages has its Dutch text in access.po."""

from __future__ import annotations

import ast
from pathlib import Path

from babel.messages.pofile import read_po
from jinja2.ext import babel_extract

from stadspuls.web import i18n
from stadspuls.web.routes import account, admin_users, oidc_login, session
from stadspuls.web.templating import TEMPLATE_DIR

TEMPLATES = ("login.html", "login_totp.html", "account.html", "admin_users.html")
MACROS = "_access_macros.html"
PO = i18n.LOCALE_DIR / "nl" / "LC_MESSAGES" / "access.po"


def _template_messages(name: str) -> set[str]:
    found: set[str] = set()
    with (TEMPLATE_DIR / name).open("rb") as handle:
        options = {"extensions": "jinja2.ext.i18n", "trim_blocks": "1", "lstrip_blocks": "1"}
        for _line, _function, message, _comments in babel_extract(
            handle, ("_", "gettext", "ngettext"), [], options
        ):
            text = message[0] if isinstance(message, tuple) else message
            if text:
                found.add(text)
    return found


def _module_messages(path: Path) -> set[str]:
    """Sentences in the upper-case constants of a route module: what it shows as a message."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        target = node.targets[0] if isinstance(node, ast.Assign) else getattr(node, "target", None)
        if not (isinstance(target, ast.Name) and target.id.isupper()):
            continue
        for constant in ast.walk(node):
            if (
                isinstance(constant, ast.Constant)
                and isinstance(constant.value, str)
                and constant.value.endswith(".")
                and " " in constant.value
            ):
                found.add(constant.value)
    return found


def test_every_message_has_a_dutch_translation() -> None:
    with PO.open("rb") as handle:
        translated = {m.id for m in read_po(handle, locale="nl") if m.id and m.string}
    used: set[str] = set()
    for name in (*TEMPLATES, MACROS):
        used |= _template_messages(name)
    for module in (session, account, admin_users, oidc_login):
        assert module.__file__ is not None
        used |= _module_messages(Path(module.__file__))
    assert len(used) > 100
    assert sorted(used - translated) == []
