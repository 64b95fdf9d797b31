"""The outbox worker against real receivers on loopback: signed webhooks, a receiver that is down
for a while, a dead endpoint beside a live one, e-mail through a real SMTP server."""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import ssl
import time
from collections.abc import AsyncIterator, Callable
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from stadspuls.alerts.delivery import (
    Channels,
    Outbox,
    check_channels,
    deliver_once,
    load_channels,
    run_delivery,
)
from stadspuls.alerts.rules import AlertRule
from stadspuls.alerts.webhook import ChannelError, sign, verify
from stadspuls.backoff import backoff_s
from stadspuls.settings import AlertSettings, Settings, SmtpSettings, WebhookSettings
from stadspuls.store import alerts as store
from stadspuls.store import outbox
from stadspuls.store.database import open_store
from stadspuls.store.outbox import Delivery
from tests.alerts.factories import add_monitor, signal
from tests.alerts.receiver import Receiver
from tests.support.http import closed_port, serve

SECRET = b"a-long-shared-secret-for-tests"
FAST = AlertSettings(backoff_min_s=0.05, backoff_max_s=0.2, poll_s=0.02, send_timeout_s=2.0)


def _settings(settings: Settings, tmp_path: Path, hooks: dict[str, str], **more: Any) -> Settings:
    secret = tmp_path / "webhook.secret"
    secret.write_bytes(SECRET + b"\n")
    webhooks = [WebhookSettings(name=n, url=u, secret_file=secret) for n, u in hooks.items()]
    return settings.model_copy(update={"webhooks": webhooks, "alerts": FAST, **more})


def _alert(engine: sa.Engine, monitor: int, key: str, channels: tuple[str, ...]) -> int:
    store.set_rule(engine, AlertRule(monitor_id=monitor, detector="burst", channels=channels))
    with engine.begin() as conn:
        (event,) = store.record_signals(conn, [signal(monitor, key=key)])
    return event


async def _until(condition: Callable[[], bool], timeout: float = 10.0) -> float:
    """Seconds it took for `condition` to hold; fails after `timeout`."""
    start = time.monotonic()
    while not condition():
        assert time.monotonic() - start < timeout, "condition not met in time"
        await asyncio.sleep(0.01)
    return time.monotonic() - start


def test_signature_covers_timestamp_and_body() -> None:
    body = b'{"event":"opened"}'
    stamp = str(int(time.time()))
    signature = sign(SECRET, stamp, body)
    assert signature.startswith("sha256=")
    assert verify(SECRET, stamp, body, signature)
    assert not verify(SECRET, stamp, body + b" ", signature)
    assert not verify(SECRET, str(int(stamp) - 1), body, signature)
    assert not verify(b"another secret of some length", stamp, body, signature)
    # A replay of a genuine request ten minutes later is refused.
    assert not verify(SECRET, stamp, body, signature, now=int(stamp) + 600)


def test_back_off_doubles_with_jitter_up_to_the_cap() -> None:
    config = AlertSettings()
    bounds = (config.backoff_min_s, config.backoff_max_s)
    low = [backoff_s(n, *bounds, lambda: 0.0) for n in range(1, 10)]
    high = [backoff_s(n, *bounds, lambda: 1.0) for n in range(1, 10)]
    assert low[:3] == pytest.approx([4.0, 8.0, 16.0])
    assert high[:3] == pytest.approx([6.0, 12.0, 24.0])
    assert max(high) == config.backoff_max_s


def test_a_receiver_down_for_a_while_gets_every_alert_once_afterwards(
    settings: Settings, tmp_path: Path, db_url: str
) -> None:
    """On SQLite and PostgreSQL."""
    port = closed_port()
    hooks = {"politie": f"http://127.0.0.1:{port}/hook"}
    config = _settings(settings, tmp_path, hooks, db_url=db_url)
    engine = open_store(config.db_url)
    monitor = add_monitor(engine)
    receiver = Receiver(SECRET)

    async def scenario() -> None:
        channels = load_channels(config)
        stop = asyncio.Event()
        worker = asyncio.create_task(Outbox(engine, channels, config.alerts).run(stop))
        for key in "abc":
            _alert(engine, monitor, key, ("webhook:politie",))
        # Down: nothing listens on the port; the worker retries with back-off.
        await asyncio.sleep(0.6)
        assert outbox.delivery_counts(engine) == {"pending": 3}
        async with serve(receiver, port):
            await _until(lambda: len(receiver.received) == 3)
            for key in "de":
                _alert(engine, monitor, key, ("webhook:politie",))
            await _until(lambda: len(receiver.received) == 5)
            await asyncio.sleep(0.3)  # anything sent twice would arrive now
        stop.set()
        await worker
        await channels.aclose()

    asyncio.run(scenario())
    assert receiver.refused == 0
    assert len(receiver.delivery_ids) == len(set(receiver.delivery_ids)) == 5
    assert sorted(body["alert"]["key"] for body in receiver.received) == list("abcde")
    assert {body["event"] for body in receiver.received} == {"opened"}
    assert all(
        body["link"].endswith(f"/alerts/{body['alert']['id']}") for body in receiver.received
    )
    assert outbox.delivery_counts(engine) == {"delivered": 5}
    with engine.connect() as conn:
        attempts = [
            a for (a,) in conn.execute(sa.text("SELECT attempts FROM alert_deliveries ORDER BY id"))
        ]
    # The first was tried while the receiver was down; the two behind it waited unsent.
    assert attempts[0] > 1
    assert attempts[1:] == [1, 1, 1, 1]
    engine.dispose()


@contextlib.asynccontextmanager
async def _silent_server() -> AsyncIterator[int]:
    """Accepts connections and never answers: an endpoint that hangs."""
    held: list[asyncio.StreamWriter] = []

    async def hold(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()


def test_a_dead_endpoint_does_not_delay_another(settings: Settings, tmp_path: Path) -> None:
    receiver = Receiver(SECRET)

    async def scenario() -> tuple[float, float, dict[str, int]]:
        async with _silent_server() as dead_port, serve(receiver) as url:
            hooks = {"dead": f"http://127.0.0.1:{dead_port}/", "live": f"{url}/hook"}
            config = _settings(settings, tmp_path, hooks)
            engine = open_store(config.db_url)
            monitor = add_monitor(engine)
            channels = load_channels(config)
            stop = asyncio.Event()
            worker = asyncio.create_task(Outbox(engine, channels, config.alerts).run(stop))
            _alert(engine, monitor, "a", ("webhook:dead", "webhook:live"))
            first = await _until(lambda: len(receiver.received) == 1)
            # The dead endpoint is still inside its 2 s timeout: the next alert goes through.
            _alert(engine, monitor, "b", ("webhook:dead", "webhook:live"))
            second = await _until(lambda: len(receiver.received) == 2)
            await asyncio.sleep(2.5)  # past the dead endpoint's timeout
            stop.set()
            await worker
            await channels.aclose()
            counts = outbox.delivery_counts(engine)
            engine.dispose()
            return first, second, counts

    first, second, counts = asyncio.run(scenario())
    assert first < 1.0
    assert second < 1.0
    assert counts == {"delivered": 2, "pending": 2}


def test_old_deliveries_are_given_up_and_logged(
    settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = _settings(settings, tmp_path, {"politie": f"http://127.0.0.1:{closed_port()}/"})
    engine = open_store(config.db_url)
    monitor = add_monitor(engine)
    _alert(engine, monitor, "a", ("webhook:politie",))
    first = asyncio.run(deliver_once(engine, config))
    assert first == {"retry": 1}
    later = time.time() + 25 * 3600  # a day and an hour later, the receiver still down

    async def pass_later() -> Any:
        channels = load_channels(config)
        try:
            return await Outbox(engine, channels, config.alerts, clock=lambda: later).deliver_due()
        finally:
            await channels.aclose()

    assert asyncio.run(pass_later()) == {"failed": 1}
    assert outbox.delivery_counts(engine) == {"failed": 1}
    assert "given up after 1 attempts in 24 h" in caplog.text
    engine.dispose()


def test_a_missing_secret_is_refused_at_start_up(settings: Settings, tmp_path: Path) -> None:
    hook = WebhookSettings(name="politie", url="http://x/", secret_file=tmp_path / "none")
    with pytest.raises(ChannelError, match="cannot read secret_file"):
        load_channels(settings.model_copy(update={"webhooks": [hook]}))
    env = WebhookSettings(name="politie", url="http://x/", secret_env="STADSPULS_TEST_NO_SUCH")
    with pytest.raises(ChannelError, match="missing or short"):
        load_channels(settings.model_copy(update={"webhooks": [env]}))
    with pytest.raises(ValueError, match="exactly one of secret_file, secret_env"):
        WebhookSettings(name="politie", url="http://x/")


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.recipients: list[list[str]] = []

    async def handle_DATA(self, _server: SMTP, _session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 Message accepted for delivery"


def test_an_alert_e_mail_reaches_a_real_smtp_server(settings: Settings, tmp_path: Path) -> None:
    inbox = _Inbox()
    port = closed_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        smtp = SmtpSettings(host="127.0.0.1", port=port, starttls=False, sender="alerts@stad.nl")
        config = _settings(settings, tmp_path, {}, smtp=smtp)
        engine = open_store(config.db_url)
        monitor = add_monitor(engine)
        _alert(engine, monitor, "", ("live", "email:wachtcommandant@example.nl"))
        done = asyncio.run(deliver_once(engine, config))
    finally:
        controller.stop()
    assert done == {"delivered": 1}
    (message,) = inbox.messages
    assert inbox.recipients == [["wachtcommandant@example.nl"]]
    assert message["From"] == "alerts@stad.nl"
    assert message["Subject"] == ("[Stadspuls] MEDIUM burst #1: 12 posts in 10 min, 1.5 expected")
    body = message.get_content()
    for expected in (
        "Stadspuls-melding (nieuw) / Stadspuls alert (opened)",
        "Waargenomen / observed:    12",
        "Verwacht / expected:       1.5",
        "Termen / terms:            vechtpartij, politie",
        "Plaatsen / places:         Eindhoven",
        "bluesky:3f9c01",
        "2026-11-23 13:00 (Europe/Amsterdam)",
        "Openen / open: http://127.0.0.1:8000/alerts/1",
    ):
        assert expected in body
    assert outbox.delivery_counts(engine) == {"delivered": 1}
    engine.dispose()


def test_the_verification_example_in_the_docs_works() -> None:
    docs = (Path(__file__).resolve().parents[2] / "docs" / "alerts.md").read_text()
    example = docs.split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict[str, Any] = {}
    exec(example, namespace)  # the documented receiver code, as a reader would paste it
    body = b'{"event":"opened"}'
    stamp = str(int(time.time()))
    headers = {"X-Stadspuls-Timestamp": stamp, "X-Stadspuls-Signature": sign(SECRET, stamp, body)}
    assert namespace["verified"](SECRET, headers, body)
    assert not namespace["verified"](SECRET, headers, body + b"x")
    old = str(int(stamp) - 600)
    replayed = {"X-Stadspuls-Timestamp": old, "X-Stadspuls-Signature": sign(SECRET, old, body)}
    assert not namespace["verified"](SECRET, replayed, body)


def test_run_delivery_sends_until_stopped(settings: Settings, tmp_path: Path) -> None:
    receiver = Receiver(SECRET)

    async def scenario() -> int:
        async with serve(receiver) as url:
            config = _settings(settings, tmp_path, {"politie": f"{url}/hook"})
            check_channels(config)
            engine = open_store(config.db_url)
            monitor = add_monitor(engine)
            stop = asyncio.Event()
            worker = asyncio.create_task(run_delivery(engine, config, stop))
            _alert(engine, monitor, "a", ("webhook:politie",))
            await _until(lambda: len(receiver.received) == 1)
            stop.set()
            await asyncio.wait_for(worker, 5)
            engine.dispose()
            return len(receiver.received)

    assert asyncio.run(scenario()) == 1
    broken = WebhookSettings(name="politie", url="http://x/", secret_env="STADSPULS_TEST_NO_SUCH")
    with pytest.raises(ChannelError, match="politie"):
        check_channels(settings.model_copy(update={"webhooks": [broken]}))


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key: the test's own small CA of one."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "smtp.crt", tmp_path / "smtp.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


def test_e_mail_over_starttls_with_login_and_a_checked_certificate(
    settings: Settings, tmp_path: Path
) -> None:
    cert_file, key_file = _self_signed(tmp_path)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert_file, key_file)
    logins: list[tuple[str, str]] = []

    def authenticator(
        _server: SMTP, _session: Session, _envelope: Envelope, _mechanism: str, data: Any
    ) -> AuthResult:
        assert isinstance(data, LoginPassword)
        logins.append((data.login.decode(), data.password.decode()))
        return AuthResult(success=data.password == b"s3cret-password")

    inbox = _Inbox()
    port = closed_port()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        tls_context=tls,
        require_starttls=True,
        authenticator=authenticator,
        auth_require_tls=True,
    )
    controller.start()
    password = tmp_path / "smtp.password"
    password.write_text("s3cret-password\n")
    try:
        engine = open_store(settings.db_url)
        monitor = add_monitor(engine)
        _alert(engine, monitor, "", ("email:wacht@example.nl",))
        trusted = SmtpSettings(
            host="127.0.0.1", port=port, user="stadspuls", password_file=password, ca_file=cert_file
        )
        untrusted = trusted.model_copy(update={"ca_file": None})
        refused = asyncio.run(deliver_once(engine, settings.model_copy(update={"smtp": untrusted})))
        outbox.release(engine, [1], 0)  # due again at once for the second try
        sent = asyncio.run(deliver_once(engine, settings.model_copy(update={"smtp": trusted})))
    finally:
        controller.stop()
    # Without the CA the certificate is refused before anything is sent; with it, it goes.
    assert refused == {"retry": 1}
    assert sent == {"delivered": 1}
    assert logins == [("stadspuls", "s3cret-password")]
    assert len(inbox.messages) == 1
    engine.dispose()


def test_a_webhook_removed_from_the_settings_fails_at_once(
    settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    engine = open_store(settings.db_url)
    monitor = add_monitor(engine)
    _alert(engine, monitor, "", ("webhook:gone",))  # the rule was set while it existed
    config = _settings(settings, tmp_path, {"politie": f"http://127.0.0.1:{closed_port()}/"})
    assert asyncio.run(deliver_once(engine, config)) == {"failed": 1}
    assert outbox.delivery_counts(engine) == {"failed": 1}
    assert "no webhook named 'gone' in the settings" in caplog.text
    engine.dispose()


def test_two_workers_at_once_send_each_delivery_once(
    settings: Settings, tmp_path: Path, db_url: str
) -> None:
    """The worker inside `run` and a one-shot `alerts deliver` may run together (both DBs)."""
    receiver = Receiver(SECRET)

    async def scenario() -> dict[str, int]:
        async with serve(receiver) as url:
            hooks = {f"h{n}": f"{url}/hook/{n}" for n in range(3)}
            config = _settings(settings, tmp_path, hooks, db_url=db_url)
            engine = open_store(config.db_url)
            monitor = add_monitor(engine)
            targets = tuple(f"webhook:h{n}" for n in range(3))
            for key in range(10):
                _alert(engine, monitor, str(key), targets)
            stop = asyncio.Event()
            opened = [load_channels(config) for _ in range(2)]
            workers = [
                asyncio.create_task(Outbox(engine, channels, config.alerts).run(stop))
                for channels in opened
            ]
            once = await deliver_once(engine, config)
            await _until(lambda: len(receiver.received) >= 30)
            await asyncio.sleep(0.3)
            stop.set()
            await asyncio.gather(*workers)
            for channels in opened:
                await channels.aclose()
            counts = outbox.delivery_counts(engine)
            engine.dispose()
            return {**counts, "by_deliver_once": once["delivered"]}

    counts = asyncio.run(scenario())
    assert len(receiver.delivery_ids) == len(set(receiver.delivery_ids)) == 30
    assert counts["delivered"] == 30
    assert "pending" not in counts


def test_a_bug_in_a_channel_is_logged_and_retried_not_lost(
    settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken(Channels):
        async def send(self, delivery: Delivery) -> None:
            raise RuntimeError("a bug in a channel")

    config = _settings(settings, tmp_path, {"politie": "http://127.0.0.1:9/"})
    engine = open_store(config.db_url)
    monitor = add_monitor(engine)
    _alert(engine, monitor, "", ("webhook:politie",))

    async def one_pass() -> Any:
        channels = Broken(config)
        try:
            return await Outbox(engine, channels, config.alerts).deliver_due()
        finally:
            await channels.aclose()

    assert asyncio.run(one_pass()) == {"retry": 1}
    assert "RuntimeError: a bug in a channel" in caplog.text
    (row,) = outbox.deliveries_of(engine, 1)
    assert (row["state"], row["last_error"]) == ("pending", "RuntimeError: a bug in a channel")
    engine.dispose()
