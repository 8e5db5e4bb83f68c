#!/usr/bin/env bash
# Regenerates src/wire/generated/ from schema/wire.fbs. Needs flatc (Debian: flatbuffers-compiler);
# installs it when missing and we are root. The generated code is committed, so building the
# package never needs flatc.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v flatc >/dev/null; then
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq flatbuffers-compiler >/dev/null
  else echo "gen-schema: flatc not found; install Debian's flatbuffers-compiler" >&2; exit 1; fi
fi
out=src/wire/generated
rm -rf "$out"; mkdir -p "$out"
flatc --ts -o "$out" schema/wire.fbs
echo "generated $(find "$out" -name '*.ts' | wc -l) files in $out with $(flatc --version)"
