"""The paged timeline (issue 21, item 9) through the generated Python
bindings: pages in timeline order (undated first, then by date and id) with
nothing repeated or missed, a kind filter, and bad arguments as typed
validation errors naming the argument."""

from __future__ import annotations

import datetime

import bodies
import pytest

MOTHER = "mother"


def day(n: int) -> str:
    return (datetime.date.today() - datetime.timedelta(days=n)).isoformat()


def vitals(date: str):
    return bodies.vitals(date)


def visit(date: str):
    return bodies.visit(date, "Sakura")


def profile():
    return bodies.profile()


def walk(client, kind, size):
    seen, page, pages = [], None, 0
    while True:
        result = client.timeline_page(MOTHER, kind, None, None, page, size)
        seen += [e.record_id for e in result.entries]
        pages += 1
        if result.next_page is None:
            return seen, pages
        page = result.next_page


def test_the_timeline_walks_in_pages_in_order_with_nothing_repeated_or_missed(phr, server, phone):
    mother = phone("mother")
    mother.client.create_account(server.base_url, "Mother's phone")
    mother.client.add_record(MOTHER, profile())  # undated: first
    for i in range(20):
        mother.client.add_record(MOTHER, vitals(day(i % 7)))  # ties on the date, broken by id
    for i in range(9):
        mother.client.add_record(MOTHER, visit(day(10 + i)))
    whole = [e.record_id for e in mother.client.timeline(MOTHER, None, None, None)]
    assert len(whole) == 30

    seen, pages = walk(mother.client, None, 7)
    assert seen == whole and pages == 5
    visit_kind = bodies.core.RecordKind.PRENATAL_VISIT
    visits, _ = walk(mother.client, visit_kind, 4)
    assert visits == [e.record_id for e in mother.client.timeline(MOTHER, visit_kind, None, None)]
    assert len(visits) == 9


def test_bad_page_arguments_are_validation_errors_naming_them(phr, server, phone):
    mother = phone("mother")
    mother.client.create_account(server.base_url, "Mother's phone")
    with pytest.raises(phr.PhrError.Validation) as bad_page:
        mother.client.timeline_page(MOTHER, None, None, None, "not-a-token", 10)
    assert bad_page.value.field == "page"
    for limit in (0, 501):
        with pytest.raises(phr.PhrError.Validation) as bad_limit:
            mother.client.timeline_page(MOTHER, None, None, None, None, limit)
        assert bad_limit.value.field == "limit"
