#!/usr/bin/env bash
# A throwaway PostgreSQL 15 server for the tests, on loopback only.
#
#   scripts/test-postgres.sh start DIR [PORT]   initdb in a new temporary folder, start the server
#                                               on 127.0.0.1:PORT (a free port it picks when PORT
#                                               is 0 or missing), write DIR/conninfo
#   scripts/test-postgres.sh stop DIR           stop it and delete its folder
#   scripts/test-postgres.sh restart DIR        restart it in place (pg_ctl restart: every client
#                                               connection is cut), waiting until it is up again
#   scripts/test-postgres.sh pause DIR          stop it, keeping its data and port
#   scripts/test-postgres.sh resume DIR         start a paused server again, on the same port
#
# DIR/conninfo then holds a libpq connection string for the superuser `postgres` and the
# database `postgres` (trust authentication, loopback only); tests create a database each.
# The server keeps fsync on, as a real one does. PostgreSQL refuses to run as root: as root
# (CI), the server runs as the `postgres` system user Debian's package creates, in a temporary
# folder that user owns; as anyone else it runs as that user. ctest starts and stops it as the
# fixture `postgres` (tests/CMakeLists.txt).
set -euo pipefail

command=${1:-}
dir=${2:-}
if [ -z "$command" ] || [ -z "$dir" ]; then
    echo "usage: $0 start|stop|restart|pause|resume DIR [PORT]" >&2
    exit 2
fi

bin=${VEIL_PG_BIN:-/usr/lib/postgresql/15/bin}
if [ ! -x "$bin/pg_ctl" ]; then
    echo "$0: PostgreSQL 15 is not installed (scripts/install-deps.sh installs it)" >&2
    exit 1
fi

as_server() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

stop() {
    [ -f "$dir/cluster" ] || return 0
    local cluster
    cluster=$(cat "$dir/cluster")
    if [ -f "$cluster/data/postmaster.pid" ]; then
        as_server "$bin/pg_ctl" -D "$cluster/data" -m fast -w -t 30 stop >/dev/null 2>&1 ||
            as_server "$bin/pg_ctl" -D "$cluster/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$cluster"
    rm -f "$dir/cluster" "$dir/conninfo" "$dir/port"
}

start() {
    mkdir -p "$dir"
    stop # a server a crashed run left behind
    local cluster
    cluster=$(mktemp -d "${TMPDIR:-/tmp}/veil-pg.XXXXXX")
    if [ "$(id -u)" -eq 0 ]; then
        chown postgres: "$cluster"
    fi
    echo "$cluster" >"$dir/cluster"
    as_server "$bin/initdb" -D "$cluster/data" -U postgres --auth=trust -E UTF8 --no-locale \
        --no-sync >"$cluster/initdb.log" 2>&1 || {
        cat "$cluster/initdb.log" >&2
        exit 1
    }
    local port=${1:-0} tries=0
    while :; do
        local try=$port
        if [ "$try" = 0 ]; then
            try=$((20000 + RANDOM % 30000))
        fi
        if as_server "$bin/pg_ctl" -D "$cluster/data" -l "$cluster/server.log" -w -t 60 \
            -o "-c listen_addresses=127.0.0.1 -p $try -c unix_socket_directories=$cluster \
                -c fsync=on -c max_connections=200" start >/dev/null 2>&1; then
            port=$try
            break
        fi
        tries=$((tries + 1))
        if [ "$port" != 0 ] || [ $tries -ge 10 ]; then
            echo "$0: the server did not start:" >&2
            cat "$cluster/server.log" >&2 || true
            exit 1
        fi
    done
    echo "$port" >"$dir/port"
    echo "host=127.0.0.1 port=$port user=postgres dbname=postgres" >"$dir/conninfo"
    echo "PostgreSQL listening on 127.0.0.1:$port ($cluster)"
}

# pg_ctl on the server start made; its options (port, sockets) are kept in postmaster.opts.
control() {
    local cluster
    cluster=$(cat "$dir/cluster")
    as_server "$bin/pg_ctl" -D "$cluster/data" -l "$cluster/server.log" -w -t 60 "$@" >/dev/null
}

resume() {
    local cluster port
    cluster=$(cat "$dir/cluster")
    port=$(cat "$dir/port")
    control -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$cluster \
                -c fsync=on -c max_connections=200" start
}

case "$command" in
start) start "${3:-0}" ;;
stop) stop ;;
restart) control -m fast restart ;;
pause) control -m fast stop ;;
resume) resume ;;
*)
    echo "usage: $0 start|stop|restart|pause|resume DIR [PORT]" >&2
    exit 2
    ;;
esac
