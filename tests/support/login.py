"""Logging in through the real login form, for tests of pages behind it."""

from __future__ import annotations

import re

import httpx2 as httpx
import sqlalchemy as sa
from fastapi.testclient import TestClient

from stadspuls.access import accounts
from stadspuls.access.roles import SYSTEM
from stadspuls.records import User

PASSWORD = "correct horse battery staple"
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def add_user(
    engine: sa.Engine,
    username: str,
    role: str = "analyst",
    *,
    password: str | None = PASSWORD,
    reidentify: bool = False,
) -> User:
    return accounts.add_user(
        engine, SYSTEM, username, role, password=password, reidentify=reidentify
    )


def csrf_of(html: str) -> str:
    """The hidden `csrf` field of the (first) form on a page."""
    found = _CSRF.search(html)
    assert found is not None, "no csrf field on the page"
    return found.group(1)


def login(
    client: TestClient, username: str, password: str = PASSWORD, *, next: str | None = None
) -> httpx.Response:
    """GET the login form, then POST it; returns the (unfollowed) answer to the POST."""
    page = client.get("/login", params={} if next is None else {"next": next})
    data = {"username": username, "password": password, "csrf": csrf_of(page.text)}
    if next is not None:
        data["next"] = next
    return client.post("/login", data=data, follow_redirects=False)
