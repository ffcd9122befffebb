#!/usr/bin/env python3
"""Measures k-anonymity and l-diversity of research extract CSVs with an
independent tool (PyPI `pycanon`), not with the server's own planner.

The e2e suite (`tests/tests/research_e2e.rs`) and `bench-export` write the
CSV files of their extracts under `$PHR_RESEARCH_DUMP_DIR/<label>/` when that
variable is set. For every dumped extract this script checks:

- newborn.csv: quasi-identifiers (birth_period, sex, plurality,
  delivery_method) are k-anonymous with k >= K, and the sensitive item
  birth_weight_band is l-diverse with l >= L;
- delivery.csv: each row's (delivery_period, delivery_method, plurality,
  mother_age) is k-anonymous and gestational_weeks l-diverse;
- the mothers, one row each: her quasi-identifiers (all her delivery rows'
  period, method, plurality and age, and parity from mother_profile.csv) are
  k-anonymous and her gestational weeks l-diverse;
- every row of a mother's file (mother_profile, pregnancy, prenatal_visit,
  delivery, self_vitals) belongs to one of those checked mothers: no mother's
  row leaves outside a k-anonymous group.

    python3 tests/python/research_kanon.py DUMP_DIR [--k 5] [--l 2]

Exit status 0 when every extract meets the targets; otherwise it lists each failure.
"""

import argparse
import os
import sys

import pandas as pd
from pycanon import anonymity

CHECKS = [
    # (file, quasi-identifiers, sensitive attributes)
    ("newborn.csv", ["birth_period", "sex", "plurality", "delivery_method"], ["birth_weight_band"]),
    ("delivery.csv", ["delivery_period", "delivery_method", "plurality", "mother_age"], ["gestational_weeks"]),
]

# The mother's own files: each row is hers (person_id) and must belong to a checked mother.
MOTHER_FILES = ["mother_profile.csv", "pregnancy.csv", "prenatal_visit.csv", "delivery.csv", "self_vitals.csv"]
MOTHER_QI = ["deliveries", "parity"]
MOTHER_SENSITIVE = ["gestational_weeks"]


def load(path):
    # Every cell as text; an empty cell stays "" (not NaN) so it is a value of its own, as the extract means it.
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    # Rows withheld by de-identification are not in the file; drop any blank quasi-identifier row
    # defensively and renumber, as pycanon expects a clean RangeIndex after filtering.
    return df


def measure(df, qi, sensitive, what, k_target, l_target, failures):
    """pycanon's k (and l) of `df` over `qi` (and `sensitive`), with failures appended."""
    k = anonymity.k_anonymity(df, qi)
    line = f"{what}: rows={len(df)} k={k}"
    if k < k_target:
        failures.append(f"{what}: k={k} < {k_target}")
    if sensitive:
        l_div = anonymity.l_diversity(df, qi, sensitive)
        line += f" l={l_div}"
        if l_div < l_target:
            failures.append(f"{what}: l={l_div} < {l_target}")
    print(line)


def mothers(extract):
    """One row per mother who has delivery rows: her quasi-identifiers and sensitive values."""
    deliveries = load(os.path.join(extract, "delivery.csv"))
    parity = {}
    profile_path = os.path.join(extract, "mother_profile.csv")
    if os.path.exists(profile_path):
        for _, row in load(profile_path).iterrows():
            parity.setdefault(row["person_id"], row["parity"])
    rows = []
    for person, group in deliveries.groupby("person_id", sort=True):
        pairs = sorted(
            {
                ("|".join([r["delivery_period"], r["delivery_method"], r["plurality"], r["mother_age"]]), r["gestational_weeks"])
                for _, r in group.iterrows()
            }
        )
        rows.append(
            {
                "person_id": person,
                "deliveries": ";".join(p[0] for p in pairs),
                "parity": parity.get(person, ""),
                "gestational_weeks": ";".join(p[1] for p in pairs),
            }
        )
    return pd.DataFrame(rows, columns=["person_id", *MOTHER_QI, *MOTHER_SENSITIVE])


def check_mothers(label, extract, k_target, l_target, failures):
    present = [name for name in MOTHER_FILES if os.path.exists(os.path.join(extract, name))]
    if not present:
        return 0
    if "delivery.csv" not in present:
        failures.append(f"{label}: mother files {present} without delivery.csv cannot be checked")
        return 0
    table = mothers(extract)
    checked = set(table["person_id"])
    for name in present:
        persons = set(load(os.path.join(extract, name))["person_id"])
        outside = persons - checked
        if outside:
            failures.append(f"{label}/{name}: {len(outside)} mother(s) with rows outside any checked group")
    if table.empty:
        print(f"{label}/mothers: no rows")
        return 1
    measure(table, MOTHER_QI, MOTHER_SENSITIVE, f"{label}/mothers", k_target, l_target, failures)
    return 1


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("dump_dir")
    parser.add_argument("--k", type=int, default=int(os.environ.get("PHR_RESEARCH_K", "5")))
    parser.add_argument("--l", type=int, default=2)
    args = parser.parse_args()

    failures = []
    measured = 0
    for label in sorted(os.listdir(args.dump_dir)):
        extract = os.path.join(args.dump_dir, label)
        if not os.path.isdir(extract):
            continue
        for name, qi, sensitive in CHECKS:
            path = os.path.join(extract, name)
            if not os.path.exists(path):
                continue
            df = load(path)
            first_qi = qi[0]
            df = df[df[first_qi] != ""].reset_index(drop=True)
            if df.empty:
                print(f"{label}/{name}: no rows")
                continue
            measure(df, qi, sensitive, f"{label}/{name}", args.k, args.l, failures)
            measured += 1
        measured += check_mothers(label, extract, args.k, args.l, failures)
    if measured == 0:
        failures.append(f"no extract CSV found under {args.dump_dir}")
    for f in failures:
        print("FAIL", f, file=sys.stderr)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
