#!/usr/bin/env python3
"""Measures k-anonymity and l-diversity of research extract CSVs with an
independent tool (PyPI `pycanon`), not with the server's own planner.

The e2e suite (`tests/tests/research_e2e.rs`) and `bench-export` write the
CSV files of their extracts under `$PHR_RESEARCH_DUMP_DIR/<label>/` when that
variable is set. For every dumped extract this script checks:

- newborn.csv: quasi-identifiers (birth_period, sex, plurality,
  delivery_method) are k-anonymous with k >= K, and the sensitive item
  birth_weight_band is l-diverse with l >= L;
- delivery.csv: (delivery_period, delivery_method, plurality) is k-anonymous.

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
    ("delivery.csv", ["delivery_period", "delivery_method", "plurality"], []),
]


def load(path):
    # Every cell as text; an empty cell stays "" (not NaN) so it is a value of its own, as the extract means it.
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    # Rows withheld by de-identification are not in the file; drop any blank quasi-identifier row
    # defensively and renumber, as pycanon expects a clean RangeIndex after filtering.
    return df


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
            k = anonymity.k_anonymity(df, qi)
            line = f"{label}/{name}: rows={len(df)} k={k}"
            if k < args.k:
                failures.append(f"{label}/{name}: k={k} < {args.k}")
            if sensitive:
                l_div = anonymity.l_diversity(df, qi, sensitive)
                line += f" l={l_div}"
                if l_div < args.l:
                    failures.append(f"{label}/{name}: l={l_div} < {args.l}")
            print(line)
            measured += 1
    if measured == 0:
        failures.append(f"no extract CSV found under {args.dump_dir}")
    for f in failures:
        print("FAIL", f, file=sys.stderr)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
