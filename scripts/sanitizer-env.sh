# Sourced by the Makefile (and by hand: `. scripts/sanitizer-env.sh`) before building or running
# the sanitizer tree: every AddressSanitizer, LeakSanitizer or UndefinedBehaviorSanitizer report
# ends the process with a failure, so a test that triggers one fails. Leaks in system libraries
# that Veil cannot fix are listed, each with its reason, in scripts/lsan.supp.
veil_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export ASAN_OPTIONS="halt_on_error=1:abort_on_error=0:detect_leaks=1:detect_stack_use_after_return=0:strict_string_checks=0:check_initialization_order=1:detect_odr_violation=2:exitcode=23"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:report_error_type=1:exitcode=23"
export LSAN_OPTIONS="suppressions=${veil_root}/scripts/lsan.supp:print_suppressions=0:exitcode=23"
# With VEIL_SANITIZER_REPORTS=DIR (an absolute path; make test-asan sets it), each report goes to
# DIR/report.<pid> instead of stderr, so that the run can fail on reports from child processes
# (relays and clients the tests start) whatever their exit codes.
if [ -n "${VEIL_SANITIZER_REPORTS:-}" ]; then
    ASAN_OPTIONS="${ASAN_OPTIONS}:log_path=${VEIL_SANITIZER_REPORTS}/report"
    UBSAN_OPTIONS="${UBSAN_OPTIONS}:log_path=${VEIL_SANITIZER_REPORTS}/report"
    LSAN_OPTIONS="${LSAN_OPTIONS}:log_path=${VEIL_SANITIZER_REPORTS}/report"
fi
unset veil_root
if [ -x /usr/lib/llvm-14/bin/llvm-symbolizer ]; then
    export ASAN_SYMBOLIZER_PATH=/usr/lib/llvm-14/bin/llvm-symbolizer
fi
