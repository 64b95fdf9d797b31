"""A real IMAP server for tests: Debian's dovecot, run on a loopback port from a temporary
directory with plain-text test users (see ../shared/MACHINE-NOTES.md). Each test gets its own
user, so its mailbox starts empty."""

from __future__ import annotations

import imaplib
import ipaddress
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

CONFIG = """\
protocols = imap
listen = 127.0.0.1
base_dir = {dir}/run
state_dir = {dir}/run
log_path = {dir}/dovecot.log
{ssl}
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
    address = 127.0.0.1
    port = {ssl_port}
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


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 (its own CA) and its key, as PEM files."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "imap.crt", directory / "imap.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


class Dovecot:
    """`tls`: serve STARTTLS on `port` and IMAPS on `ssl_port` with this certificate."""

    def __init__(self, directory: Path, tls: tuple[Path, Path] | None = None) -> None:
        self.dir = directory
        self.port = _free_port()
        self.ssl_port = _free_port() if tls else 0
        self.tls = tls
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
        ssl = "ssl = no"
        if self.tls is not None:
            ssl = f"ssl = yes\nssl_cert = <{self.tls[0]}\nssl_key = <{self.tls[1]}"
        conf.write_text(
            CONFIG.format(dir=self.dir, port=self.port, ssl=ssl, ssl_port=self.ssl_port)
        )
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
