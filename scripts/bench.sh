#!/usr/bin/env bash
# `make bench`: runs each benchmark workload three times, takes the median of every figure and
# writes bench/results/<date>.md (a Markdown table) and bench/results/<date>.jsonl (one JSON line
# per workload), both headed by the machine's core count and memory; prints the table.
#
# Usage: scripts/bench.sh [build-folder] (default build-bench). Each workload prints one JSON
# line on stdout and its notes on stderr; bench/README.md says what each measures.
#
# VEIL_BENCH_STORE=postgresql runs the relay workloads (B1-B6) with the relay's store on the
# throwaway PostgreSQL server started below (a fresh database per relay) and skips the client
# workloads B7 and B8, which have nothing to do with the relay's store.
set -euo pipefail

build=${1:-build-bench}
top=$(cd "$(dirname "$0")/.." && pwd)
bin="$top/$build/bench"
results="$top/bench/results"
runs=${VEIL_BENCH_RUNS:-3}
# One run of any workload stops itself well before this; the limit only catches a hang.
run_timeout=${VEIL_BENCH_TIMEOUT:-300}

# "ID EXECUTABLE [ARGUMENTS]". B1-B5 share the load generator, which starts its own relay (and
# the raw floor for B2) and stops it again.
workloads=(
    "B1 veil-bench-relay b1"
    "B2 veil-bench-relay b2"
    "B3 veil-bench-relay b3"
    "B4 veil-bench-relay b4"
    "B5 veil-bench-relay b5"
    "B9 veil-bench-relay b9"
    "B6 veil-bench-relay-store"
    "B7 veil-bench-crypto"
    "B8 veil-bench-client-db"
    "UI1 veil-bench-tui-layout"
    "UI2 veil-bench-desktop-delegate"
)

store=${VEIL_BENCH_STORE:-sqlite}
case "$store" in
sqlite) ;;
postgresql)
    command -v psql >/dev/null || { echo "bench: VEIL_BENCH_STORE=postgresql needs psql" >&2; exit 1; }
    kept=()
    for entry in "${workloads[@]}"; do
        case "$entry" in B7* | B8*) ;; *) kept+=("$entry") ;; esac
    done
    workloads=("${kept[@]}")
    ;;
*)
    echo "bench: VEIL_BENCH_STORE must be sqlite or postgresql, not $store" >&2
    exit 1
    ;;
esac

# One SQLite per process (TOOLCHAIN.md): refuse to measure a binary that loads the wrong one.
check_sqlite() {
    local exe=$1 forbidden=$2
    if ldd "$exe" | grep -q "$forbidden"; then
        echo "bench: $(basename "$exe") loads $forbidden, which it must never do" >&2
        exit 1
    fi
}
for entry in "${workloads[@]}"; do
    read -r _ name _ <<<"$entry"
    exe="$bin/$name"
    [ -x "$exe" ] || { echo "bench: $exe is missing; run make bench" >&2; exit 1; }
done
[ -x "$bin/veil-bench-raw-floor" ] || { echo "bench: the raw floor is missing" >&2; exit 1; }
check_sqlite "$bin/veil-bench-relay-store" libsqlcipher
if [ "$store" = sqlite ]; then
    check_sqlite "$bin/veil-bench-crypto" libsqlite3
    check_sqlite "$bin/veil-bench-client-db" libsqlite3
fi
# The load generator stays lean: no database of either kind.
check_sqlite "$bin/veil-bench-relay" libsqlite3
check_sqlite "$bin/veil-bench-relay" libsqlcipher

stamp=$(date +%Y-%m-%d-%H%M%S)
mkdir -p "$results"
raw=$(mktemp "${TMPDIR:-/tmp}/veil-bench-raw.XXXXXX")
# B6 measures the PostgreSQL store too, on a throwaway server (fsync on, data under $TMPDIR)
# started here and stopped on exit; without PostgreSQL 15 installed, SQLite alone.
pg_dir=$(mktemp -d "${TMPDIR:-/tmp}/veil-bench-pg.XXXXXX")
trap '"$top/scripts/test-postgres.sh" stop "$pg_dir" >/dev/null 2>&1 || true; rm -rf "$raw" "$pg_dir"' EXIT
if [ -x /usr/lib/postgresql/15/bin/pg_ctl ] && "$top/scripts/test-postgres.sh" start "$pg_dir" >&2; then
    VEIL_BENCH_B6_POSTGRES=$(cat "$pg_dir/conninfo")
    export VEIL_BENCH_B6_POSTGRES
    if [ "$store" = postgresql ]; then
        VEIL_BENCH_RELAY_POSTGRES=$VEIL_BENCH_B6_POSTGRES
        export VEIL_BENCH_RELAY_POSTGRES
    fi
elif [ "$store" = postgresql ]; then
    echo "bench: VEIL_BENCH_STORE=postgresql, but no PostgreSQL 15 server could be started" >&2
    exit 1
fi

started=$SECONDS
for entry in "${workloads[@]}"; do
    read -r id name args <<<"$entry"
    exe="$bin/$name"
    for run in $(seq 1 "$runs"); do
        echo "== $id run $run/$runs" >&2
        # shellcheck disable=SC2086 # args is a list of words
        line=$(timeout "$run_timeout" "$exe" $args)
        if [ "$(printf '%s\n' "$line" | wc -l)" -ne 1 ] || [ "${line:0:1}" != "{" ]; then
            echo "bench: $id must print exactly one JSON line on stdout" >&2
            exit 1
        fi
        printf '%s\n' "$line" >>"$raw"
    done
done
elapsed=$((SECONDS - started))

VEIL_BENCH_NPROC=$(nproc)
VEIL_BENCH_MEM_KIB=$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)
VEIL_BENCH_CPU=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
VEIL_BENCH_COMMIT=$(git -C "$top" describe --always --dirty 2>/dev/null || echo unknown)
export VEIL_BENCH_NPROC VEIL_BENCH_MEM_KIB VEIL_BENCH_CPU VEIL_BENCH_COMMIT
export VEIL_BENCH_DATE=$stamp VEIL_BENCH_ELAPSED=$elapsed VEIL_BENCH_BUILD=$build
export VEIL_BENCH_STORE=$store
python3 "$top/bench/report.py" "$raw" "$results/$stamp.md" "$results/$stamp.jsonl"
cat "$results/$stamp.md"
echo >&2
echo "bench: wrote bench/results/$stamp.md and .jsonl" >&2
