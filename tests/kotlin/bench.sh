#!/usr/bin/env bash
# Builds and runs tests/kotlin/Bench.kt (what a typed record costs to cross
# the FFI from Kotlin on the JVM) against a fresh phr-server, like run.sh.
# Run scripts/bindings.sh --release and tests/kotlin/run.sh (for the
# compiler) first; PHR_SERVER_BIN as in run.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."

KOTLIN_DIR=target/kotlin
KOTLINC="$KOTLIN_DIR/package/bin/kotlinc-jvm"
JNA_JAR="${JNA_JAR:-/usr/share/java/jna.jar}"
PYTHON="${PYTHON:-python3}"
JAR="$KOTLIN_DIR/phr-kotlin-bench.jar"
[ -x "$KOTLINC" ] || { echo "no Kotlin compiler: run tests/kotlin/run.sh once" >&2; exit 1; }

"$KOTLINC" -nowarn -cp "$JNA_JAR" target/bindings/kotlin/uniffi/phr_core/phr_core.kt \
  target/bindings/kotlin/uniffi/phr_mobile/phr_mobile.kt tests/kotlin/Bench.kt -d "$JAR"
exec "$PYTHON" tests/python/mobile/harness.py -- \
  java -Djna.library.path=target/bindings/lib -cp "$JAR:$JNA_JAR:$KOTLIN_DIR/package/lib/kotlin-stdlib.jar" BenchKt
