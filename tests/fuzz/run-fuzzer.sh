#!/usr/bin/env bash
# Runs one libFuzzer target for a bounded time (FUZZ_SECONDS, default 20)
# from its seed corpus. Fails if the fuzzer finds a crash, leak or UB.
set -euo pipefail
bin=$1 seeds=$2 work=$3
secs=${FUZZ_SECONDS:-20}
mkdir -p "$work/corpus"
if [ -d "$seeds" ]; then cp -n "$seeds"/* "$work/corpus/" 2>/dev/null || true; fi
cd "$work"
exec "$bin" -max_total_time="$secs" -max_len=2048 -timeout=10 -print_final_stats=1 "$work/corpus"
