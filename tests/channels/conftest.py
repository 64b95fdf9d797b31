"""Real mail servers for the e-mail channel's tests: a dovecot per session (a fresh user per
test) and an SMTP server per test."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from tests.support.http import closed_port
from tests.support.imap_server import Account, Dovecot, self_signed, why_not
from tests.support.smtp_server import SmtpInbox


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    yield from _dovecot()


@pytest.fixture
def lone_dovecot() -> Iterator[Dovecot]:
    """A dovecot of its own, for a test that fails a login: dovecot then slows down every later
    login from the address, which would slow the tests after it."""
    yield from _dovecot()


@pytest.fixture(scope="session")
def tls_dovecot() -> Iterator[Dovecot]:
    """A dovecot with STARTTLS and IMAPS, its certificate from a CA of its own."""
    yield from _dovecot(tls=True)


def _dovecot(*, tls: bool = False) -> Iterator[Dovecot]:
    reason = why_not()
    if reason is not None:
        pytest.skip(reason)
    # Not under pytest's own temporary folder: that is private to root (0700), and dovecot's
    # mail processes run as the `dovecot` user.
    directory = Path(tempfile.mkdtemp(prefix="stadspuls-dovecot-"))
    server = Dovecot(directory, self_signed(directory) if tls else None)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def mailbox(dovecot: Dovecot) -> Account:
    return dovecot.account()


@pytest.fixture
def smtp_server() -> Iterator[tuple[SmtpInbox, int]]:
    """An SMTP server on a loopback port: (what it received, its port)."""
    server = SmtpInbox()
    port = closed_port()
    controller = Controller(server, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield server, port
    finally:
        controller.stop()
