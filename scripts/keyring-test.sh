#!/usr/bin/env bash
# The desktop's "Remember on this computer" against a real Secret Service (issue 7): runs the
# hidden [secret-service] desktop test on a private D-Bus session bus (dbus-run-session) with an
# unlocked gnome-keyring-daemon (secrets component only) whose keyring lives in a throwaway HOME.
# The person's own session bus and keyring are never reached: DBUS_SESSION_BUS_ADDRESS and every
# HOME/XDG variable are replaced before anything starts, and the temporary folder is removed at
# the end. Usage: scripts/keyring-test.sh BUILD_DIR
set -euo pipefail

build=${1:?usage: keyring-test.sh BUILD_DIR}
tests="$build/tests/desktop_tests"
[ -x "$tests" ] || { echo "keyring-test: $tests is not built" >&2; exit 1; }
for tool in dbus-run-session gnome-keyring-daemon; do
    command -v "$tool" >/dev/null || {
        echo "keyring-test: $tool is missing (scripts/install-deps.sh installs it)" >&2
        exit 1
    }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/veil-keyring-test.XXXXXX")
cleanup() {
    # The daemon leaves with its bus; one still running from this HOME is ours and is stopped.
    for env in /proc/[0-9]*/environ; do
        if { tr '\0' '\n' <"$env"; } 2>/dev/null | grep -qxF "HOME=$tmp/home"; then
            pid=${env#/proc/}; pid=${pid%/environ}
            [ "$pid" != "$$" ] && kill "$pid" 2>/dev/null || true
        fi
    done
    rm -rf "$tmp"
}
trap cleanup EXIT
mkdir -p "$tmp/home" "$tmp/run"
chmod 700 "$tmp/home" "$tmp/run"

# Only what the test needs survives into the private session, and in the sanitizer tree the
# sanitizers' settings (scripts/sanitizer-env.sh), so that a report still fails the run.
sanitizer_env=()
for name in ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS ASAN_SYMBOLIZER_PATH; do
    if [ -n "${!name:-}" ]; then sanitizer_env+=("$name=${!name}"); fi
done
env -i PATH="$PATH" HOME="$tmp/home" USER="${USER:-veil}" LANG=C.UTF-8 "${sanitizer_env[@]}" \
    XDG_RUNTIME_DIR="$tmp/run" XDG_DATA_HOME="$tmp/home/.local/share" \
    XDG_CONFIG_HOME="$tmp/home/.config" XDG_CACHE_HOME="$tmp/home/.cache" \
    TMPDIR="$tmp" QT_QPA_PLATFORM=offscreen VEIL_PRIVATE_SECRET_SERVICE=1 \
    dbus-run-session -- bash -euo pipefail -c '
        # --daemonize returns once the daemon is on the bus; --unlock takes the new login
        # keyring'"'"'s password from stdin (a throwaway one: the keyring goes with the folder).
        printf "%s" "throwaway-$RANDOM$RANDOM" |
            gnome-keyring-daemon --unlock --components=secrets --daemonize >/dev/null
        exec "$0" "[secret-service]"
    ' "$tests"
