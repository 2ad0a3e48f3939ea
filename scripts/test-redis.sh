#!/usr/bin/env bash
# A throwaway Redis server for the tests, on loopback only, keeping nothing on disk.
#
#   scripts/test-redis.sh start DIR [PORT]   start a server on 127.0.0.1:PORT (a free port it
#                                            picks when PORT is 0 or missing) in a new temporary
#                                            folder; write DIR/port and DIR/url
#                                            (redis://127.0.0.1:PORT)
#   scripts/test-redis.sh stop DIR           stop it, and every server started in a folder under
#                                            DIR (tests that start their own), and delete their
#                                            temporary folders
#
# The server runs with --save '' and --appendonly no (nothing persists) and --protected-mode
# yes. Started again on the same port after a stop it comes back empty, as a restarted
# production Redis without persistence does: pub/sub holds no state, so the relays only
# resubscribe. As root (CI) the server runs as the `redis` system user Debian's package creates,
# in a temporary folder that user owns. ctest starts and stops it as the fixture `redis`
# (tests/CMakeLists.txt); tests that stop and restart Redis mid-test start their own server in a
# folder under the fixture's with this script (tests/integration/cluster_harness.h), so that the
# fixture's stop also ends theirs, whatever became of the test.
set -euo pipefail

command=${1:-}
dir=${2:-}
if [ -z "$command" ] || [ -z "$dir" ]; then
    echo "usage: $0 start|stop DIR [PORT]" >&2
    exit 2
fi

if ! command -v redis-server >/dev/null; then
    echo "$0: redis-server is not installed (scripts/install-deps.sh installs it)" >&2
    exit 1
fi

as_server() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u redis -- "$@"
    else
        "$@"
    fi
}

stop_one() {
    local at=$1
    [ -f "$at/server" ] || return 0
    local folder pid
    folder=$(cat "$at/server")
    if [ -f "$folder/redis.pid" ]; then
        pid=$(cat "$folder/redis.pid")
        # Only a redis-server this script started in that folder.
        if kill -0 "$pid" 2>/dev/null && grep -q redis-server "/proc/$pid/cmdline" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null || true
            for _ in $(seq 100); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.05
            done
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    rm -rf "$folder"
    rm -f "$at/server" "$at/port" "$at/url"
    # A test's own server's folder under DIR goes too, once empty.
    if [ "$at" != "$dir" ]; then
        rmdir "$at" 2>/dev/null || true
    fi
}

stop() {
    [ -d "$dir" ] || return 0
    local f
    while IFS= read -r -d '' f; do
        stop_one "$(dirname "$f")"
    done < <(find "$dir" -name server -type f -print0)
    find "$dir" -mindepth 1 -type d -empty -delete 2>/dev/null || true
}

start() {
    mkdir -p "$dir"
    stop_one "$dir" # a server a crashed run left behind
    local folder
    folder=$(mktemp -d "${TMPDIR:-/tmp}/veil-redis.XXXXXX")
    if [ "$(id -u)" -eq 0 ]; then
        chown redis: "$folder"
    fi
    echo "$folder" >"$dir/server"
    local port=${1:-0} tries=0
    while :; do
        local try=$port
        if [ "$try" = 0 ]; then
            try=$((20000 + RANDOM % 30000))
        fi
        rm -f "$folder/redis.pid" "$folder/redis.log"
        if as_server redis-server --bind 127.0.0.1 --port "$try" --protected-mode yes \
            --save '' --appendonly no --daemonize yes --dir "$folder" \
            --pidfile "$folder/redis.pid" --logfile "$folder/redis.log" >/dev/null 2>&1; then
            # Up once its log says so (nothing is sent to the port, which may be somebody
            # else's); a port in use makes it log that and exit instead.
            local up=0
            for _ in $(seq 200); do
                if grep -q "Ready to accept connections" "$folder/redis.log" 2>/dev/null; then
                    up=1
                    break
                fi
                if grep -q "Could not create server TCP listening socket" \
                    "$folder/redis.log" 2>/dev/null; then
                    break
                fi
                sleep 0.05
            done
            if [ $up = 1 ]; then
                port=$try
                break
            fi
        fi
        tries=$((tries + 1))
        if [ "$port" != 0 ] || [ $tries -ge 10 ]; then
            echo "$0: the server did not start:" >&2
            cat "$folder/redis.log" >&2 || true
            exit 1
        fi
    done
    echo "$port" >"$dir/port"
    echo "redis://127.0.0.1:$port" >"$dir/url"
    echo "Redis listening on 127.0.0.1:$port ($folder)"
}

case "$command" in
start) start "${3:-0}" ;;
stop) stop ;;
*)
    echo "usage: $0 start|stop DIR [PORT]" >&2
    exit 2
    ;;
esac
