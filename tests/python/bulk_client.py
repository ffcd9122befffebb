#!/usr/bin/env python3
"""A maintained FHIR Bulk Data 2.0 client, PyPI `smart-fetch` (SMART Health
IT's bulk export tool), run against a real phr-server's research base.

It registers a research organization with an ES384 JWKS (`phr-server org
add`), starts the server on a free loopback port with a fresh data
directory, and runs

    smart-fetch bulk OUT --fhir-url BASE/research/v1 \\
        --smart-client-id ID --smart-key KEY.jwks \\
        --type Patient,Observation --no-default-filters

which discovers the token endpoint at `BASE/research/v1/.well-known/
smart-configuration`, reads `BASE/research/v1/metadata`, authenticates with
SMART Backend Services, kicks off `$export` with `Prefer: respond-async`,
polls the status URL and reads the manifest.
(`--no-default-filters`: otherwise smart-fetch adds an Observation
`_typeFilter`, which this server refuses without `Prefer: handling=lenient`.)
The population is empty, so the manifest's `output` is empty (Bulk Data 2.0:
no output item for a type without data): this checks the protocol, not the
extracts (tests/tests/research_e2e.rs does those).

    target/bulk-venv/bin/python tests/python/bulk_client.py target/debug/phr-server target/bulk-venv/bin/smart-fetch

Prints one line per check and `bulk_client: N passed, N failed`; exit status
0 only when no check failed.
"""

import json
import os
import subprocess
import sys
import tempfile

from jwcrypto import jwk

ORG = "bulk-research"


from serverproc import clean_env, start_server  # noqa: E402


def keys(work):
    """An ES384 key: the public JWKS for the server, the private one (`.jwks`) for smart-fetch."""
    key = jwk.JWK.generate(kty="EC", crv="P-384")
    public = json.loads(key.export_public())
    public.update({"kid": "bulk-1", "alg": "ES384", "use": "sig"})
    private = json.loads(key.export_private())
    private.update({"kid": "bulk-1", "alg": "ES384", "key_ops": ["sign"]})
    public_path = os.path.join(work, "public.jwks.json")
    private_path = os.path.join(work, "private.jwks")
    with open(public_path, "w") as f:
        json.dump({"keys": [public]}, f)
    with open(private_path, "w") as f:
        json.dump({"keys": [private]}, f)
    return public_path, private_path


def main(binary, smart_fetch):
    passed, failed = 0, 0

    def check(name, ok, detail=""):
        nonlocal passed, failed
        if ok:
            passed += 1
            print(f"ok   {name}")
        else:
            failed += 1
            print(f"FAIL {name}: {detail}")

    with tempfile.TemporaryDirectory() as work:
        data = os.path.join(work, "data")
        public_path, private_path = keys(work)
        subprocess.run(
            [binary, "org", "add", "--id", ORG, "--name", "Bulk Research", "--kind", "research",
             "--purpose", "research", "--jwks-file", public_path, "--data-dir", data],
            check=True, env=clean_env(), stdout=subprocess.DEVNULL,
        )
        proc, base = start_server(binary, data)
        try:
            out = os.path.join(work, "out")
            run = subprocess.run(
                [smart_fetch, "bulk", out, "--fhir-url", f"{base}/research/v1",
                 "--smart-client-id", ORG, "--smart-key", private_path,
                 "--type", "Patient,Observation", "--no-default-filters"],
                capture_output=True, text=True, timeout=300,
            )
            check("smart-fetch bulk exits 0", run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:])
            files = sorted(os.listdir(out)) if os.path.isdir(out) else []
            check("no resource file for an empty population",
                  not [f for f in files if f.endswith(".ndjson.gz")], files)
            events = {}
            log = os.path.join(out, "log.ndjson")
            if os.path.exists(log):
                with open(log) as f:
                    for line in f:
                        event = json.loads(line)
                        events.setdefault(event.get("eventId"), []).append(event.get("eventDetail") or {})
            kickoff = (events.get("kickoff") or [{}])[0]
            check("the kick-off went to the research base's $export",
                  kickoff.get("exportUrl", "").startswith(f"{base}/research/v1/$export?_type="), kickoff)
            check("the kick-off was accepted", kickoff.get("errorCode") is None, kickoff)
            check("the CapabilityStatement was read (FHIR 4.0.1)", kickoff.get("fhirVersion") == "4.0.1", kickoff)
            manifest = (events.get("manifest_complete") or [{}])[0]
            check("the manifest listed no output file and no error file",
                  manifest.get("totalOutputFileCount") == 0 and manifest.get("totalErrorFileCount") == 0, manifest)
            check("nothing was downloaded", not events.get("download_request"), events.get("download_request"))
            check("the export completed", "export_complete" in events, sorted(events))
        finally:
            proc.kill()
            proc.wait()

    print(f"bulk_client: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: bulk_client.py PHR_SERVER_BINARY SMART_FETCH")
    sys.exit(main(sys.argv[1], sys.argv[2]))
