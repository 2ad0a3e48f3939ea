#!/usr/bin/env bash
# make fuzz: runs every libFuzzer target of the sanitizer tree for a while, one after the other.
#   scripts/fuzz.sh BUILD_DIR SECONDS CORPUS_OUT [TARGET...]
# Each target starts from its seeds in tests/fuzz/corpus/<target> and from what earlier runs
# found in CORPUS_OUT/<target>/corpus, where it keeps what it finds (outside the tree unless
# CORPUS_OUT points into it). Crashing inputs land in CORPUS_OUT/<target>/artifacts/. To fold
# new inputs into the seeds, minimised:
#   <build>/tests/fuzz/fuzz_<t> -merge=1 tests/fuzz/corpus/<t> CORPUS_OUT/<t>/corpus
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build=$1 seconds=$2 out=$3
shift 3
. "$root/scripts/sanitizer-env.sh"
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    mapfile -t targets < "$build/fuzz_targets.txt"
fi
failed=()
for t in "${targets[@]}"; do
    [ -n "$t" ] || continue
    echo "== fuzz_$t for ${seconds}s (new inputs: $out/$t/corpus)"
    if ! "$root/tests/fuzz/run_fuzz_target.sh" "$build/tests/fuzz/fuzz_$t" \
            "$root/tests/fuzz/corpus/$t" "$out/$t" "$seconds" 2>&1 | tail -n 25; then
        failed+=("$t")
    fi
done
if [ ${#failed[@]} -ne 0 ]; then
    echo "fuzz targets that failed: ${failed[*]} (inputs in $out/<target>/artifacts)" >&2
    exit 1
fi
echo "every fuzz target ran ${seconds}s without a finding"
