#!/usr/bin/env bash
# make bench: runs every bench program (they print figures; nothing is asserted).
set -euo pipefail
BUILD=${1:-build}
for b in "$BUILD"/bench/bench_*; do
  [ -x "$b" ] || continue
  echo "== $(basename "$b")"
  "$b"
done
