"""A real IMAP server for tests: Debian's dovecot, run on a loopback port from a temporary
directory with plain-text test users (see ../shared/MACHINE-NOTES.md). Each test gets its own
user, so its mailbox starts empty."""

from __future__ import annotations

import imaplib
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

CONFIG = """\
protocols = imap
listen = 127.0.0.1
base_dir = {dir}/run
state_dir = {dir}/run
log_path = {dir}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
# The wrong-password test must not slow down every later login from 127.0.0.1.
auth_failure_delay = 0
default_internal_user = dovecot
default_internal_group = dovecot
default_login_user = dovenull
mail_location = maildir:{dir}/mail/%u
# The package's `dovecot` user has a system uid (below the default first_valid_uid 500).
first_valid_uid = 1
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {dir}/users
}}
userdb {{
  driver = static
  args = uid=dovecot gid=dovecot home={dir}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
"""


def why_not() -> str | None:
    """Why a test dovecot cannot run here, or None."""
    if shutil.which("dovecot") is None:
        return (
            "dovecot is not installed (apt-get install -y --no-install-recommends dovecot-imapd;"
            " scripts/test-services.sh does it)"
        )
    if os.geteuid() != 0:
        return "the test dovecot runs its master as root (its login process drops to dovenull)"
    return None


@dataclass
class Account:
    host: str
    port: int
    user: str
    password: str

    def client(self) -> imaplib.IMAP4:
        client = imaplib.IMAP4(self.host, self.port, timeout=10)
        client.login(self.user, self.password)
        return client

    def append(self, raw: bytes, folder: str = "INBOX", flags: str = "") -> None:
        client = self.client()
        try:
            status, data = client.append(folder, flags or None, None, raw)
            assert status == "OK", data
        finally:
            client.logout()

    def folder(self, folder: str = "INBOX") -> list[tuple[int, set[str]]]:
        """(UID, flags) of each message in `folder`; [] when it does not exist."""
        client = self.client()
        try:
            status, _ = client.select(f'"{folder}"', readonly=True)
            if status != "OK":
                return []
            status, data = client.uid("FETCH", "1:*", "(FLAGS)")
            found = []
            for line in data:
                if not isinstance(line, bytes):
                    continue
                parts = line.decode().split("FLAGS (", 1)
                uid = int(line.decode().split("UID ", 1)[1].split()[0].rstrip(")"))
                flags = set(parts[1].split(")")[0].split()) if len(parts) > 1 else set()
                found.append((uid, flags - {"\\Recent"}))  # \Recent is the session's
            return sorted(found)
        finally:
            client.logout()


class Dovecot:
    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.port = _free_port()
        self.users = directory / "users"

    def start(self) -> None:
        (self.dir / "run").mkdir(parents=True)
        (self.dir / "mail").mkdir()
        # Users are made up front: dovecot caches the users file, so one added while it runs
        # may not be seen at once.
        self.pool = [(f"inbox-{uuid.uuid4().hex[:10]}@test", uuid.uuid4().hex) for _ in range(200)]
        self.users.write_text("".join(f"{u}:{{PLAIN}}{p}\n" for u, p in self.pool))
        self.dir.chmod(0o755)
        shutil.chown(self.dir / "mail", "dovecot", "dovecot")
        conf = self.dir / "dovecot.conf"
        conf.write_text(CONFIG.format(dir=self.dir, port=self.port))
        # It daemonises: a pipe on its output would be held open by the daemon, so a file.
        with (self.dir / "start.log").open("wb") as out:
            subprocess.run(
                ["dovecot", "-c", str(conf)],
                check=True,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                timeout=30,
            )
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        pid_file = self.dir / "run" / "master.pid"
        if pid_file.exists():
            pid = int(pid_file.read_text().strip())
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 10
            while pid_file.exists() and time.monotonic() < deadline:
                time.sleep(0.05)

    def account(self) -> Account:
        """A user whose mailbox no test has used yet."""
        user, password = self.pool.pop()
        return Account("127.0.0.1", self.port, user, password)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port
