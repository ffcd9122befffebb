#!/usr/bin/env bash
# Coverage-guided fuzzing of one target (or all) for a number of seconds each:
#   scripts/fuzz.sh [TARGET|all] [SECONDS]      (default: all, 60 s each)
# Targets: record_envelope record_history_json sync_bodies fhir_bodies jwt
# (bodies in tests/src/fuzz.rs). Needs the nightly toolchain and cargo-fuzz
# (`rustup toolchain install nightly`, `cargo install cargo-fuzz --locked`).
# Where nightly is absent, the same targets run bounded on stable:
#   PHR_FUZZ_CASES=100000 cargo test -p phr-tests --test fuzz_targets_bounded
# Corpus and crash files: fuzz/corpus/<target>/, fuzz/artifacts/<target>/
# (ignored by git). A crash reproduces with
#   cargo +nightly fuzz run TARGET fuzz/artifacts/TARGET/crash-…
set -euo pipefail
cd "$(dirname "$0")/.."
target="${1:-all}"
seconds="${2:-60}"
targets=(record_envelope record_history_json sync_bodies fhir_bodies jwt)
[ "$target" = all ] || targets=("$target")

rustup toolchain list | grep -q '^nightly' || {
  echo "the nightly toolchain is missing: rustup toolchain install nightly (or use the bounded run, see above)" >&2
  exit 2
}
command -v cargo-fuzz >/dev/null 2>&1 || { echo "cargo-fuzz is missing: cargo install cargo-fuzz --locked" >&2; exit 2; }

cargo run -q -p phr-tests --bin fuzz-seeds -- fuzz/corpus
failed=()
for t in "${targets[@]}"; do
  echo "=== fuzzing $t for $seconds s"
  cargo +nightly fuzz run "$t" "fuzz/corpus/$t" -- -max_total_time="$seconds" -rss_limit_mb=4096 -max_len=65536 ||
    failed+=("$t")
done
if [ "${#failed[@]}" -gt 0 ]; then
  echo "=== crashes in: ${failed[*]} (inputs under fuzz/artifacts/)" >&2
  exit 1
fi
echo "=== no crash in: ${targets[*]}"
