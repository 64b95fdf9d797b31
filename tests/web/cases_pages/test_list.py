"""The inbox list (/cases): who may open it, what a member sees (tabs with counts, a row per
case, overdue said in words as well as colour), and that a non-member sees none of another
department's cases. SQLite and PostgreSQL."""

from __future__ import annotations

import html as markup
import re
from datetime import timedelta

import pytest

from stadspuls.access.roles import cli_actor
from stadspuls.cases.records import Call, CallQuestion
from stadspuls.web.routes import cases_pages
from tests.web.cases_pages.conftest import Inbox, csrf_of, later, row_of, waste


def test_anonymous_readers_go_to_the_login_page_and_viewers_get_the_403_page(
    inbox: Inbox,
) -> None:
    receipt = waste(inbox)
    for path in ("/cases?tab=new", f"/cases/{receipt.case_id}"):
        page = inbox.client.get(path)
        assert page.status_code == 303
        assert page.headers["location"].startswith("/login?next=%2Fcases")
        viewer = inbox.client.get(path, headers=inbox.headers("kees"))
        assert viewer.status_code == 403
        assert "Geen toegang" in viewer.text or "niet open voor uw rol" in viewer.text
    # A change by someone not logged in goes to the login page too, and changes nothing.
    posted = inbox.client.post(f"/cases/{receipt.case_id}/note", data={"text": "hallo"})
    assert posted.status_code == 303
    assert posted.headers["location"].startswith("/login")


def test_a_member_sees_tabs_with_counts_and_a_row_per_case(inbox: Inbox) -> None:
    first = waste(inbox, "w-1")
    second = waste(inbox, "w-2", channel="mastodon")
    page = inbox.client.get("/cases", headers=inbox.headers("anna"))
    assert page.status_code == 200
    html = page.text
    assert 'aria-current="page"' in html
    # The "new" tab counts both; the nav has the inbox link, marked current.
    assert 'aria-current="page"> Nieuw <span class="tab-count">2</span>' in " ".join(html.split())
    assert 'href="/cases" aria-current="page">Burgermeldingen</a>' in html
    for receipt in (first, second):
        row = row_of(html, receipt.case_id)
        assert receipt.reference in row
        assert "Tip" in row
        assert "Grofvuil Kerkstraat" in row
        assert "Wijkzaken" in row
        assert "niemand" in row  # nobody assigned yet
    assert "Webformulier" in html
    assert "Mastodon" in html
    # The other tabs are empty.
    answered = inbox.client.get("/cases?tab=answered", headers=inbox.headers("anna"))
    assert first.reference not in answered.text
    assert "Niets te tonen." in answered.text


def test_a_non_member_analyst_sees_none_of_the_departments_cases(inbox: Inbox) -> None:
    receipt = waste(inbox)
    headers = inbox.headers("piet")  # Handhaving only
    listing = inbox.client.get("/cases", headers=headers)
    assert listing.status_code == 200
    assert receipt.reference not in listing.text
    assert '<span class="tab-count">0</span>' in listing.text
    page = inbox.client.get(f"/cases/{receipt.case_id}", headers=headers)
    assert page.status_code == 404
    assert receipt.reference not in page.text
    assert "Grofvuil" not in page.text
    # Filtering by the other department shows nothing either.
    other = inbox.client.get(f"/cases?department={inbox.wijkzaken}", headers=headers)
    assert receipt.reference not in other.text


def test_overdue_cases_are_marked_with_words_and_listed_in_their_own_tab(inbox: Inbox) -> None:
    late = waste(inbox, "w-late")
    later(inbox, 9)  # past the 8 hours of a first response
    fresh = waste(inbox, "w-fresh")
    headers = inbox.headers("anna")
    html = inbox.client.get("/cases", headers=headers).text
    late_row = row_of(html, late.case_id)
    assert "is-overdue" in late_row
    assert "Te laat" in late_row  # a word, not colour alone
    assert "eerste reactie te laat" in late_row
    assert "is-overdue" not in row_of(html, fresh.case_id)
    tab = inbox.client.get("/cases?tab=overdue", headers=headers).text
    assert late.reference in tab
    assert fresh.reference not in tab
    assert '⚠</span> Te laat <span class="tab-count">1</span>' in " ".join(tab.split())


def test_mine_and_department_filters(inbox: Inbox) -> None:
    mine = waste(inbox, "w-mine")
    other = waste(inbox, "w-other")
    anna = inbox.session("anna")
    page = anna.get(f"/cases/{mine.case_id}")
    posted = anna.post(
        f"/cases/{mine.case_id}/assign",
        data={"assignee": "me", "csrf": csrf_of(page.text)},
    )
    assert posted.status_code == 303
    assigned = anna.get("/cases?tab=assigned&mine=true").text
    assert mine.reference in assigned
    assert other.reference not in assigned
    # Bert works in Wijkzaken too, but nothing is assigned to him.
    bert = inbox.client.get("/cases?tab=assigned&mine=true", headers=inbox.headers("bert"))
    assert mine.reference not in bert.text
    by_department = anna.get(f"/cases?tab=new&department={inbox.wijkzaken}").text
    assert other.reference in by_department
    assert f'<option value="{inbox.wijkzaken}" selected>Wijkzaken</option>' in by_department
    # An admin may filter on any department; Handhaving has none of these.
    boss = inbox.client.get(
        f"/cases?department={inbox.handhaving}", headers=inbox.headers("beheer")
    )
    assert other.reference not in boss.text


def test_the_list_speaks_english_on_request(inbox: Inbox) -> None:
    receipt = waste(inbox)
    page = inbox.client.get("/cases?lang=en", headers=inbox.headers("anna"))
    assert ">Inbox</a>" in page.text
    assert "Web form" in page.text
    assert "Burgermeldingen" not in page.text
    assert receipt.reference in page.text


def test_the_tips_of_one_call_with_its_questions_answered(inbox: Inbox) -> None:
    admin = inbox.client.app.state.case_admin  # type: ignore[attr-defined]
    call = admin.save_call(
        cli_actor("beheer"),
        Call(
            slug="brand-stationsstraat",
            title="Getuigen gezocht: brand Stationsstraat",
            department_id=inbox.wijkzaken,
            starts_at=inbox.clock() - timedelta(hours=1),
            questions=(CallQuestion(key="gezien", label="Wat zag u?"),),
        ),
    )
    tip = inbox.report(
        "call-1", "Ik zag rook uit de kelder komen.", call_slug=call.slug, consent=True,
        answers={"gezien": "Een man met een jerrycan"},
    )  # fmt: skip
    other = waste(inbox, "w-other")
    headers = inbox.headers("anna")
    listed = inbox.client.get(f"/cases?call={call.id}", headers=headers).text
    assert tip.reference in listed
    assert other.reference not in listed
    assert "Tips op de oproep “Getuigen gezocht: brand Stationsstraat”" in markup.unescape(listed)
    page = markup.unescape(inbox.client.get(f"/cases/{tip.case_id}", headers=headers).text)
    assert "Getuigen gezocht: brand Stationsstraat" in page
    assert "Wat zag u?" in page
    assert "Een man met een jerrycan" in page


def test_older_cases_are_a_page_further_and_the_list_refreshes_itself(
    inbox: Inbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cases_pages, "PAGE", 2)
    oldest, middle, newest = (waste(inbox, f"w-{n}") for n in range(3))
    headers = inbox.headers("anna")
    first = inbox.client.get("/cases", headers=headers).text
    assert newest.reference in first
    assert middle.reference in first
    assert oldest.reference not in first
    # The first page looks for new cases by itself; an older page stays as it is.
    assert 'hx-get="/cases?tab=new"' in first
    assert "every 20s" in first
    link = re.search(r'href="(/cases\?tab=new&(?:amp;)?before=\d+)"', first)
    assert link is not None
    older = inbox.client.get(markup.unescape(link.group(1)), headers=headers).text
    assert oldest.reference in older
    assert newest.reference not in older
    assert "hx-get" not in older.split('id="case-list"', 1)[1].split(">", 1)[0]
