#!/usr/bin/env bash
# Runs one libFuzzer target over its seed corpus for a bounded time:
#   run_fuzz_target.sh BINARY SEED_CORPUS WORK_DIR SECONDS [libFuzzer options...]
# New inputs are written to WORK_DIR/corpus (never into the seed corpus), crashes to
# WORK_DIR/artifacts/. Exits non-zero on any crash, leak, sanitizer report or timeout.
set -euo pipefail
binary=$1 seeds=$2 work=$3 seconds=$4
shift 4
mkdir -p "$work/corpus" "$work/artifacts"
# One worker, one job: make test runs the targets side by side under ctest -j.
exec "$binary" "$work/corpus" "$seeds" -max_total_time="$seconds" -timeout=25 \
    -rss_limit_mb=2560 -max_len=65536 -print_final_stats=1 \
    -artifact_prefix="$work/artifacts/" "$@"
