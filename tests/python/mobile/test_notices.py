"""Municipal notices, played through the generated Python bindings against a
real phr-server: a city (SMART Backend Services token with `notices.write`,
client written here) posts a notice for mothers at 20–27 weeks; two families
follow the city; only the phone of the mother at 24 weeks shows it, with the
reason in Japanese or English. The feed is fetched without any account data,
an unchanged feed costs a 304, the notice keeps showing offline, an edit
arrives at the next refresh and a withdrawal removes it."""

from __future__ import annotations

import datetime

import bodies
import harness
import pytest
from smart_org import SmartOrg
from test_family_scenarios import MOTHER, registered_mother

CORE = harness.load_core()
CITY = "city-minato"


def pregnancy_at(today: datetime.date, weeks: int, days: int = 3):
    """An ongoing pregnancy that is `weeks`+`days` along on `today` (dated by the LMP)."""
    lmp = today - datetime.timedelta(days=weeks * 7 + days)
    return CORE.RecordBody.PREGNANCY(CORE.Pregnancy(
        last_menstrual_period=lmp, estimated_delivery_date=lmp + datetime.timedelta(days=280),
        status=CORE.PregnancyStatus.ONGOING,
    ))


def notice(title: str, today: datetime.date, target: dict, language: str = "ja") -> dict:
    return {
        "title": title,
        "body": "妊婦歯科健診は無料です。\n受診票をお持ちください。",
        "link": "https://www.city.minato.example.lg.jp/dental",
        "language": language,
        "valid_from": (today - datetime.timedelta(days=7)).isoformat(),
        "valid_until": (today + datetime.timedelta(days=90)).isoformat(),
        "target": target,
    }


def spy_on(phone):
    """Keeps every request the phone's transport sends."""
    seen = []
    send = phone.transport.send

    def spy(request):
        seen.append(request)
        return send(request)

    phone.transport.send = spy
    return seen


def test_a_city_notice_for_20_to_27_weeks_shows_only_on_the_phone_of_the_mother_at_24_weeks(
    phr, server, phone, tmp_path
):
    today = datetime.date.today()
    city = SmartOrg(server, tmp_path, CITY, "Minato City", "municipality")
    token = city.token("notices.write")
    status, headers, posted = city.call("POST", "/notices/v1/notices", token,
                                        notice("妊婦歯科健診のご案内", today, {"pregnancy_weeks": {"from": 20, "to": 27}}))
    assert status == 201, posted
    later = city.call("POST", "/notices/v1/notices", token,
                      notice("両親学級（妊娠30〜35週）", today, {"pregnancy_weeks": {"from": 30, "to": 35}}))
    assert later[0] == 201, later

    at_24, _ = registered_mother(server, phone)
    at_24.client.add_record(MOTHER, pregnancy_at(today, 24))
    at_16 = phone("other-mother")
    at_16.client.create_account(server.base_url, "Other mother's phone")
    at_16.client.add_record(MOTHER, pregnancy_at(today, 16))

    seen = spy_on(at_24)
    for family in (at_24, at_16):
        assert family.client.follow_municipality(CITY) == [CITY]
        refreshed = family.client.refresh_notices()
        assert (refreshed.updated, refreshed.unchanged, refreshed.failed) == (1, 0, [])

    shown = at_24.client.notices(today, "ja")
    assert [n.title for n in shown] == ["妊婦歯科健診のご案内"]
    (dental,) = shown
    assert dental.notice_id == posted["id"]
    assert (dental.municipality, dental.municipality_name) == (CITY, "Minato City")
    assert dental.reason == "妊娠24週の方へ" and dental.subjects == [MOTHER]
    assert dental.body.splitlines()[1] == "受診票をお持ちください。"
    assert at_24.client.notices(today, "en")[0].reason == "For mothers at 24 weeks of pregnancy"
    assert at_16.client.notices(today, "ja") == [], "16 weeks is outside 20–27"
    # Six weeks later the first mother is at 30 weeks: the other notice, not the first.
    assert [n.title for n in at_24.client.notices(today + datetime.timedelta(weeks=6), "ja")] == ["両親学級（妊娠30〜35週）"]

    # The feed request carried no account data: no token, no id, no body.
    feed_requests = [r for r in seen if "/notices/v1/" in r.url]
    assert [r.url for r in feed_requests] == [f"{server.base_url}/notices/v1/municipalities/{CITY}/feed"]
    for request in feed_requests:
        assert request.method == "GET" and not request.body
        assert {h.name.lower() for h in request.headers} <= {"accept", "if-none-match"}

    # Unchanged: a 304 (asked with the ETag). Offline: the last copy still shows.
    assert at_24.client.refresh_notices().unchanged == 1
    assert any(h.name == "If-None-Match" for h in seen[-1].headers)
    at_24.transport.offline = True
    offline = at_24.client.refresh_notices()
    assert [f.municipality for f in offline.failed] == [CITY]
    assert [n.title for n in at_24.client.notices(today, "ja")] == ["妊婦歯科健診のご案内"]
    at_24.transport.offline = False

    # The city edits the notice (If-Match) and then withdraws it: each arrives at the next refresh.
    path = f"/notices/v1/notices/{posted['id']}"
    status, headers, _ = city.call("PUT", path, token, notice("妊婦歯科健診（日程追加）", today,
                                                            {"pregnancy_weeks": {"from": 20, "to": 27}}),
                                   {"If-Match": headers["ETag"]})
    assert status == 200
    assert at_24.client.refresh_notices().updated == 1
    assert [n.title for n in at_24.client.notices(today, "ja")] == ["妊婦歯科健診（日程追加）"]
    assert city.call("DELETE", path, token)[0] == 204
    at_24.client.refresh_notices()
    assert at_24.client.notices(today, "ja") == []

    # Bad input is refused by name; unfollowing forgets the feed.
    with pytest.raises(phr.PhrError.Validation) as bad:
        at_24.client.follow_municipality("Minato City!")
    assert bad.value.field == "municipality"
    assert at_16.client.unfollow_municipality(CITY) == []
    assert at_16.client.followed_municipalities() == []


def test_a_notice_for_children_3_to_4_months_reaches_the_family_of_a_4_month_old_and_app_texts_come_from_the_catalog(
    phr, server, phone, tmp_path
):
    today = datetime.date.today()
    city = SmartOrg(server, tmp_path, CITY, "Minato City", "municipality")
    token = city.token("notices.write")
    for title, language, target in [
        ("4か月児健診の集団健診日", "ja", {"child_age_months": {"from": 3, "to": 4}}),
        ("Group checkup for 3–4-month-olds", "en", {"child_age_months": {"from": 3, "to": 4}}),
        ("予防接種週間", "ja", {}),
    ]:
        assert city.call("POST", "/notices/v1/notices", token, notice(title, today, target, language))[0] == 201

    family, _ = registered_mother(server, phone)
    baby = "child:00000000-0000-4000-8000-000000000004"
    birth = today - datetime.timedelta(days=124)  # 4 months are at most 123 days, 5 at least 150
    family.client.add_record(baby, bodies.newborn(birth))
    family.client.follow_municipality(CITY)
    family.client.refresh_notices()

    english_first = family.client.notices(today, "en")
    assert [n.language for n in english_first][0] == "en", "the family's language first"
    by_title = {n.title: n for n in english_first}
    assert set(by_title) == {"4か月児健診の集団健診日", "Group checkup for 3–4-month-olds", "予防接種週間"}
    assert by_title["Group checkup for 3–4-month-olds"].subjects == [baby]
    assert by_title["Group checkup for 3–4-month-olds"].reason == "For children aged 4 months"
    assert by_title["予防接種週間"].subjects == [] and by_title["予防接種週間"].reason == "For every family"
    assert family.client.notices(today, "ja")[0].language == "ja"

    # The app's own labels come from the same catalog, in either language.
    assert phr.message("ja", "notice-valid-until", {"date": "2027-03-31"}) == "2027-03-31まで"
    assert phr.message("en", "notice-from", {"municipality": "Minato City"}) == "From Minato City"
    assert phr.message("fr", "notices-empty", {}) == "No notices for your family right now."


def feed_answers(server, status: int) -> int:
    """How many feed requests the server's log says it answered with `status` (the log is
    read by a thread: waits up to 2 s for the count to settle)."""
    import json
    import time

    def count():
        lines = (json.loads(line) for line in list(server.logs) if line.startswith("{"))
        return sum(
            1 for entry in lines
            if entry.get("fields", {}).get("status") == status
            and entry.get("span", {}).get("route") == "/notices/v1/municipalities/{municipality}/feed"
        )

    deadline = time.monotonic() + 2
    while time.monotonic() < deadline and count() == 0:
        time.sleep(0.05)
    return count()


def test_an_independent_http_cache_reuses_the_public_feed_and_revalidates_it_with_its_etag(server, tmp_path):
    """CacheControl (an RFC 9111 cache for `requests`, not our code) keeps the feed for its
    max-age, revalidates it with If-None-Match when asked (the server answers 304 and the
    cached body is used), and fetches it anew after the city publishes."""
    import requests
    from cachecontrol import CacheControl

    today = datetime.date.today()
    city = SmartOrg(server, tmp_path, CITY, "Minato City", "municipality")
    token = city.token("notices.write")
    assert city.call("POST", "/notices/v1/notices", token, notice("乳幼児健診のお知らせ", today, {}))[0] == 201
    url = f"{server.base_url}/notices/v1/municipalities/{CITY}/feed"
    session = CacheControl(requests.Session())

    first = session.get(url, timeout=30)
    assert first.status_code == 200 and not first.from_cache
    assert first.headers["Cache-Control"] == "public, max-age=300"
    assert session.get(url, timeout=30).from_cache, "reused within max-age without asking"
    revalidated = session.get(url, headers={"Cache-Control": "max-age=0"}, timeout=30)
    assert revalidated.status_code == 200 and revalidated.from_cache, "a 304 let the cache serve its copy"
    assert feed_answers(server, 304) == 1, "the cache asked with If-None-Match and the server said 304"
    assert revalidated.json()["notices"][0]["title"] == "乳幼児健診のお知らせ"

    assert city.call("POST", "/notices/v1/notices", token, notice("予防接種のお知らせ", today, {}))[0] == 201
    fresh = session.get(url, headers={"Cache-Control": "max-age=0"}, timeout=30)
    assert not fresh.from_cache and len(fresh.json()["notices"]) == 2
