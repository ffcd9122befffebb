"""The family's consent, key backup, data portability and erasure, played
through the generated Python bindings against a real phr-server: she grants
a clinic access and revokes it, restores the account on a new phone from the
passphrase backup, exports a FHIR R4 Bundle (validated by fhir.resources
6.4.0, R4 4.0.1), follows her child's growth and due immunizations, and
deletes the account."""

from __future__ import annotations

import json
import sqlite3
import uuid
from pathlib import Path

import bodies
import pytest
from conftest import CLINIC_ID, CLINIC_NAME
from fhir.resources.bundle import Bundle
from test_family_scenarios import MOTHER, body, registered_mother, visit

PASSPHRASE = "sakura blossoms in april 2026"


newborn, checkup, dose = bodies.newborn, bodies.checkup, bodies.dose


def grant_request(phr, **changes):
    fields = dict(
        organization_id=CLINIC_ID,
        purpose="treatment",
        modules=["prenatal_visit"],
        subjects=[MOTHER],
        _from=None,
        to="2099-12-31",
        access="read",
    )
    fields.update(changes)
    return phr.GrantRequest(**fields)


def test_she_grants_the_clinic_her_prenatal_visits_then_revokes_and_the_server_loses_the_keys(phr, server, phone):
    mother, summary = registered_mother(server, phone)
    visits = [mother.client.add_record(MOTHER, visit(f"2026-0{m}-02", "Sakura", f"month {m}")) for m in (4, 5, 6)]
    mother.client.add_record(MOTHER, bodies.vitals("2026-05-01", weight=55.5))
    mother.client.sync(None)

    organizations = mother.client.list_organizations()
    clinic = next(o for o in organizations if o.organization_id == CLINIC_ID)
    assert (clinic.name, clinic.kind, clinic.purposes) == (CLINIC_NAME, "clinic", ["treatment"])

    grant = mother.client.grant_consent(grant_request(phr))
    assert grant.status == "active" and grant.organization_name == CLINIC_NAME
    assert grant.record_key_count == len(visits), "the visits' keys travel with the grant, the vitals' do not"
    assert grant.summary.startswith(f"{CLINIC_NAME} (treatment) can read prenatal visits of the mother"), grant.summary
    assert server.count_rows("grant_record_keys", summary.account_id) == 3

    # A visit recorded later gets its key for the clinic at the next sync.
    mother.client.add_record(MOTHER, visit("2026-07-02", "Sakura", "month 7"))
    mother.client.sync(None)
    assert mother.client.list_grants()[0].record_key_count == 4

    # A paired phone sees the grant made on the other phone.
    partner = phone("partner")
    partner.client.join_account(mother.client.create_pairing_invite(), "Partner's phone")
    assert [g.grant_id for g in partner.client.list_grants()] == [grant.grant_id]

    # Refused grants are typed errors and store nothing.
    with pytest.raises(phr.PhrError.Validation):
        mother.client.grant_consent(grant_request(phr, access="everything"))
    with pytest.raises(phr.PhrError.Network) as refused:
        mother.client.grant_consent(grant_request(phr, purpose="research"))
    assert not refused.value.retryable
    assert len(mother.client.list_grants()) == 1

    mother.client.revoke_grant(grant.grant_id)
    [revoked] = mother.client.list_grants()
    assert (revoked.status, revoked.record_key_count) == ("revoked", 0) and revoked.revoked_at is not None
    assert server.count_rows("grant_record_keys", summary.account_id) == 0, "revoking deletes every record key"
    with pytest.raises(phr.PhrError.Conflict):
        mother.client.revoke_grant(grant.grant_id)
    mother.client.add_record(MOTHER, visit("2026-08-02", "Sakura", "after the revocation"))
    mother.client.sync(None)
    assert server.count_rows("grant_record_keys", summary.account_id) == 0, "no keys go to a revoked grant"

    log = mother.client.audit_log(0)
    actions = [e.action for e in log]
    for expected in ("account_created", "grant_created", "grant_keys_added", "grant_revoked"):
        assert expected in actions, f"{expected} missing from {actions}"
    assert all(a.seq < b.seq for a, b in zip(log, log[1:]))
    created = next(e for e in log if e.action == "grant_created")
    assert created.grant_id == grant.grant_id and sorted(created.record_ids) == sorted(visits)


def test_a_new_phone_restores_the_account_from_the_passphrase_backup_and_pulls_everything(phr, server, phone):
    lost, summary = registered_mother(server, phone)
    notes = {lost.client.add_record(MOTHER, visit(f"2026-0{m}-10", "Sakura", f"visit {m}")): f"visit {m}" for m in (4, 5, 6)}
    lost.client.sync(None)
    with pytest.raises(phr.PhrError.Validation) as short:
        lost.client.backup_account_key("short")
    assert short.value.field == "passphrase"
    lost.client.backup_account_key(PASSPHRASE)

    # The phone is lost; a new one only knows the server, the account id and the passphrase.
    new = phone("new-phone")
    with pytest.raises(phr.PhrError.Auth):
        new.client.restore_account(server.base_url, summary.account_id, "not the passphrase at all", "New phone")
    assert new.client.account() is None, "a wrong passphrase leaves the phone signed out"
    with pytest.raises(phr.PhrError.NotFound):
        new.client.restore_account(server.base_url, str(uuid.uuid4()), PASSPHRASE, "New phone")

    restored = new.client.restore_account(server.base_url, summary.account_id, PASSPHRASE, "New phone")
    assert restored.account_id == summary.account_id and restored.device_id != summary.device_id
    assert new.client.sync(None).pulled == 3
    assert {e.record_id: body(e).note for e in new.client.timeline(MOTHER, None, None, None)} == notes
    assert any(e.actor == "recovery" or "recover" in e.action for e in new.client.audit_log(0))

    # The restored phone is a full member: what it records reaches the old phone.
    added = new.client.add_record(MOTHER, visit("2026-07-10", "Sakura", "after the restore"))
    new.client.sync(None)
    lost.client.sync(None)
    assert body(lost.client.get_record(added)).note == "after the restore"
    with pytest.raises(phr.PhrError.Conflict):
        new.client.restore_account(server.base_url, summary.account_id, PASSPHRASE, "Again")


def test_the_fhir_export_is_a_valid_r4_bundle_with_every_current_record_and_a_patient_per_subject(phr, server, phone):
    mother, summary = registered_mother(server, phone)
    child = f"child:{uuid.uuid4()}"
    mother.client.add_record(MOTHER, visit("2026-04-02", "Sakura", "first checkup", weight=54.2, systolic=112.0))
    gone = mother.client.add_record(MOTHER, visit("2026-04-03", "Sakura", "entered twice"))
    mother.client.delete_record(gone)
    mother.client.add_record(child, newborn("2026-09-01"))
    mother.client.add_record(child, checkup("2026-10-05", 4.2, 53.1))
    mother.client.add_record(child, dose("dpt_ipv_hib", "first_term", 1, "2026-11-02"))

    exported = mother.client.export_fhir_bundle()
    bundle = Bundle.parse_raw(exported)  # raises on anything that is not FHIR R4 (4.0.1)
    assert bundle.type == "collection"
    resources = [entry.resource for entry in bundle.entry]
    kinds = [r.resource_type for r in resources]
    for expected in ("Patient", "Encounter", "Observation", "Immunization"):
        assert expected in kinds, f"no {expected} in {sorted(set(kinds))}"
    patients = {r.id for r in resources if r.resource_type == "Patient"}
    assert patients == {f"mother-{summary.account_id}", f"child-{child.split(':', 1)[1]}"}
    child_patient = next(r for r in resources if r.resource_type == "Patient" and r.id.startswith("child-"))
    assert str(child_patient.birthDate) == "2026-09-01" and child_patient.gender == "female"
    immunization = next(r for r in resources if r.resource_type == "Immunization")
    assert str(immunization.occurrenceDateTime).startswith("2026-11-02")

    raw = json.loads(exported)
    text = json.dumps(raw)
    assert "first checkup" in text and "entered twice" not in text, "deleted records are not exported"
    weights = {
        (r["subject"]["reference"], r["valueQuantity"]["value"], r["valueQuantity"]["system"], r["valueQuantity"]["code"])
        for r in (e["resource"] for e in raw["entry"])
        if r["resourceType"] == "Observation" and any(c.get("code") == "29463-7" for c in r["code"].get("coding", []))
    }
    assert (f"Patient/mother-{summary.account_id}", 54.2, "http://unitsofmeasure.org", "kg") in weights, weights
    references = {
        ref["reference"]
        for r in (e["resource"] for e in raw["entry"])
        for key in ("subject", "patient")
        if isinstance((ref := r.get(key)), dict) and "reference" in ref
    }
    in_bundle = {f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in raw["entry"]}
    assert references and references <= in_bundle, f"unresolved: {references - in_bundle}"


def test_a_childs_growth_series_and_due_immunizations_come_from_her_records(phr, server, phone):
    mother, _ = registered_mother(server, phone)
    child = f"child:{uuid.uuid4()}"
    with pytest.raises(phr.PhrError.NotFound):
        mother.client.growth_series(child)
    born = mother.client.add_record(child, newborn("2026-09-01", sex="male"))
    month1 = mother.client.add_record(child, checkup("2026-10-05", 4.2, 53.1))
    mother.client.add_record(child, dose("dpt_ipv_hib", "first_term", 1, "2026-11-02"))

    series = mother.client.growth_series(child)
    core = bodies.core
    assert [(p.record_id, p.source, p.date, p.age_days, p.age_months, p.weight_kg, p.length_cm) for p in series] == [
        (born, core.RecordKind.NEWBORN, bodies.as_date("2026-09-01"), 0, 0, 3.05, 49.5),
        (month1, core.RecordKind.CHILD_CHECKUP, bodies.as_date("2026-10-05"), 34, 1, 4.2, 53.1),
    ]
    due = [
        (d.vaccine, d.series, d.dose_number, d.status)
        for d in mother.client.immunizations_due(child, bodies.as_date("2026-11-24"))
    ]
    assert (core.Vaccine.DPT_IPV_HIB, core.DoseSeries.FIRST_TERM, 2, phr.DueStatus.DUE) in due, due
    assert (core.Vaccine.DPT_IPV_HIB, core.DoseSeries.FIRST_TERM, 1, phr.DueStatus.DUE) not in due, "the given dose is not due again"
    assert (core.Vaccine.HEPATITIS_B, core.DoseSeries.PRIMARY, 1, phr.DueStatus.DUE) in due, due
    with pytest.raises(phr.PhrError.Validation) as not_a_child:
        mother.client.growth_series(MOTHER)
    assert not_a_child.value.field == "child_subject"


def test_deleting_the_account_erases_it_on_the_server_tells_every_phone_and_empties_the_store(phr, server, phone):
    mother, summary = registered_mother(server, phone)
    for m in (4, 5):
        mother.client.add_record(MOTHER, visit(f"2026-0{m}-02", "Sakura", f"month {m}"))
    mother.client.sync(None)
    mother.client.backup_account_key(PASSPHRASE)
    mother.client.grant_consent(grant_request(phr))
    partner = phone("partner")
    partner.client.join_account(mother.client.create_pairing_invite(), "Partner's phone")
    assert server.count_rows("records", summary.account_id) == 2

    mother.client.delete_account()
    assert mother.client.account() is None
    with pytest.raises(phr.PhrError.Auth):
        mother.client.timeline(MOTHER, None, None, None)
    for table in ("records", "grant_record_keys", "devices"):
        assert server.count_rows(table, summary.account_id) == 0, f"{table} still holds rows of the account"
    with pytest.raises(phr.PhrError.AccountDeleted):
        partner.client.sync(None)
    with pytest.raises(phr.PhrError.NotFound):
        phone("another").client.restore_account(server.base_url, summary.account_id, PASSPHRASE, "After erasure")

    reopened = mother.reopen()
    assert reopened.account() is None, "nothing of the account is left in the local store"
    assert reopened.create_account(server.base_url, "A fresh start").account_id != summary.account_id


def test_the_partners_phone_is_told_the_account_was_deleted_and_wipes_its_copy(phr, server, phone):
    """Two phones: the partner's holds the synced records; the mother deletes
    the account. The partner's next sync raises the typed AccountDeleted, the
    phone's store is wiped to a marker, and every later call (after a restart
    too) raises AccountDeleted."""
    mother, summary = registered_mother(server, phone)
    record = mother.client.add_record(MOTHER, visit("2026-04-02", "Sakura", "seen by both"))
    mother.client.sync(None)
    partner = phone("partner")
    partner.client.join_account(mother.client.create_pairing_invite(), "Partner's phone")
    partner.client.sync(None)
    assert body(partner.client.get_record(record)).clinic_name == "Sakura"
    assert not partner.client.account_was_deleted()

    mother.client.delete_account()

    with pytest.raises(phr.PhrError.AccountDeleted):
        partner.client.sync(None)
    assert partner.client.account() is None
    assert partner.client.account_was_deleted()
    for call in (
        lambda: partner.client.get_record(record),
        lambda: partner.client.timeline(MOTHER, None, None, None),
        lambda: partner.client.pending_count(),
        lambda: partner.client.sync(None),
    ):
        with pytest.raises(phr.PhrError.AccountDeleted):
            call()
    reopened = partner.reopen()
    assert reopened.account_was_deleted()
    with pytest.raises(phr.PhrError.AccountDeleted):
        reopened.timeline(MOTHER, None, None, None)
    del reopened
    partner.client = None
    with sqlite3.connect(partner.path) as db:
        assert db.execute("SELECT COUNT(*) FROM records").fetchone()[0] == 0
        assert [k for (k,) in db.execute("SELECT key FROM meta")] == ["account_deleted"]
    for suffix in ("", "-wal"):
        path = Path(partner.path + suffix)
        if path.exists():
            assert summary.account_id.encode() not in path.read_bytes(), f"{path} still names the account"


def test_a_familys_whole_journey_from_registration_to_erasure(phr, server, phone):
    """One account through every step, each phone carrying on from the last."""
    mother, summary = registered_mother(server, phone)
    mother.transport.offline = True
    first = mother.client.add_record(MOTHER, visit("2026-04-02", "Sakura", "first checkup"))
    mother.client.add_record(MOTHER, visit("2026-04-30", "Sakura", "second checkup"))
    mother.transport.offline = False
    assert mother.client.sync(None).pushed == 2

    partner = phone("partner")
    partner.client.join_account(mother.client.create_pairing_invite(), "Partner's phone")
    assert partner.client.sync(None).pulled == 2

    mother.transport.offline = partner.transport.offline = True
    mother.client.edit_record(first, visit("2026-04-02", "Sakura", "mother's edit"))
    partner.client.edit_record(first, visit("2026-04-02", "Sakura", "partner's edit"))
    mother.transport.offline = partner.transport.offline = False
    for client in (mother.client, partner.client, mother.client):
        client.sync(None)
    assert mother.client.get_record(first).body == partner.client.get_record(first).body
    kept = {bodies.note_of(v) for v in mother.client.record_history(first) if v.body}
    assert {"mother's edit", "partner's edit"} <= kept

    grant = mother.client.grant_consent(grant_request(phr))
    assert grant.record_key_count == 2
    mother.client.revoke_grant(grant.grant_id)
    assert server.count_rows("grant_record_keys", summary.account_id) == 0

    mother.client.backup_account_key(PASSPHRASE)
    new = phone("new-phone")
    new.client.restore_account(server.base_url, summary.account_id, PASSPHRASE, "New phone")
    new.client.sync(None)
    assert new.client.get_record(first).body == mother.client.get_record(first).body

    bundle = Bundle.parse_raw(new.client.export_fhir_bundle())
    encounters = [e.resource for e in bundle.entry if e.resource.resource_type == "Encounter"]
    assert len(encounters) == 2

    new.client.delete_account()
    assert server.count_rows("records", summary.account_id) == 0
    for old in (mother.client, partner.client):
        with pytest.raises(phr.PhrError.AccountDeleted):
            old.sync(None)
