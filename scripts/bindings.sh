#!/usr/bin/env bash
# Builds the phr-mobile library and generates its Kotlin, Swift and Python
# bindings in uniffi library mode into target/bindings/{kotlin,swift,python}.
# The built library is copied next to the Python module (Python loads it from
# there) and into target/bindings/lib (java -Djna.library.path=...).
#
#   scripts/bindings.sh            # debug build (what CI uses)
#   scripts/bindings.sh --release  # optimised build
set -euo pipefail
cd "$(dirname "$0")/.."

profile=debug
cargo_profile=()
case "${1:-}" in
  "") ;;
  --release) profile=release; cargo_profile=(--release) ;;
  *) echo "usage: $0 [--release]" >&2; exit 2 ;;
esac

case "$(uname -s)" in
  Darwin) lib_file=libphr_mobile.dylib ;;
  *) lib_file=libphr_mobile.so ;;
esac

# -p only: the library alone, without the workspace's server dependencies.
cargo build --locked "${cargo_profile[@]}" -p phr-mobile -p uniffi-bindgen
target_dir="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
lib="$target_dir/$profile/$lib_file"
bindgen="$target_dir/$profile/uniffi-bindgen"
out="$target_dir/bindings"

rm -rf "$out"
mkdir -p "$out/lib"
for language in kotlin swift python; do
  "$bindgen" generate "$lib" --language "$language" --out-dir "$out/$language" --no-format
done
cp "$lib" "$out/python/"
cp "$lib" "$out/lib/"
echo "bindings for $lib_file ($profile) in $out:"
find "$out" -type f | sort
