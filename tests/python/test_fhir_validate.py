#!/usr/bin/env python3
"""Proves fhir_validate.py refuses what it must (so a green CI run means something).

    FHIR_SCHEMA=PATH/fhir.schema.json python3 -m unittest tests/python/test_fhir_validate.py

Each case writes resources to a temporary directory and runs the validator's
main() on it, checking the exit code and the failure lines printed.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fhir_validate  # noqa: E402

SCHEMA = os.environ.get("FHIR_SCHEMA", "")

GOOD_OBSERVATION = {
    "resourceType": "Observation",
    "id": "w1",
    "status": "final",
    "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]},
    "subject": {"reference": "Patient/p1"},
    "effectiveDateTime": "2026-04-02T10:00:00+09:00",
    "valueQuantity": {"value": 62.5, "unit": "kg", "system": "http://unitsofmeasure.org", "code": "kg"},
}


def with_changes(base: dict, **changes) -> dict:
    out = json.loads(json.dumps(base))
    for key, value in changes.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out


class FhirValidateTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # Never skip: without the schema these tests would prove nothing.
        if not SCHEMA or not Path(SCHEMA).is_file():
            raise RuntimeError("set FHIR_SCHEMA to the FHIR R4 fhir.schema.json")

    def run_on(self, files: dict[str, object]) -> tuple[int, list[str]]:
        with tempfile.TemporaryDirectory() as d:
            for name, content in files.items():
                text = content if isinstance(content, str) else json.dumps(content)
                Path(d, name).write_text(text, encoding="utf-8")
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                code = fhir_validate.main(["--schema", SCHEMA, d])
        return code, out.getvalue().splitlines()

    def assert_refused(self, resource: object, *expected: str) -> list[str]:
        code, lines = self.run_on({"r.json": resource})
        self.assertEqual(code, 1, lines)
        self.assertEqual(lines[-1], "fhir_validate: 0 passed, 1 failed", lines)
        text = "\n".join(lines)
        for e in expected:
            self.assertIn(e, text)
        return lines

    def test_a_valid_observation_and_a_bundle_of_it_pass_both_validators(self):
        bundle = {
            "resourceType": "Bundle",
            "type": "searchset",
            "total": 1,
            "entry": [{"fullUrl": "https://x.example/fhir/Observation/w1", "resource": GOOD_OBSERVATION}],
        }
        code, lines = self.run_on({"o.json": GOOD_OBSERVATION, "b.json": bundle})
        self.assertEqual((code, lines), (0, ["fhir_validate: 2 passed, 0 failed"]))

    def test_no_input_files_is_a_failure_not_a_vacuous_pass(self):
        code, lines = self.run_on({})
        self.assertEqual(code, 1)
        self.assertIn("refusing to pass on nothing", "\n".join(lines))
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            self.assertEqual(fhir_validate.main(["--schema", SCHEMA, "/nonexistent/dir"]), 1)
        self.assertIn("no such file", out.getvalue())

    def test_a_missing_required_element_is_caught_by_the_models(self):
        self.assert_refused(with_changes(GOOD_OBSERVATION, status=None), "Observation.status: field required")

    def test_an_unknown_element_is_caught_by_both(self):
        lines = self.assert_refused(with_changes(GOOD_OBSERVATION, valueWeight=1), "Observation.valueWeight")
        self.assertTrue(any("[fhir.resources]" in line for line in lines), lines)
        self.assertTrue(any("[fhir.schema.json]" in line for line in lines), lines)

    def test_a_decimal_sent_as_a_string_is_caught_by_the_schema(self):
        q = dict(GOOD_OBSERVATION["valueQuantity"], value="62.5")
        self.assert_refused(with_changes(GOOD_OBSERVATION, valueQuantity=q), "valueQuantity.value", "[fhir.schema.json]")

    def test_an_impossible_date_and_a_bad_id_are_caught(self):
        self.assert_refused(with_changes(GOOD_OBSERVATION, effectiveDateTime="2026-13-40"), "effectiveDateTime")
        self.assert_refused(with_changes(GOOD_OBSERVATION, id="a" * 65), "Observation.id")

    def test_two_values_of_a_choice_type_are_caught(self):
        self.assert_refused(with_changes(GOOD_OBSERVATION, valueString="heavy"), "but got multiple")

    def test_a_fault_inside_a_bundle_entry_names_the_entry(self):
        bad = {"resourceType": "Patient", "gender": "woman"}
        bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": GOOD_OBSERVATION}, {"resource": bad}]}
        self.assert_refused(bundle, "Bundle.entry[1].resource.gender", "not one of")

    def test_a_fault_in_a_contained_resource_names_it_once_per_validator(self):
        enc = {
            "resourceType": "Encounter",
            "status": "finished",
            "class": {"code": "AMB"},
            "contained": [{"resourceType": "Organization", "id": "c", "name": ""}],
            "serviceProvider": {"reference": "#c"},
        }
        bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": enc}]}
        lines = self.assert_refused(bundle, "Bundle.entry[0].resource.contained[0].name")
        faults = [line for line in lines if "contained[0].name" in line]
        self.assertEqual(len(faults), 2, lines)  # one from each validator, no repeats

    def test_an_r4_capability_statement_states_fhir_version_4_0_1_and_nothing_else(self):
        cs = {
            "resourceType": "CapabilityStatement",
            "status": "active",
            "date": "2026-11-24",
            "kind": "instance",
            "fhirVersion": "4.0.1",
            "format": ["application/fhir+json"],
        }
        code, lines = self.run_on({"cs.json": cs})
        self.assertEqual(code, 0, lines)
        self.assert_refused(dict(cs, fhirVersion="4.0.2"), "CapabilityStatement.fhirVersion")

    def test_an_operation_outcome_without_issue_code_is_caught(self):
        self.assert_refused({"resourceType": "OperationOutcome", "issue": [{"severity": "error"}]}, "issue[0].code")

    def test_unknown_resource_types_and_non_json_are_failures(self):
        self.assert_refused({"resourceType": "Pregnancy"}, "unknown R4 resourceType")
        self.assert_refused("{not json", "not readable JSON")
        self.assert_refused([1, 2], "not a JSON object")


if __name__ == "__main__":
    unittest.main()
