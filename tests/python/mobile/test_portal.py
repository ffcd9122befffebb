"""The care-team portal and the family's phone (issue 18): the family shares its
daughter's record with the clinic from the phone (the generated Python bindings),
a clinic nurse enters a 3–4-month checkup in the portal — registering a passkey
with her invite, finding the daughter by the handbook number, posting the form
(`portal-nurse`, a Rust client of the portal's pages) — and the phone sees the
checkup after its next sync, in the growth series, with the nurse named in the
family's audit log."""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import uuid
from pathlib import Path

import bodies
import harness
from conftest import CLINIC_ID

HANDBOOK = "urn:oid:1.2.392.100495.20.3.81"
NURSE = "Nurse Sato Hanako"
NUMBER = "2026-0042"
DEFAULT_NURSE_BIN = harness.REPO / "target" / "debug" / "portal-nurse"


def nurse_binary() -> Path:
    binary = Path(os.environ.get("PHR_PORTAL_NURSE_BIN", DEFAULT_NURSE_BIN))
    if not binary.exists():
        raise RuntimeError(f"no portal-nurse at {binary}: cargo build -p phr-tests --bin portal-nurse")
    return binary


def test_a_checkup_entered_in_the_portal_reaches_the_familys_phone_at_its_next_sync_naming_the_nurse(phr, server, phone):
    mother = phone("mother")
    mother.client.create_account(server.base_url, "Mother's phone")
    child = f"child:{uuid.uuid4()}"
    born = datetime.date.today() - datetime.timedelta(days=110)
    mother.client.add_record(child, bodies.newborn(born))
    mother.client.add_record(child, bodies.identifiers((HANDBOOK, NUMBER)))
    mother.client.sync(None)
    grant = mother.client.grant_consent(
        phr.GrantRequest(
            organization_id=CLINIC_ID,
            purpose="treatment",
            modules=["newborn", "child_checkup"],
            subjects=[child],
            _from=None,
            to=None,
            access="read_write",
        )
    )
    assert grant.status == "active"

    invited = server.admin("staff", "invite", "--org", CLINIC_ID, "--name", NURSE)
    token = invited.split("/portal/invite/")[1].split()[0]
    done = subprocess.run(
        [str(nurse_binary()), server.base_url, token, NUMBER, "6.9"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    entered = json.loads(done.stdout.strip().splitlines()[-1])
    assert entered["status"] == 303, entered
    assert entered["location"] == f"/portal/patients/{entered['patient_id']}?saved=child_checkup"

    # Not on the phone until it syncs; then in the growth series, scored like any checkup.
    assert [p.weight_kg for p in mother.client.growth_series(child)] == [3.05]
    mother.client.sync(None)
    series = mother.client.growth_series(child)
    assert [(p.date, p.weight_kg, p.length_cm) for p in series][1:] == [(datetime.date.today(), 6.9, 61.0)]
    assert series[1].scores, "the new point is scored against the references"

    # The family's log names the nurse and her clinic.
    writes = [e for e in mother.client.audit_log(0) if e.action == "portal_write"]
    assert len(writes) == 1, writes
    assert writes[0].actor.startswith(f"organization:{CLINIC_ID}/staff:") and writes[0].actor_name == NURSE
    assert writes[0].outcome == "success" and writes[0].record_ids == [series[1].record_id]
