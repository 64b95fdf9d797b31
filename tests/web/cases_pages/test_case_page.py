"""A case's page: what it shows (conversation, details, route, history in words, overdue), the
contact details only after a POST (then in the history and the audit log), and the reply from a
reviewed template. SQLite and PostgreSQL."""

from __future__ import annotations

import html as markup
from datetime import timedelta

from stadspuls.cases.records import AcceptedMedia, Contact
from stadspuls.records import Actor, AuditEntry
from stadspuls.store import audit, users
from tests.web.cases_pages.conftest import EMAIL, Inbox, csrf_of, later, waste


def _contact_views(inbox: Inbox) -> list[AuditEntry]:
    _total, entries = audit.list_entries(inbox.engine, limit=100)
    return [entry for entry in entries if entry.action == "contact.view"]


def test_the_page_shows_the_message_details_route_and_history(inbox: Inbox) -> None:
    receipt = waste(inbox, address="Kerkstraat 12", lat=51.4416, lon=5.4697)
    page = inbox.client.get(f"/cases/{receipt.case_id}", headers=inbox.headers("anna"))
    assert page.status_code == 200
    text = markup.unescape(page.text)
    assert receipt.reference in text
    assert "drie dagen grofvuil" in text  # the citizen's message
    assert "Kerkstraat 12" in text
    assert "afval" in text  # the category
    assert "Wijkzaken" in text
    assert "Gerouteerd naar Wijkzaken door regel 'Afval'" in text
    assert "Ontvangen via Webformulier" in text
    assert EMAIL not in text  # contact stays sealed until asked for


def test_overdue_is_shown_on_the_case_too(inbox: Inbox) -> None:
    receipt = waste(inbox)
    later(inbox, 9)
    text = inbox.client.get(f"/cases/{receipt.case_id}", headers=inbox.headers("anna")).text
    assert "case-head card is-overdue" in text
    assert "eerste reactie te laat" in text


def test_the_contact_details_only_after_the_post_and_then_in_the_audit_log(
    inbox: Inbox,
) -> None:
    receipt = waste(inbox)
    anna = inbox.session("anna")
    page = anna.get(f"/cases/{receipt.case_id}")
    assert EMAIL not in page.text
    assert "Toon contactgegevens" in page.text
    assert [
        e for e in audit.list_entries(inbox.engine, limit=100)[1] if e.action == "contact.view"
    ] == []
    # Without the form's token: refused, nothing opened, nothing logged.
    refused = anna.post(f"/cases/{receipt.case_id}/contact", data={})
    assert refused.status_code == 403
    assert EMAIL not in refused.text
    assert "formulier was verlopen" in refused.text
    assert _contact_views(inbox) == []
    shown = anna.post(f"/cases/{receipt.case_id}/contact", data={"csrf": csrf_of(page.text)})
    assert shown.status_code == 200
    assert EMAIL in shown.text
    assert "Jan Jansen" in shown.text
    assert shown.headers["cache-control"] == "no-store"
    viewed = [
        e for e in audit.list_entries(inbox.engine, limit=100)[1] if e.action == "contact.view"
    ]
    assert len(viewed) == 1
    assert viewed[0].actor == "anna"
    again = anna.get(f"/cases/{receipt.case_id}").text
    assert EMAIL not in again
    assert "Contactgegevens bekeken" in again  # in the history, by anna


def test_an_admin_outside_the_department_sees_the_case_but_no_contact_button(
    inbox: Inbox,
) -> None:
    receipt = waste(inbox)
    page = inbox.client.get(f"/cases/{receipt.case_id}", headers=inbox.headers("beheer"))
    assert page.status_code == 200
    assert "Toon contactgegevens" not in page.text
    assert "Alleen leden van de afdeling" in page.text
    # Nor does posting the form by hand open them.
    boss = inbox.session("beheer")
    form = boss.get(f"/cases/{receipt.case_id}").text
    posted = boss.post(f"/cases/{receipt.case_id}/contact", data={"csrf": csrf_of(form)})
    assert posted.status_code == 403
    assert EMAIL not in posted.text


def test_a_template_fills_the_draft_and_an_unreviewed_one_is_disabled(inbox: Inbox) -> None:
    receipt = waste(inbox)
    headers = inbox.headers("anna")
    page = inbox.client.get(f"/cases/{receipt.case_id}", headers=headers).text
    assert '<option value="concept" disabled>' in page
    assert "nog niet gecontroleerd door communicatie" in page
    assert "Gaat per e-mail" in page  # a web report with an address
    drafted = inbox.client.get(f"/cases/{receipt.case_id}?template=opgehaald", headers=headers).text
    assert "Beste melder, het afval is opgehaald. Met vriendelijke groet, Wijkzaken" in drafted
    assert f'value="Uw melding {receipt.reference}"' in drafted
    refused = inbox.client.get(f"/cases/{receipt.case_id}?template=concept", headers=headers)
    assert "kan (nog) niet worden gebruikt" in refused.text
    assert "Nog niet klaar." not in refused.text


def test_the_reply_names_its_channel_and_limit(inbox: Inbox) -> None:
    toot = waste(inbox, "toot-1", channel="mastodon", contact=Contact())
    page = inbox.client.get(f"/cases/{toot.case_id}", headers=inbox.headers("anna")).text
    assert "Gaat op Mastodon (max 500 tekens)" in page
    assert 'data-limit="500"' in page
    anonymous = waste(inbox, "w-anon", contact=Contact())
    page = inbox.client.get(f"/cases/{anonymous.case_id}", headers=inbox.headers("anna")).text
    assert "Verschijnt op de statuspagina" in page
    assert "De burger liet geen contactgegevens achter." in page


def test_photos_show_thumbnails_near_identical_groups_and_findings(inbox: Inbox) -> None:
    taken = inbox.clock() - timedelta(days=3)
    photos = tuple(
        AcceptedMedia(
            sha256=f"{n:064x}", size=2_400_000, content_type="image/jpeg",
            filename=f"IMG_{n}.jpg", width=4000, height=3000, taken_at=taken,
            phash="f0f0f0f0f0f0f0f0", received_at=inbox.clock(),
        )
        for n in (1, 2)
    )  # fmt: skip
    receipt = waste(inbox, media=photos, occurred_at=inbox.clock())
    anna = inbox.client.get(f"/cases/{receipt.case_id}", headers=inbox.headers("anna"))
    text = markup.unescape(anna.text)
    view = inbox.cases.view(_admin_actor(inbox), receipt.case_id)
    first = min(item.id for item in view.media)
    assert f'src="/cases/media/{first}/thumb"' in text
    assert f'href="/cases/media/{first}/original"' in text
    # One group of two near-identical photos, shown once with its count.
    assert text.count('class="media-item"') == 1
    assert "2 bijna gelijke foto's" in text
    # The capture time three days before the report is a finding, in Dutch words.
    findings = text[text.index('class="findings"') :]
    findings = findings[: findings.index("</ul>")]
    assert "3 dagen" in findings
    english = inbox.client.get(f"/cases/{receipt.case_id}?lang=en", headers=inbox.headers("anna"))
    assert "3 days" in markup.unescape(english.text)


def _admin_actor(inbox: Inbox) -> Actor:
    user = users.find_user(inbox.engine, "beheer")
    assert user is not None
    return users.actor_of(user, "session")
