#!/usr/bin/env bash
# `make run`: a local relay on loopback, an echo bot, and the terminal app with a fresh account
# that has the bot as a contact. Everything lives in ./state; quitting the app stops the rest.
set -euo pipefail

build=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
state="$top/state"
# BUILD may be a folder inside the checkout (the default) or an absolute path.
case "$build" in
/*) build_dir=$build ;;
*) build_dir="$top/$build" ;;
esac
relay_bin="$build_dir/server/veil-relay"
veil_bin="$build_dir/client-tui/veil"
mkdir -p "$state"
chmod 700 "$state"

pids=()
cleanup() {
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

# The relay picks a free loopback port and prints it.
relay_out="$state/relay.out"
: > "$relay_out"
"$relay_bin" --listen 127.0.0.1:0 --data "$state/relay" >"$relay_out" 2>"$state/relay.log" &
pids+=($!)
for _ in $(seq 1 100); do
    grep -q 'listening on' "$relay_out" && break
    sleep 0.1
done
addr=$(sed -n 's/.*listening on \([0-9.]*:[0-9]*\).*/\1/p' "$relay_out" | head -n 1)
if [ -z "$addr" ]; then
    echo "make run: the relay did not start; see $state/relay.log" >&2
    exit 1
fi
relay="ws://$addr"

# The echo bot has its own profile and a random passphrase kept beside it (a demo account).
bot_profile="$state/echo"
if [ ! -f "$state/echo.pass" ]; then
    head -c 24 /dev/urandom | base64 > "$state/echo.pass"
    chmod 600 "$state/echo.pass"
fi
if [ ! -f "$bot_profile/account.db" ]; then
    "$veil_bin" --profile "$bot_profile" --relay "$relay" --passphrase-file "$state/echo.pass" \
        register echo >/dev/null
fi
"$veil_bin" --profile "$bot_profile" --relay "$relay" --passphrase-file "$state/echo.pass" \
    bot echo 2>>"$state/echo.log" &
pids+=($!)

# Your account: the passphrase is asked for on the terminal (or taken from VEIL_PASSPHRASE).
me_profile="$state/me"
name=${VEIL_NAME:-$(echo "${USER:-me}" | tr 'A-Z' 'a-z' | tr -cd 'a-z0-9_.-' | cut -c1-24)}
[ ${#name} -ge 2 ] || name="me"
[ "$name" != "echo" ] || name="me"
ask() {
    local p
    read -r -s -p "$1" p </dev/tty
    echo >&2
    printf '%s' "$p"
}
if [ ! -f "$me_profile/account.db" ]; then
    echo "Creating your account '$name' on the local relay $relay."
    if [ -z "${VEIL_PASSPHRASE:-}" ]; then
        echo "Choose a passphrase: it encrypts your messages on this disk."
        while :; do
            p1=$(ask "Passphrase: ")
            p2=$(ask "Passphrase again: ")
            [ ${#p1} -ge 8 ] && [ "$p1" = "$p2" ] && break
            echo "Use at least 8 characters, the same twice; try again." >&2
        done
        export VEIL_PASSPHRASE="$p1"
        unset p1 p2
    fi
    "$veil_bin" --profile "$me_profile" --relay "$relay" register "$name"
    "$veil_bin" --profile "$me_profile" contacts add echo >/dev/null
fi
# A mistyped passphrase (exit code 3) gets two more tries.
for _ in 1 2 3; do
    rc=0
    "$veil_bin" --profile "$me_profile" --relay "$relay" --open echo || rc=$?
    [ "$rc" -eq 3 ] && [ -z "${VEIL_PASSPHRASE:-}" ] || break
done
exit "$rc"
