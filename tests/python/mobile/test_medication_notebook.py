"""The medication notebook (JAHIS お薬手帳), played through the generated
Python bindings against a real phr-server: a parent scans a pharmacy's
three QR codes in the wrong order, sees the dispensing and her current
medicines, syncs; a clinic she granted reads the drugs as FHIR R4
MedicationDispense / MedicationStatement (SMART Backend Services token,
validated by fhir.resources 6.4.0); she exports them back as JAHIS QR codes,
which another phone imports to the same medications."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import harness
import pytest
from fhir.resources.bundle import Bundle
import bodies
from bodies import content
from smart_org import SmartOrg
from test_family_scenarios import MOTHER, registered_mother

CORE = harness.load_core()
VECTORS = Path(__file__).resolve().parents[3] / "core" / "src" / "medication_notebook" / "vectors"
PARTS = [(VECTORS / f"split-part{i}-of-3.txt").read_text(encoding="utf-8") for i in (1, 2, 3)]
READER_ID = "himawari-clinic"
YJ = "urn:oid:1.2.392.100495.20.1.73"


def test_a_split_notebook_scanned_in_the_wrong_order_reaches_the_clinic_as_fhir_and_goes_back_as_jahis(
    phr, server, phone, tmp_path
):
    mother, _ = registered_mother(server, phone)

    # Two of three codes scanned: the app is told which part is missing, and an import stores nothing.
    progress = phr.medication_qr_progress([PARTS[2], PARTS[0]])
    assert progress.ready == 0
    assert [(s.data_id, s.total, s.missing) for s in progress.incomplete] == [("20261201093000", 3, [2])]
    with pytest.raises(phr.PhrError.Notebook) as missing:
        mother.client.import_medication_notebook(MOTHER, [PARTS[2], PARTS[0]])
    assert "part(s) [2] of 3" in str(missing.value)
    assert mother.client.timeline(MOTHER, None, None, None) == []

    # All three, in the wrong order.
    done = mother.client.import_medication_notebook(MOTHER, [PARTS[2], PARTS[0], PARTS[1]])
    assert (done.dispensings, done.already_imported, done.versions) == (2, 0, ["JAHISTC08"])
    assert len(done.record_ids) == 3 and done.warnings == []
    meds = [content(mother.client.get_record(i).body) for i in done.record_ids]
    magmitt, calonal, otc = meds
    assert (magmitt.drug_name, magmitt.drug_code.system, magmitt.drug_code.code) == (
        "マグミット錠３３０ｍｇ", CORE.DrugCodeSystem.YJ, "2344009F1030")
    assert (magmitt.days_supplied, magmitt.pharmacy, magmitt.dose, magmitt.dose_unit) == (14, "ひまわり薬局", "3", "錠")
    assert calonal.drug_code.system == CORE.DrugCodeSystem.RECEIPT
    assert otc.source == CORE.MedicationSource.OTC
    assert magmitt.dispensing_id == calonal.dispensing_id

    # The same codes scanned again add nothing.
    again = mother.client.import_medication_notebook(MOTHER, PARTS)
    assert (again.record_ids, again.already_imported) == ([], 2)

    # Current medicines on 2026-12-05: both drugs of the 12-01 dispensing; the OTC drug ended 11-22.
    current = mother.client.current_medicines(MOTHER, datetime.date(2026, 12, 5))
    assert [[d.record_id for d in g.drugs] for g in current] == [done.record_ids[:2]]
    assert current[0].drugs[0].last_day == datetime.date(2026, 12, 14)

    mother.client.sync(None)

    # A clinic she grants reads the drugs as FHIR.
    clinic = SmartOrg(server, tmp_path, READER_ID, "Himawari Clinic", "clinic")
    grant = mother.client.grant_consent(phr.GrantRequest(
        organization_id=READER_ID, purpose="treatment", modules=["medication"], subjects=[MOTHER],
        _from=None, to="2099-12-31", access="read"))
    assert grant.record_key_count == 3
    token = clinic.token("system/MedicationDispense.rs system/MedicationStatement.rs")
    dispenses = clinic.get_json(server.base_url + "/fhir/r4/MedicationDispense", token)
    Bundle.parse_obj(dispenses)
    codings = sorted(
        (c["system"], c["code"])
        for e in dispenses["entry"]
        for c in e["resource"]["medicationCodeableConcept"].get("coding", [])
    )
    assert (YJ, "2344009F1030") in codings, codings
    assert len(dispenses["entry"]) == 2
    statements = clinic.get_json(server.base_url + "/fhir/r4/MedicationStatement", token)
    Bundle.parse_obj(statements)
    [statement] = [e["resource"] for e in statements["entry"]]
    assert statement["category"]["coding"][0]["code"] == "community"
    assert statement["effectivePeriod"] == {"start": "2026-11-20", "end": "2026-11-22"}

    # She exports them back as JAHIS: a Shift_JIS file and QR texts of at most 300 bytes.
    export = mother.client.export_medication_notebook(MOTHER, None, None, 300)
    assert export.medications == 3
    assert export.text.startswith("JAHISTC08,2\r\n")
    assert bytes(export.shift_jis).decode("cp932") == export.text
    assert len(export.qr_texts) > 1
    assert all(len(t.encode("cp932")) <= 300 for t in export.qr_texts)
    # Another family's phone scans them (last first) and gets the same medications.
    other = phone("grandmother")
    other.client.create_account(server.base_url, "Grandmother's phone")
    back = other.client.import_medication_notebook(MOTHER, list(reversed(export.qr_texts)))
    assert [content(other.client.get_record(i).body) for i in back.record_ids] == meds

    # A period with nothing in it exports an empty notebook.
    empty = mother.client.export_medication_notebook(MOTHER, datetime.date(2020, 1, 1), datetime.date(2020, 12, 31), None)
    assert empty.medications == 0


def test_bad_notebook_input_is_a_typed_error_naming_the_line_and_stores_nothing(phr, server, phone):
    mother, _ = registered_mother(server, phone)
    cases = [
        ((VECTORS / "malformed-bad-code-type.txt").read_text(encoding="utf-8"), 3, "薬品コード種別"),
        ((VECTORS / "malformed-unknown-version.txt").read_text(encoding="utf-8"), 1, "JAHISTC99"),
        ("JAHISTC08,1\r\n5,20261201,1\r\n201,1,薬\x07,1,錠,1,,1\r\n", 3, "control character"),
    ]
    for text, line, words in cases:
        with pytest.raises(phr.PhrError.Notebook) as refused:
            mother.client.import_medication_notebook(MOTHER, [text])
        assert refused.value.line == line and words in refused.value.reason, refused.value
    with pytest.raises(phr.PhrError.Notebook) as huge:
        mother.client.import_medication_notebook_file(MOTHER, b"JAHISTC08,1\r\n" + b"501,x,1\r\n" * 700_000)
    assert "at most" in huge.value.reason
    assert mother.client.timeline(MOTHER, None, None, None) == []
    # A Shift_JIS file with extension characters imports.
    done = mother.client.import_medication_notebook_file(MOTHER, (VECTORS / "ext-chars-sjis-crlf.csv").read_bytes())
    assert len(done.record_ids) == 2
    assert content(mother.client.get_record(done.record_ids[0]).body).pharmacy == "㈱すずらん調剤薬局"


def test_a_notebook_for_another_birth_date_imports_with_a_warning_and_the_export_names_the_mother(phr, server, phone):
    mother, _ = registered_mother(server, phone)
    mother.client.add_record(MOTHER, bodies.profile())  # 山田 花子, born 1994-07-15
    full = (VECTORS / "full-utf8-lf.txt").read_text(encoding="utf-8")  # 山田　花子, born 1995-04-12
    checked = mother.client.import_medication_notebook(MOTHER, [full])
    assert checked.warnings == [phr.NotebookWarning.PATIENT_BIRTH_DATE_DIFFERS(in_notebook=datetime.date(1995, 4, 12))]
    assert len(checked.record_ids) == 3, "a warning does not stop the import: the app asks the parent"
    exported = mother.client.export_medication_notebook(MOTHER, None, None, None)
    assert exported.text.split("\r\n")[1] == "1,山田 花子,2,19940715,,,,,,,"
    assert len(exported.qr_texts) == 1, "a short notebook fits one QR code, without a split record"
