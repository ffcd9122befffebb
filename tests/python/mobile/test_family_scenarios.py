"""Whole family scenarios played through the generated Python bindings of the
mobile core against a real phr-server (issue 4, item 5)."""

from __future__ import annotations

import json
import os

import bodies
import pytest

MOTHER = "mother"


def visit(date: str, clinic: str, note: str, weight: float = 55.0, systolic: float = 112.0):
    """A prenatal visit (typed `RecordBody.PRENATAL_VISIT`) with weight and blood pressure."""
    return bodies.visit(date, clinic, note, weight=weight, systolic=systolic)


def body(entry):
    """The typed module record of a timeline entry (a `PrenatalVisit`, ...)."""
    return bodies.content(entry.body)


class Progress:
    """A SyncProgress callback that keeps every update; `cancel_on` cancels
    the sync from inside the callback once that phase is reported."""

    def __init__(self, phr, client=None, cancel_on=None):
        base = phr.SyncProgress

        class _Impl(base):
            def on_progress(inner, update):  # noqa: N805 - uniffi calls it on this object
                self.updates.append(update)
                if cancel_on is not None and update.phase == cancel_on and client is not None:
                    client.cancel_sync()

        self.updates = []
        self.callback = _Impl()


def registered_mother(server, phone):
    mother = phone("mother")
    summary = mother.client.create_account(server.base_url, "Mother's phone")
    return mother, summary


def test_mother_records_visits_offline_then_one_sync_uploads_them_all_with_progress(phr, server, phone):
    mother, summary = registered_mother(server, phone)
    assert summary.server_url == server.base_url and summary.account_id and summary.device_id
    assert mother.client.account() == summary

    mother.transport.offline = True
    calls_before = len(mother.transport.calls)
    ids = [
        mother.client.add_record(MOTHER, visit("2026-04-02", "Sakura", "first checkup", 54.2)),
        mother.client.add_record(MOTHER, visit("2026-04-30", "Sakura", "17 weeks", 55.0)),
        mother.client.add_record(MOTHER, visit("2026-05-28", "Sakura", "21 weeks", 56.1)),
    ]
    assert len(mother.transport.calls) == calls_before, "recording offline makes no network call"
    timeline = mother.client.timeline(MOTHER, bodies.core.RecordKind.PRENATAL_VISIT, None, None)
    assert [e.record_id for e in timeline] == ids, "the timeline is ordered by visit date"
    assert [e.effective_date for e in timeline] == [bodies.as_date(d) for d in ("2026-04-02", "2026-04-30", "2026-05-28")]
    assert [body(e).body_weight.value for e in timeline] == [54.2, 55.0, 56.1], "read back typed, in kilograms"
    assert all(e.pending for e in timeline) and mother.client.pending_count() == 3

    with pytest.raises(phr.PhrError.Network) as offline:
        mother.client.sync(None)
    assert offline.value.retryable, "no connection is worth retrying"
    assert mother.client.pending_count() == 3, "a failed sync loses nothing"
    del offline  # its traceback holds the client, which would keep the store locked

    mother.transport.offline = False
    progress = Progress(phr)
    report = mother.client.sync(progress.callback)
    assert (report.pushed, report.pending, report.cancelled) == (3, 0, False)
    assert progress.updates, "the progress callback was called"
    assert progress.updates[-1].phase == phr.SyncPhase.DONE
    assert progress.updates[-1].pushed == 3
    assert {u.phase for u in progress.updates} >= {phr.SyncPhase.PUSHING, phr.SyncPhase.DONE}
    assert not any(e.pending for e in mother.client.timeline(MOTHER, None, None, None))

    # The store survives an app restart with the same device storage key.
    reopened = mother.reopen()
    assert reopened.account() == summary
    assert body(reopened.get_record(ids[1])).note == "17 weeks"


def test_a_second_phone_pairs_and_sees_the_mothers_visits(phr, server, phone):
    mother, summary = registered_mother(server, phone)
    first = mother.client.add_record(MOTHER, visit("2026-04-02", "Sakura", "first checkup"))
    second = mother.client.add_record(MOTHER, visit("2026-04-30", "Sakura", "second checkup"))
    mother.client.sync(None)

    invite = mother.client.create_pairing_invite()
    assert invite.account_id == summary.account_id and len(invite.account_key) == 32
    partner = phone("partner")
    joined = partner.client.join_account(invite, "Partner's phone")
    assert joined.account_id == summary.account_id and joined.device_id != summary.device_id

    report = partner.client.sync(None)
    assert report.pulled == 2
    seen = {e.record_id: body(e).note for e in partner.client.timeline(MOTHER, None, None, None)}
    assert seen == {first: "first checkup", second: "second checkup"}

    # The pairing code is single use.
    third = phone("third")
    with pytest.raises(phr.PhrError):
        third.client.join_account(invite, "Stolen code")
    assert third.client.account() is None


def test_both_phones_edit_the_same_visit_offline_and_converge_with_nothing_lost(phr, server, phone):
    mother, _ = registered_mother(server, phone)
    record = mother.client.add_record(MOTHER, visit("2026-05-28", "Sakura", "as measured"))
    mother.client.sync(None)
    partner = phone("partner")
    partner.client.join_account(mother.client.create_pairing_invite(), "Partner's phone")
    partner.client.sync(None)

    mother.transport.offline = partner.transport.offline = True
    mother.client.edit_record(record, visit("2026-05-28", "Sakura", "mother's correction", weight=56.4))
    partner.client.edit_record(record, visit("2026-05-28", "Sakura", "partner's correction", systolic=118.0))
    mother.transport.offline = partner.transport.offline = False

    mother.client.sync(None)
    conflicted = partner.client.sync(None)
    assert conflicted.conflicts >= 1, "the second push is refused as a conflict and merged on the device"
    mother.client.sync(None)
    assert mother.client.pending_count() == 0 and partner.client.pending_count() == 0

    on_mother = mother.client.get_record(record)
    on_partner = partner.client.get_record(record)
    assert on_mother.body == on_partner.body, "both phones show the same winner"
    assert on_mother.has_conflicts and on_partner.has_conflicts

    for client in (mother.client, partner.client):
        history = client.record_history(record)
        notes = [bodies.note_of(v) for v in history if v.body]
        assert {"mother's correction", "partner's correction"} <= set(notes), "no conflicting version is lost"
        assert sum(v.winner for v in history) == 1
    # The original both corrections replaced is folded (the merge rule can never need it again).
    assert mother.client.folded_versions(record) + partner.client.folded_versions(record) >= 1
    winners = [
        [(v.device_id, v.hlc) for v in c.record_history(record) if v.winner] for c in (mother.client, partner.client)
    ]
    assert winners[0] == winners[1]


def test_a_deletion_on_one_phone_removes_the_visit_on_the_other_and_keeps_its_history(phr, server, phone):
    mother, _ = registered_mother(server, phone)
    keep = mother.client.add_record(MOTHER, visit("2026-04-02", "Sakura", "keep"))
    drop = mother.client.add_record(MOTHER, visit("2026-04-30", "Sakura", "entered twice"))
    mother.client.sync(None)
    partner = phone("partner")
    partner.client.join_account(mother.client.create_pairing_invite(), "Partner's phone")
    partner.client.sync(None)

    partner.client.delete_record(drop)
    partner.client.sync(None)
    mother.client.sync(None)

    assert [e.record_id for e in mother.client.timeline(MOTHER, None, None, None)] == [keep]
    with pytest.raises(phr.PhrError.NotFound):
        mother.client.get_record(drop)
    history = mother.client.record_history(drop)
    assert history[-1].deleted and history[-1].winner
    assert any(bodies.note_of(v) == "entered twice" for v in history)


def test_bad_input_is_a_typed_validation_error_naming_the_field_and_stores_nothing(phr, server, phone):
    mother, _ = registered_mother(server, phone)
    with pytest.raises(phr.PhrError.Validation) as too_heavy:
        mother.client.add_record(MOTHER, visit("2026-04-02", "Sakura", "typo", weight=540.0))
    assert too_heavy.value.field == "body_weight"
    assert too_heavy.value.issues and too_heavy.value.issues[0].field == "body_weight"

    with pytest.raises(phr.PhrError.Validation) as not_json:
        phr.record_body_from_json("{not json")
    assert not_json.value.field == "body"
    with pytest.raises(phr.PhrError.Validation) as subject:
        mother.client.add_record("grandmother", visit("2026-04-02", "Sakura", "x"))
    assert subject.value.field == "subject"
    with pytest.raises(phr.PhrError.Validation) as key:
        phr.PhrClient.open(mother.path + "-other", b"short", mother.transport)
    assert key.value.field == "storage_key"

    assert mother.client.timeline(MOTHER, None, None, None) == []
    assert mother.client.pending_count() == 0


def test_the_store_opens_only_with_its_device_storage_key(phr, server, phone):
    mother, summary = registered_mother(server, phone)
    record = mother.client.add_record(MOTHER, visit("2026-04-02", "Sakura", "private note"))
    mother.close()
    with pytest.raises(phr.PhrError.Crypto):
        phr.PhrClient.open(mother.path, bytes(32), mother.transport)
    reopened = mother.reopen()
    assert reopened.account() == summary
    assert body(reopened.get_record(record)).note == "private note"
    for suffix in ("", "-wal", "-shm", "-journal"):
        if os.path.exists(mother.path + suffix):
            with open(mother.path + suffix, "rb") as f:
                assert "private note".encode() not in f.read(), f"records are encrypted at rest ({suffix or 'db'})"


def test_calls_before_an_account_exists_are_typed_auth_errors(phr, phone):
    lonely = phone("new-phone")
    assert lonely.client.account() is None
    with pytest.raises(phr.PhrError.Auth):
        lonely.client.add_record(MOTHER, visit("2026-04-02", "Sakura", "x"))
    with pytest.raises(phr.PhrError.Auth):
        lonely.client.sync(None)


def test_cancel_sync_from_the_progress_callback_stops_early_and_the_next_sync_finishes(phr, server, phone):
    mother, _ = registered_mother(server, phone)
    mother.transport.offline = True
    for day in range(1, 29):
        mother.client.add_record(MOTHER, visit(f"2026-06-{day:02d}", "Sakura", f"day {day}"))
    mother.transport.offline = False

    progress = Progress(phr, mother.client, cancel_on=phr.SyncPhase.PUSHING)
    report = mother.client.sync(progress.callback)
    assert report.cancelled

    finished = mother.client.sync(None)
    assert not finished.cancelled and finished.pending == 0
    assert report.pushed + finished.pushed == 28

    partner = phone("partner")
    partner.client.join_account(mother.client.create_pairing_invite(), "Partner's phone")
    assert partner.client.sync(None).pulled == 28


def test_the_scenarios_run_against_the_selected_database_backend(server):
    import urllib.request

    with urllib.request.urlopen(server.base_url + "/healthz", timeout=10) as resp:
        health = json.loads(resp.read())
    expected = "postgres" if os.environ.get("PHR_TEST_POSTGRES_URL") else "sqlite"
    assert health == {"status": "ok", "database": expected}


def resolve(record, path: str):
    """Follows a validation field path (`blood_pressure.systolic`,
    `identifiers[1].value`) through a typed record's attributes."""
    value = record
    for step in path.split("."):
        name, _, index = step.partition("[")
        value = getattr(value, name)
        if index:
            value = value[int(index.rstrip("]"))]
    return value


def test_every_validation_issue_names_a_field_of_the_typed_record(phr, server, phone):
    mother, _ = registered_mother(server, phone)
    core = bodies.core
    bad_visit = bodies.visit("2026-04-02", "Sakura", "typos", weight=540.0, systolic=400.0)
    bad_profile = bodies.profile(2)
    bodies.content(bad_profile).identifiers[1] = core.Identifier(system="not a uri", value="")
    bodies.content(bad_profile).height = core.Centimetres(value=15.0)
    for body, expected in (
        (bad_visit, {"body_weight", "blood_pressure.systolic"}),
        (bad_profile, {"height", "identifiers[1].system", "identifiers[1].value"}),
    ):
        with pytest.raises(phr.PhrError.Validation) as refused:
            mother.client.add_record(MOTHER, body)
        fields = {issue.field for issue in refused.value.issues}
        assert expected <= fields, fields
        for issue in refused.value.issues:
            resolve(bodies.content(body), issue.field)  # raises if a path is not a typed field
        del refused
    assert mother.client.timeline(MOTHER, None, None, None) == [], "nothing refused was stored"


def test_identifiers_attached_to_a_child_are_a_typed_record_the_paired_phone_sees(phr, server, phone):
    mother, _ = registered_mother(server, phone)
    child = "child:0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"
    handbook = ("urn:oid:1.2.392.100495.20.3.81", "2026-0001234")
    record = mother.client.add_record(child, bodies.identifiers(handbook, ("https://city.example.jp/child-id", "C-1")))
    with pytest.raises(phr.PhrError.Validation) as refused:
        mother.client.add_record(child, bodies.identifiers(("handbook number", "HB-1")))
    assert {issue.field for issue in refused.value.issues} == {"identifiers[0].system"}
    mother.client.edit_record(record, bodies.identifiers(handbook))
    mother.client.sync(None)

    partner = phone("partner")
    partner.client.join_account(mother.client.create_pairing_invite(), "Partner's phone")
    partner.client.sync(None)
    entries = partner.client.timeline(child, bodies.core.RecordKind.SUBJECT_IDENTIFIERS, None, None)
    assert [e.record_id for e in entries] == [record]
    assert [(i.system, i.value) for i in body(entries[0]).identifiers] == [handbook]
