"""A volunteer's own page behind the signed link: their data, changing it, pausing and resuming,
leaving (which deletes everything, after a confirmation), a push subscription from the page's
script, and a forged link that opens nothing."""

from __future__ import annotations

import re

from tests.web.volunteers.conftest import Site


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def test_the_page_shows_their_own_data_only_with_the_link(site: Site) -> None:
    manage = site.confirmed()
    page = site.client.get(manage)
    assert page.status_code == 200
    assert "sanne@example.nl" in page.text
    assert 'value="Sanne"' in page.text
    assert page.headers["cache-control"] == "no-store"
    assert "noindex" in page.headers.get("x-robots-tag", "")
    forged = manage[:-4] + ("AAAA" if not manage.endswith("AAAA") else "BBBB")
    refused = site.client.get(forged)
    assert refused.status_code == 400
    assert "sanne@example.nl" not in refused.text
    assert site.client.get(manage).status_code == 200  # the real link still works


def test_changing_the_radius_skills_and_place(site: Site) -> None:
    manage = site.confirmed()
    page = site.client.get(manage)
    answer = site.client.post(
        manage,
        data={
            "csrf": csrf_of(page.text),
            "name": "Sanne B.",
            "where": "Amersfoort",
            "radius_km": "12",
            "skills": ["cpr", "car"],
            "availability": "spans",
            "hours-0": "08:00-17:00",
            "hours-5": "10-14, 19:00-24:00",
            "channels": ["email", "push"],
        },
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    volunteer_id = site.volunteers.open_manage_token(manage.rsplit("/", 1)[1])
    changed = site.volunteers.get(volunteer_id, private=True)
    assert changed.radius_km == 12
    assert set(changed.skills) == {"cpr", "car"}
    assert {(s.weekday, s.start.hour, s.end.hour) for s in changed.availability} == {
        (0, 8, 17), (5, 10, 14), (5, 19, 0)
    }  # fmt: skip
    assert changed.private is not None
    assert changed.private.name == "Sanne B."
    assert "Amersfoort" in changed.private.place_label
    shown = site.client.get(answer.headers["location"])
    assert "Uw wijzigingen zijn bewaard" in shown.text


def test_a_bad_change_is_refused_and_nothing_changes(site: Site) -> None:
    manage = site.confirmed()
    page = site.client.get(manage)
    answer = site.client.post(
        manage,
        data={"csrf": csrf_of(page.text), "name": "Sanne", "where": "0000",
              "radius_km": "500", "availability": "always", "channels": ["email"]},
    )  # fmt: skip
    assert answer.status_code == 422
    volunteer_id = site.volunteers.open_manage_token(manage.rsplit("/", 1)[1])
    assert site.volunteers.get(volunteer_id).radius_km == 5


def test_pause_resume_and_leave(site: Site) -> None:
    manage = site.confirmed()
    volunteer_id = site.volunteers.open_manage_token(manage.rsplit("/", 1)[1])
    csrf = csrf_of(site.client.get(manage).text)
    assert site.client.post(f"{manage}/pauze", data={"csrf": "x"}).status_code == 403
    assert site.volunteers.get(volunteer_id).state == "active"
    paused = site.client.post(f"{manage}/pauze", data={"csrf": csrf})
    assert paused.status_code == 200
    assert site.volunteers.get(volunteer_id).state == "paused"
    assert "Gepauzeerd" in paused.text
    site.client.post(f"{manage}/hervat", data={"csrf": csrf})
    assert site.volunteers.get(volunteer_id).state == "active"
    # Leaving asks first; the GET deletes nothing.
    confirm = site.client.get(f"{manage}/verlaten")
    assert confirm.status_code == 200
    assert "Ja, verwijder mijn gegevens" in confirm.text
    assert site.volunteers.counts().get("active") == 1
    gone = site.client.post(f"{manage}/verlaten", data={"csrf": csrf})
    assert gone.status_code == 200
    assert "Uw gegevens zijn verwijderd" in gone.text
    assert sum(site.volunteers.counts().values()) == 0
    assert site.client.get(manage).status_code == 400  # the link opens nothing any more
    # The address may register again.
    assert site.register().status_code == 303


def test_the_page_script_stores_a_push_subscription(site: Site) -> None:
    manage = site.confirmed()
    page = site.client.get(manage)
    assert 'data-key="' in page.text
    key = re.search(r'data-key="([^"]*)"', page.text)
    assert key is not None
    assert len(key.group(1)) >= 80
    csrf = csrf_of(page.text)
    subscription = {
        "endpoint": "https://push.example.net/send/abc",
        "keys": {
            "p256dh": "BPv5uEvkMD3sa9Ce8nHZnFm12G9v8_rK6IYVqaFVbXDHCL9V5c1zENShPRa3QWYgHtqn"
            "PXFJIq8cx1N9wbNbWqo",
            "auth": "8eDyX_uCN0XRhSbY5hs7Hg",
        },
    }
    assert site.client.post(f"{manage}/push", json=subscription).status_code == 403
    stored = site.client.post(f"{manage}/push", json=subscription, headers={"X-CSRF-Token": csrf})
    assert stored.status_code == 204
    volunteer_id = site.volunteers.open_manage_token(manage.rsplit("/", 1)[1])
    private = site.volunteers.get(volunteer_id, private=True).private
    assert private is not None
    assert [p.endpoint for p in private.push] == [subscription["endpoint"]]
    broken = site.client.post(
        f"{manage}/push", content=b"{not json", headers={"X-CSRF-Token": csrf}
    )
    assert broken.status_code == 422


def test_push_endpoints_in_the_servers_own_network_are_refused(site: Site) -> None:
    manage = site.confirmed()
    csrf = csrf_of(site.client.get(manage).text)
    keys = {"p256dh": "BPv5uEvkMD3sa9Ce8nHZnFm12G9v8", "auth": "8eDyX_uCN0XRhSbY5hs7Hg"}
    for endpoint in (
        "http://push.example.net/send/abc",  # not HTTPS
        "https://10.0.0.5/push",  # a private address
        "https://169.254.169.254/latest/meta-data",  # link-local: a cloud's metadata service
        "https://intranet/push",  # a bare internal name
        "http://127.0.0.1:8000/api/alerts",  # the server itself (loopback is off by default)
        "https://localhost/push",
        "ftp://push.example.net/x",
    ):
        refused = site.client.post(
            f"{manage}/push",
            json={"endpoint": endpoint, "keys": keys},
            headers={"X-CSRF-Token": csrf},
        )
        assert refused.status_code == 422, endpoint
    volunteer_id = site.volunteers.open_manage_token(manage.rsplit("/", 1)[1])
    private = site.volunteers.get(volunteer_id, private=True).private
    assert private is not None
    assert private.push == ()


def test_the_own_page_in_english(site: Site) -> None:
    manage = site.confirmed()
    page = site.client.get(f"{manage}?lang=en")
    assert page.status_code == 200
    assert "Your volunteer page" in page.text
    assert "Stop being a volunteer" in page.text


def resubmitted(site: Site, manage: str) -> int:
    """Post the own page's form back exactly as the page filled it in."""
    html = site.client.get(manage).text
    form = html[html.index('action="' + manage + '"') :]
    form = form[: form.index("</form>")]
    data: dict[str, str | list[str]] = {}
    for tag in re.findall(r"<input [^>]+>", form):
        name = re.search(r'name="([^"]+)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        kind = re.search(r'type="([^"]+)"', tag)
        if name is None or value is None:
            continue
        if kind and kind.group(1) in ("checkbox", "radio") and " checked" not in tag:
            continue
        if name.group(1) in ("skills", "channels"):
            listed = data.setdefault(name.group(1), [])
            assert isinstance(listed, list)
            listed.append(value.group(1))
        else:
            data[name.group(1)] = value.group(1).replace("&#39;", "'")
    return site.client.post(manage, data=data, follow_redirects=False).status_code


def test_saving_the_form_unchanged_keeps_the_place(site: Site) -> None:
    by_postcode = site.confirmed("pc@example.nl", where="3583")
    assert resubmitted(site, by_postcode) == 303
    volunteer_id = site.volunteers.open_manage_token(by_postcode.rsplit("/", 1)[1])
    private = site.volunteers.get(volunteer_id, private=True).private
    assert private is not None
    assert private.place_label.startswith("3583")
    by_point = site.confirmed("pt@example.nl", where="", lat="52.097310", lon="5.118840")
    assert resubmitted(site, by_point) == 303
    assert resubmitted(site, by_point) == 303  # twice: the point's label is not a place
    volunteer_id = site.volunteers.open_manage_token(by_point.rsplit("/", 1)[1])
    private = site.volunteers.get(volunteer_id, private=True).private
    assert private is not None
    assert (round(private.lat, 4), round(private.lon, 4)) == (52.0973, 5.1188)
