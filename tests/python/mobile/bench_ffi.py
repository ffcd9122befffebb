"""What a record costs to cross the FFI, measured through the generated
Python bindings against a real phr-server (started on a loopback port):
`add_record` of a fully filled prenatal visit, `get_record` and a 500-entry
`timeline`, each until the app holds the fields (typed: the record's
attributes; JSON bindings: `json.loads` of `body_json`). Prints
`name value unit` lines, like the Rust bench binaries.

It runs on these bindings and on the JSON ones before issue 20 (same
content, chosen by what the module offers), so the two can be compared:

    scripts/bindings.sh --release && cargo build --release -p phr-server
    PHR_SERVER_BIN=target/release/phr-server target/mobile-venv/bin/python tests/python/mobile/bench_ffi.py

`PHR_BINDINGS_DIR` points it at other bindings (e.g. a checkout of the
previous version, built the same way).
"""

from __future__ import annotations

import datetime
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness  # noqa: E402

ADDS = int(os.environ.get("PHR_BENCH_ADDS", "2000"))
TIMELINE = 500


def visit_json(i: int) -> str:
    day = datetime.date.today() - datetime.timedelta(days=1 + i % 200)
    return json.dumps(
        {
            "kind": "prenatal_visit",
            "body": {
                "visit_date": day.isoformat(),
                "clinic_name": "さくら産婦人科",
                "clinic_id": "1312345678",
                "body_weight": {"value": 54.2, "unit": "kg"},
                "blood_pressure": {
                    "systolic": {"value": 112.0, "unit": "mm[Hg]"},
                    "diastolic": {"value": 70.0, "unit": "mm[Hg]"},
                },
                "fundal_height": {"value": 12.0, "unit": "cm"},
                "abdominal_girth": {"value": 80.0, "unit": "cm"},
                "edema": "negative",
                "urine_protein": "negative",
                "urine_glucose": "negative",
                "fetal_heart_rate": {"value": 150.0, "unit": "/min"},
                "labs": {
                    "hemoglobin": {"value": 11.8, "unit": "g/dL"},
                    "hematocrit": {"value": 35.0, "unit": "%"},
                    "platelets": {"value": 220.0, "unit": "10*3/uL"},
                },
                "hypertensive_disorder": False,
                "gestational_diabetes": False,
                "dental": {"caries_count": 0, "calculus": False, "gingivitis": False},
                "note": f"visit {i}",
            },
        },
        ensure_ascii=False,
    )


def percentile(samples, q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> int:
    phr = harness.load_bindings()
    typed = hasattr(phr, "record_body_from_json")
    # The same content either way: typed bodies are made from the JSON once, outside the timing.
    bodies = [phr.record_body_from_json(visit_json(i)) if typed else visit_json(i) for i in range(ADDS)]

    def note(entry):
        return entry.body[0].note if typed else json.loads(entry.body_json)["body"]["note"]

    with harness.running_server() as server, tempfile.TemporaryDirectory() as tmp:
        transport = harness.make_transport(phr)()
        client = phr.PhrClient.open(str(Path(tmp) / "bench.db"), os.urandom(32), transport)
        client.create_account(server.base_url, "bench phone")
        adds, ids = [], []
        for body in bodies:
            t = time.perf_counter()
            ids.append(client.add_record("mother", body))
            adds.append(time.perf_counter() - t)
        gets = []
        for record_id in ids[:ADDS]:
            t = time.perf_counter()
            note(client.get_record(record_id))
            gets.append(time.perf_counter() - t)
        timelines = []
        for _ in range(20):
            t = time.perf_counter()
            page = client.timeline_page("mother", None, None, None, None, TIMELINE)
            for entry in page.entries:
                note(entry)
            timelines.append(time.perf_counter() - t)
        del client

    api = "typed" if typed else "json"
    print(f"ffi_api_{api} 1 flag")
    print(f"ffi_add_record_p50 {statistics.median(adds) * 1e6:.0f} us")
    print(f"ffi_add_record_p99 {percentile(adds, 0.99) * 1e6:.0f} us")
    print(f"ffi_get_record_p50 {statistics.median(gets) * 1e6:.0f} us")
    print(f"ffi_timeline_{TIMELINE}_p50 {statistics.median(timelines) * 1e3:.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
