#!/usr/bin/env bash
# Compiles tests/kotlin/Main.kt against the generated Kotlin bindings and runs
# it on the JVM against a fresh phr-server (SQLite, or PostgreSQL when
# PHR_TEST_POSTGRES_URL is set), started by tests/python/mobile/harness.py.
#
# Needs: scripts/bindings.sh run first, java, /usr/share/java/jna.jar
# (Debian libjna-java), npm (the Kotlin compiler is the npm package
# kotlin-compiler, unpacked under target/kotlin), python3, a built phr-server
# (PHR_SERVER_BIN, default target/debug/phr-server).
set -euo pipefail
cd "$(dirname "$0")/../.."

KOTLIN_VERSION=2.4.20
KOTLIN_DIR=target/kotlin
KOTLINC="$KOTLIN_DIR/package/bin/kotlinc-jvm"
JNA_JAR="${JNA_JAR:-/usr/share/java/jna.jar}"
BINDINGS=target/bindings/kotlin/uniffi/phr_mobile/phr_mobile.kt
# The dataset types (package uniffi.phr_core), generated from phr-core.
CORE_BINDINGS=target/bindings/kotlin/uniffi/phr_core/phr_core.kt
APP_JAR="$KOTLIN_DIR/phr-kotlin-test.jar"
PYTHON="${PYTHON:-python3}"

[ -f "$BINDINGS" ] && [ -f "$CORE_BINDINGS" ] || { echo "no Kotlin bindings: run scripts/bindings.sh first" >&2; exit 1; }
[ -f "$JNA_JAR" ] || { echo "no $JNA_JAR: apt-get install libjna-java" >&2; exit 1; }

if [ ! -x "$KOTLINC" ] || ! grep -q "\"version\": \"$KOTLIN_VERSION\"" "$KOTLIN_DIR/package/package.json"; then
  mkdir -p "$KOTLIN_DIR"
  rm -rf "$KOTLIN_DIR/package"
  (cd "$KOTLIN_DIR" && npm pack --silent "kotlin-compiler@$KOTLIN_VERSION" >/dev/null &&
    tar xzf "kotlin-compiler-$KOTLIN_VERSION.tgz")
fi

# Compile only when the program or the bindings changed.
if [ ! -f "$APP_JAR" ] || [ tests/kotlin/Main.kt -nt "$APP_JAR" ] || [ "$BINDINGS" -nt "$APP_JAR" ] ||
  [ "$CORE_BINDINGS" -nt "$APP_JAR" ]; then
  echo "kotlinc $KOTLIN_VERSION: $CORE_BINDINGS $BINDINGS tests/kotlin/Main.kt -> $APP_JAR"
  "$KOTLINC" -nowarn -cp "$JNA_JAR" "$CORE_BINDINGS" "$BINDINGS" tests/kotlin/Main.kt -d "$APP_JAR"
fi

exec "$PYTHON" tests/python/mobile/harness.py -- \
  java -Djna.library.path=target/bindings/lib \
  -cp "$APP_JAR:$JNA_JAR:$KOTLIN_DIR/package/lib/kotlin-stdlib.jar" MainKt
