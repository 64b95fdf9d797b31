"""Volunteers end to end, in real Chromium against a real `stadspuls run` (its notifier included),
with a real SMTP server and a real Web Push service on loopback:

1. a citizen registers on /vrijwilligers (phone width) with a postcode and push as a channel,
   confirms with the link from the e-mail, grants notifications and switches them on: the page
   registers the service worker and subscribes;
2. an operator logs in and sends a call-out near that postcode from /oproepen-vrijwilligers;
3. the notifier encrypts the call-out for the subscription and posts it to the push service,
   which checks the VAPID signature and decrypts it (RFC 8291/8292);
4. the decrypted payload is handed to the page's service worker with CDP
   `ServiceWorker.deliverPushMessage`, and the worker shows the notification with its actions;
5. the volunteer answers with the answer link: "coming", then "arrived"; the operator's screen
   shows both without a reload.

Why the subscription is made by the test: Chromium's real `PushManager.subscribe()` asks
Google's push service (FCM) for an endpoint, which cannot be reached offline. An init script
(`context.add_init_script`) therefore replaces `PushManager.prototype.subscribe` with one that
returns a subscription whose endpoint is the local push service and whose p256dh/auth keys the
test generated (`PushService.subscribe()`), so that the service can decrypt what the server
encrypts. Everything else is the browser's own: the permission (granted with
`context.grant_permissions`), the service worker's registration, the push event, the
notification.

Screenshots in test-artifacts/: the registration form at phone width, the volunteer's own page,
the answer page, and the operator's live screen.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from aiosmtpd.controller import Controller

from tests.e2e.conftest import PASSWORD, Dashboard, _chromium
from tests.support.http import closed_port, serve
from tests.support.push_service import PushService
from tests.support.smtp_server import SmtpInbox

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

pytestmark = pytest.mark.timeout(280)

PHONE_WIDTH, PHONE_HEIGHT = 390, 844
TITLE = "Vermiste jongen, 7 jaar"
MESSAGE = "Kijk uit naar een jongen met een rode jas bij het Wilhelminapark."
# Replaces the browser's PushManager.subscribe (see the module's docstring): the subscription
# the test made at the local push service, in the shape of a real PushSubscription.
FAKE_SUBSCRIBE = """
(() => {
  const sub = %s;
  const bytes = (text) => {
    const padded = text + "==".slice(0, (4 - text.length %% 4) %% 4);
    const raw = atob(padded.replace(/-/g, "+").replace(/_/g, "/"));
    return Uint8Array.from(raw, (c) => c.charCodeAt(0)).buffer;
  };
  if (typeof PushManager === "undefined") return;
  const made = (options) => ({
    endpoint: sub.endpoint,
    expirationTime: null,
    options: options,
    getKey: (name) => bytes(sub.keys[name]),
    toJSON: () => ({ endpoint: sub.endpoint, expirationTime: null, keys: sub.keys }),
    unsubscribe: () => Promise.resolve(true),
  });
  PushManager.prototype.subscribe = function (options) {
    window.__pushOptions = options;
    localStorage.setItem("test-push-subscribed", "1");
    return Promise.resolve(made(options));
  };
  // As the browser keeps its subscription: after subscribe, on every later page too.
  PushManager.prototype.getSubscription = function () {
    return Promise.resolve(localStorage.getItem("test-push-subscribed") ? made({}) : null);
  };
})();
"""


@contextmanager
def served_push() -> Iterator[PushService]:
    """The push service on a loopback port, in a thread of its own (the test is synchronous)."""
    service = PushService()
    ready = threading.Event()
    stop: asyncio.Event | None = None
    loop: asyncio.AbstractEventLoop | None = None

    async def main() -> None:
        nonlocal stop, loop
        stop, loop = asyncio.Event(), asyncio.get_running_loop()
        async with serve(service.app) as origin:
            service.origin = origin
            ready.set()
            await stop.wait()

    thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True)
    thread.start()
    assert ready.wait(10), "the push service did not start"
    try:
        yield service
    finally:
        assert loop is not None
        assert stop is not None
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)


@contextmanager
def smtp_server() -> Iterator[tuple[SmtpInbox, int]]:
    inbox = SmtpInbox()
    port = closed_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


class World:
    def __init__(self, server: Dashboard, push: PushService, mail: SmtpInbox) -> None:
        self.server, self.push, self.mail = server, push, mail

    def link(self, kind: str, timeout: float = 20) -> str:
        """The newest `/vrijwilligers/<kind>/…` link in the e-mails (waits for the mail)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in reversed(self.mail.messages):
                body = message.get_body(preferencelist=("plain", "html"))
                text = "" if body is None else str(body.get_content())
                found = re.findall(
                    r"https?://[^\s\"'<>]+/vrijwilligers/" + kind + r"/[^\s\"'<>]+", text
                )
                if found:
                    return str(found[0])
            time.sleep(0.2)
        raise AssertionError(f"no {kind} link in {len(self.mail.messages)} e-mails")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    _chromium()
    root = tmp_path_factory.mktemp("volunteers")
    with smtp_server() as (mail, smtp_port), served_push() as push:
        running = Dashboard(root)
        running.env.update(
            {
                "STADSPULS_SMTP__HOST": "127.0.0.1",
                "STADSPULS_SMTP__PORT": str(smtp_port),
                "STADSPULS_SMTP__STARTTLS": "false",
                "STADSPULS_VOLUNTEERS__POLL_S": "0.2",
                # The push service of this test runs on loopback, beside the server.
                "STADSPULS_VOLUNTEERS__PUSH_ALLOW_LOOPBACK": "true",
            }
        )
        running.add_user("olga", "analyst")
        running.start()
        try:
            yield World(running, push, mail)
        finally:
            running.stop()


def shot(page: Page, artifacts: Path, name: str) -> None:
    page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)


def registration_id(page: Page, context: BrowserContext) -> tuple[Any, str]:
    """A CDP session on the page and the service worker registration's id for /vrijwilligers/."""
    cdp = context.new_cdp_session(page)
    found: list[str] = []

    def updated(event: dict[str, Any]) -> None:
        for registration in event.get("registrations", []):
            scope = registration.get("scopeURL", "")
            if scope.endswith("/vrijwilligers/") and not registration.get("isDeleted"):
                found.append(registration["registrationId"])

    cdp.on("ServiceWorker.workerRegistrationUpdated", updated)
    cdp.send("ServiceWorker.enable")
    deadline = time.monotonic() + 10
    while not found and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    assert found, "the service worker's registration was not reported"
    return cdp, found[-1]


def test_register_subscribe_call_out_push_answer_live(
    world: World, browser: Browser, artifacts: Path
) -> None:
    url = world.server.url
    subscription = world.push.subscribe()
    sub_json = {
        "endpoint": subscription.endpoint,
        "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth},
    }
    volunteer = browser.new_context(
        viewport={"width": PHONE_WIDTH, "height": PHONE_HEIGHT}, locale="nl-NL", base_url=url
    )
    volunteer.grant_permissions(["notifications"], origin=url)
    volunteer.add_init_script(FAKE_SUBSCRIBE % json.dumps(sub_json))
    page = volunteer.new_page()
    try:
        # 1. Register with a postcode, at phone width.
        page.goto("/vrijwilligers")
        assert page.locator("h1").inner_text() == "Word vrijwilliger in uw buurt"
        assert page.locator("#radius_range").is_visible()  # the slider, with the script
        page.fill("#name", "Sanne")
        page.fill("#email", "sanne@example.nl")
        page.fill("#address", "3583")
        page.locator("#radius_range").fill("8")
        assert page.input_value("#radius_km") == "8"
        page.check("#skill-first_aid")
        page.check("#channel-push")
        page.check("#consent")
        shot(page, artifacts, "volunteer-register-phone")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE_WIDTH, f"the form is wider than the phone: {width}px"
        page.click("button[type=submit]")
        page.wait_for_url("**/vrijwilligers/controleer-mail")
        assert "Kijk in uw e-mail" in page.locator("h1").inner_text()

        # 2. Confirm with the link from the e-mail; the own page opens.
        page.goto(world.link("bevestig"))
        page.click("#confirm")
        page.wait_for_url(re.compile(r".*/vrijwilligers/ik/.*"))
        assert "Uw e-mailadres is bevestigd" in page.inner_text("main")

        # 3. Switch on notifications: the permission, the worker, the (test's) subscription.
        page.click("[data-push-enable]")
        page.wait_for_selector("[data-push][data-push-state=on]", timeout=15000)
        options = page.evaluate(
            "({visible: window.__pushOptions.userVisibleOnly,"
            " key: window.__pushOptions.applicationServerKey.byteLength})"
        )
        assert options == {"visible": True, "key": 65}  # the server's VAPID key, uncompressed
        own_page = page.url.split("?")[0]
        page.reload()
        assert "1 apparaat heeft meldingen aan" in page.inner_text("#push")
        # The page knows this device is on: no button to switch it on again.
        page.wait_for_selector("[data-push][data-push-state=on]")
        assert page.locator("[data-push-enable]").is_hidden()
        shot(page, artifacts, "volunteer-own-page")
        cdp, registration = registration_id(page, volunteer)

        # 4. The operator logs in and sends a call-out near that postcode.
        staff = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=url)
        desk = staff.new_page()
        desk.goto("/login?next=/oproepen-vrijwilligers")
        desk.fill("#username", "olga")
        desk.fill("#password", PASSWORD)
        desk.click("button[type=submit]")
        desk.wait_for_url("**/oproepen-vrijwilligers")
        shot(desk, artifacts, "operator-callout-form")
        desk.fill("#title", TITLE)
        desk.fill("#message", MESSAGE)
        desk.fill("#address", "3584")
        desk.fill("#radius_km", "5")
        desk.click("form.callout-form button[type=submit]")
        desk.wait_for_url(re.compile(r".*/oproepen-vrijwilligers/\d+$"))
        assert desk.inner_text("[data-count=unanswered]") == "1"

        # 5. The notifier's push arrives at the push service, signed and decrypted.
        deadline = time.monotonic() + 30
        while not world.push.received and time.monotonic() < deadline:
            time.sleep(0.2)
        assert world.push.received, f"no push arrived; refused: {world.push.refused}"
        pushed = world.push.received[0]
        assert pushed.subscription == world.push.sid(subscription)
        payload = pushed.json()
        assert payload["title"] == TITLE
        assert MESSAGE in str(payload["body"])

        # 6. The service worker gets the decrypted payload and shows the notification.
        cdp.send(
            "ServiceWorker.deliverPushMessage",
            {"origin": url, "registrationId": registration, "data": pushed.payload.decode()},
        )
        shown: list[dict[str, Any]] = []
        deadline = time.monotonic() + 10
        while not shown and time.monotonic() < deadline:
            shown = page.evaluate(
                """navigator.serviceWorker.ready
                   .then((r) => r.getNotifications())
                   .then((all) => all.map((n) => ({title: n.title, body: n.body,
                                                   actions: n.actions.map((a) => a.action)})))"""
            )
            if not shown:
                page.wait_for_timeout(200)
        assert shown, "the service worker showed no notification"
        assert shown[0]["title"] == TITLE
        assert MESSAGE in shown[0]["body"]
        assert shown[0]["actions"] == ["accepted", "declined"]

        # 7. The notification's "Kan niet" action: the worker posts that answer itself. (No
        # browser API clicks a notification: the worker gets the same NotificationEvent a
        # click makes, with the notification it showed.)
        workers = [w for w in volunteer.service_workers if w.url.endswith("/vrijwilligers/sw.js")]
        assert workers, "no service worker"
        workers[0].evaluate(
            """self.registration.getNotifications().then((all) => {
                 self.dispatchEvent(new NotificationEvent("notificationclick",
                                    {notification: all[0], action: "declined"}));
               })"""
        )
        desk.wait_for_function(
            "document.querySelector('[data-count=declined]').textContent.trim() === '1'",
            timeout=10000,
        )

        # 8. Then they can after all, with the link the notification carries: coming, there.
        accept_url = str(payload["url"])
        assert "/vrijwilligers/antwoord/" in accept_url
        page.goto(accept_url)
        assert TITLE in page.locator("h1").inner_text()
        assert desk.inner_text("[data-count=accepted]") == "0"  # opening it answered nothing
        shot(page, artifacts, "volunteer-answer-page")
        page.click("button.answer-accepted")
        page.wait_for_selector("#answered")
        assert "U hebt gezegd dat u komt" in page.inner_text("#answered")
        desk.wait_for_function(
            "document.querySelector('[data-count=accepted]').textContent.trim() === '1'",
            timeout=10000,
        )
        assert "Sanne" in desk.inner_text("table.targets")  # the name, once they accepted
        page.click("button.answer-arrived")
        page.wait_for_selector("#answered")
        assert "U bent er" in page.inner_text("#answered")
        desk.wait_for_function(
            "document.querySelector('[data-count=arrived]').textContent.trim() === '1'",
            timeout=10000,
        )
        shot(desk, artifacts, "operator-live-callout")
        # The volunteer's own history shows the call-out and what they answered.
        page.goto(own_page)
        history = page.inner_text("ul.history")
        assert TITLE in history
        assert "U was er" in history
        shot(page, artifacts, "volunteer-own-history")
        staff.close()
    finally:
        volunteer.close()


def test_a_point_from_the_offline_map_and_from_the_phone(
    world: World, browser: Browser, artifacts: Path
) -> None:
    """The map is the shipped SVG of the municipalities (no tiles from the internet): a tap on
    Utrecht gives a point inside Utrecht; "use my location" takes the phone's position."""
    url = world.server.url
    context = browser.new_context(
        viewport={"width": PHONE_WIDTH, "height": PHONE_HEIGHT},
        locale="nl-NL",
        base_url=url,
        geolocation={"latitude": 51.4416, "longitude": 5.4697},  # Eindhoven
    )
    context.grant_permissions(["geolocation"], origin=url)
    outside: list[str] = []
    context.on(
        "request",
        lambda request: outside.append(request.url) if not request.url.startswith(url) else None,
    )
    page = context.new_page()
    try:
        page.goto("/vrijwilligers")
        # Sent empty: the summary of what is wrong gets the focus, each error links its field.
        page.click("button[type=submit]")
        page.wait_for_selector("#error-summary")
        # The page's script moves the focus once it has run (later than the element appears on a
        # loaded machine): wait for it, and fail if it never comes.
        page.wait_for_function("document.activeElement?.id === 'error-summary'", timeout=10_000)
        page.click("#error-summary a[href='#name']")
        assert page.evaluate("document.activeElement.id") == "name"
        page.click("[data-open-map]")
        utrecht = page.locator("[data-map-picker] path[data-name='Utrecht']")
        utrecht.wait_for()
        utrecht.scroll_into_view_if_needed()
        box = utrecht.bounding_box()
        assert box is not None
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        lat, lon = float(page.input_value("#lat")), float(page.input_value("#lon"))
        assert 52.02 < lat < 52.15, lat  # the municipality of Utrecht
        assert 5.0 < lon < 5.2, lon
        assert "Utrecht" in page.inner_text("#point")
        shot(page, artifacts, "volunteer-register-map")
        page.emulate_media(color_scheme="dark")  # a phone at night
        shot(page, artifacts, "volunteer-register-dark")
        page.emulate_media(color_scheme="light")
        page.click("[data-use-location]")
        page.wait_for_function("document.querySelector('#lat').value.startsWith('51.44')")
        assert page.input_value("#lon").startswith("5.46")
        # Registered with the phone's point: the service takes it (inside the Netherlands).
        page.fill("#name", "Daan")
        page.fill("#email", "daan@example.nl")
        page.check("#consent")
        page.click("button[type=submit]")
        page.wait_for_url("**/vrijwilligers/controleer-mail")
        assert outside == [], f"the page fetched from outside: {outside}"
    finally:
        context.close()
