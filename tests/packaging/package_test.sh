#!/usr/bin/env bash
# The Debian packages (packaging/), checked from an existing build tree: cpack only, no build.
#
#   package_test.sh BUILD_DIR VERSION build      cpack the packages into BUILD_DIR/package-test
#   package_test.sh BUILD_DIR VERSION contents   files, conffiles, maintainer scripts, Depends
#   package_test.sh BUILD_DIR VERSION unit       systemd-analyze verify and security on the unit
#   package_test.sh BUILD_DIR VERSION install    install, run, upgrade, remove, purge
#
# `install` uses the real dpkg with --root on a throwaway root and --force-script-chrootless,
# so the real maintainer scripts run (with DPKG_ROOT set) without a chroot or a debootstrap'd
# system. The few commands that would change this machine (adduser, addgroup, getent, chown to
# veil, deb-systemd-helper, deb-systemd-invoke, systemctl) are stubs early in PATH that record
# their calls; the stub chown maps the veil user and group to nobody and nogroup, which stand in
# for them when the installed relay is started as an unprivileged user. It needs root (dpkg
# --root and setpriv); without root it exits 77, which ctest reports as skipped, never passed.
set -euo pipefail

build=$(cd "$1" && pwd)
version=$2
mode=$3
debs="$build/package-test/debs"
relay_deb="$debs/veil-relay_${version}-1_amd64.deb"
tui_deb="$debs/veil_${version}-1_amd64.deb"
desktop_deb="$debs/veil-desktop_${version}-1_amd64.deb"

fail() {
    echo "FAILED: $*" >&2
    exit 1
}

# Lines of $2 must each appear, in full, in $1.
expect_lines() {
    local have=$1
    shift
    for line in "$@"; do
        grep -qxF -- "$line" <<<"$have" || fail "missing: $line"
    done
}

build_packages() {
    rm -rf "$debs" && mkdir -p "$debs"
    (cd "$build" && cpack -G DEB -B "$debs/cpack" >"$debs/cpack.log" 2>&1) ||
        { cat "$debs/cpack.log" >&2; fail "cpack"; }
    mv "$debs"/cpack/*.deb "$debs/"
    for deb in "$relay_deb" "$tui_deb" "$desktop_deb"; do
        [ -f "$deb" ] || fail "no $deb"
    done
    ls -l "$debs"/*.deb
}

# Paths in a package, without the leading ./ and without directories.
files_of() {
    dpkg-deb -c "$1" | awk '$1 !~ /^d/ {sub(/^\.\//, "", $6); print $6}' | sort
}

check_contents() {
    local files
    files=$(files_of "$relay_deb")
    expect_lines "$files" usr/bin/veil-relay etc/veil/relay.conf \
        lib/systemd/system/veil-relay.service usr/share/doc/veil-relay/self-hosting.md
    [ "$(dpkg-deb -f "$relay_deb" Package)" = veil-relay ] || fail "relay package name"
    [ "$(dpkg-deb -f "$relay_deb" Version)" = "${version}-1" ] || fail "relay version"
    [ -n "$(dpkg-deb -f "$relay_deb" Maintainer)" ] || fail "no maintainer"
    local depends
    depends=$(dpkg-deb -f "$relay_deb" Depends)
    for dep in adduser libc6 libssl3 libsqlite3-0 libpocofoundation80 libpoconet80 \
        libsignal-protocol-c2.3.2; do
        grep -q "\b$dep\b" <<<"$depends" || fail "veil-relay does not depend on $dep: $depends"
    done
    # The relay links plain SQLite, never SQLCipher (TOOLCHAIN.md).
    ! grep -q sqlcipher <<<"$depends" || fail "veil-relay depends on SQLCipher"

    local control
    control=$(mktemp -d)
    dpkg-deb -e "$relay_deb" "$control"
    [ "$(cat "$control/conffiles")" = /etc/veil/relay.conf ] || fail "conffiles"
    for script in postinst prerm postrm; do
        [ -x "$control/$script" ] || fail "no executable $script"
        sh -n "$control/$script" || fail "$script is not valid sh"
    done
    grep -q 'adduser .*--system' "$control/postinst" || fail "postinst makes no system user"
    grep -q '/run/systemd/system' "$control/postinst" || fail "postinst starts without systemd"
    ! grep -qE '^\s*rm\b' "$control/postrm" || fail "postrm deletes files"
    rm -rf "$control"
    # The shipped config: TLS with a self-signed certificate by default, and every key the
    # relay reads explained in it.
    local conf
    conf=$(dpkg-deb --fsys-tarfile "$relay_deb" | tar -xO ./etc/veil/relay.conf)
    expect_lines "$conf" "tls = auto" "data = /var/lib/veil"
    for key in listen data tls tls_cert tls_key invite_only retention_days max_attachment_mib \
        durability link_timeout_seconds log_level; do
        grep -qE "^#?$key = " <<<"$conf" || fail "relay.conf does not explain $key"
    done

    files=$(files_of "$tui_deb")
    expect_lines "$files" usr/bin/veil usr/share/man/man1/veil.1.gz usr/share/doc/veil/scripting.md
    dpkg-deb --fsys-tarfile "$tui_deb" | tar -xO ./usr/share/man/man1/veil.1.gz | gzip -t ||
        fail "veil.1.gz is not gzip"
    depends=$(dpkg-deb -f "$tui_deb" Depends)
    for dep in libsqlcipher0 libqt6websockets6 libncursesw6; do
        grep -q "\b$dep\b" <<<"$depends" || fail "veil does not depend on $dep: $depends"
    done
    ! grep -q 'libsqlite3' <<<"$depends" || fail "veil depends on plain SQLite"

    files=$(files_of "$desktop_deb")
    expect_lines "$files" usr/bin/veil-desktop usr/share/applications/veil-desktop.desktop \
        usr/share/icons/hicolor/scalable/apps/veil.svg \
        usr/share/icons/hicolor/48x48/apps/veil.png \
        usr/share/icons/hicolor/128x128/apps/veil.png \
        usr/share/icons/hicolor/256x256/apps/veil.png
    local entry
    entry=$(dpkg-deb --fsys-tarfile "$desktop_deb" | tar -xO ./usr/share/applications/veil-desktop.desktop)
    expect_lines "$entry" "Name=Veil" "Exec=veil-desktop" "Icon=veil" \
        "Categories=Network;InstantMessaging;"
    grep -q '^Comment=' <<<"$entry" || fail "no Comment in the desktop entry"
    if command -v desktop-file-validate >/dev/null; then
        local tmp
        tmp=$(mktemp --suffix=.desktop)
        printf '%s\n' "$entry" >"$tmp"
        desktop-file-validate "$tmp" || fail "desktop-file-validate"
        rm -f "$tmp"
    fi
    for size in 48 128 256; do
        dpkg-deb --fsys-tarfile "$desktop_deb" |
            tar -xO "./usr/share/icons/hicolor/${size}x${size}/apps/veil.png" |
            file - | grep -q "PNG image data, $size x $size" || fail "icon $size is not ${size}px"
    done
    depends=$(dpkg-deb -f "$desktop_deb" Depends)
    grep -q '\blibqt6widgets6\b' <<<"$depends" || fail "veil-desktop does not depend on Qt Widgets"
    echo "contents ok"
}

check_unit() {
    local work
    work=$(mktemp -d)
    dpkg-deb -x "$relay_deb" "$work/root"
    local unit="$work/root/lib/systemd/system/veil-relay.service"
    for line in "User=veil" "ProtectSystem=strict" "ProtectHome=yes" "PrivateTmp=yes" \
        "PrivateDevices=yes" "NoNewPrivileges=yes" "ReadWritePaths=/var/lib/veil" \
        "CapabilityBoundingSet=" "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX" \
        "SystemCallFilter=@system-service" "MemoryDenyWriteExecute=yes" "Restart=on-failure" \
        "StandardOutput=journal" "ExecStart=/usr/bin/veil-relay --config /etc/veil/relay.conf"; do
        grep -qxF "$line" "$unit" || fail "the unit lacks $line"
    done
    grep -q '^LimitNOFILE=[0-9]' "$unit" || fail "the unit sets no LimitNOFILE"
    if ! command -v systemd-analyze >/dev/null; then
        echo "systemd-analyze is not installed: the unit was parsed only" >&2
        exit 77
    fi
    # verify wants ExecStart to exist: the same unit, pointing at the extracted binary.
    mkdir -p "$work/unit"
    sed "s|^ExecStart=/usr/bin/veil-relay|ExecStart=$work/root/usr/bin/veil-relay|" "$unit" \
        >"$work/unit/veil-relay.service"
    local out
    out=$(systemd-analyze verify "$work/unit/veil-relay.service" 2>&1) || fail "verify: $out"
    [ -z "$out" ] || fail "systemd-analyze verify warns: $out"
    out=$(systemd-analyze security --offline=true --no-pager "$work/unit/veil-relay.service" 2>&1 |
        sed -n 's/.*Overall exposure level for veil-relay.service: \([0-9.]*\).*/\1/p')
    [ -n "$out" ] || fail "no exposure level"
    echo "systemd-analyze security: exposure $out"
    awk -v e="$out" 'BEGIN { exit !(e <= 2.0) }' || fail "exposure $out is above 2.0"
    rm -rf "$work"
    echo "unit ok"
}

# --- install, run, upgrade, remove, purge into a throwaway root ------------------------------

make_stubs() {
    local stubs=$1 state=$2
    mkdir -p "$stubs"
    : >"$state/users"
    : >"$state/calls"
    cat >"$stubs/getent" <<STUB
#!/bin/sh
grep -qx "\$1 \$2" "$state/users"
STUB
    cat >"$stubs/addgroup" <<STUB
#!/bin/sh
echo "addgroup \$*" >>"$state/calls"
for a in "\$@"; do last=\$a; done
echo "group \$last" >>"$state/users"
STUB
    cat >"$stubs/adduser" <<STUB
#!/bin/sh
echo "adduser \$*" >>"$state/calls"
for a in "\$@"; do last=\$a; done
echo "passwd \$last" >>"$state/users"
STUB
    # veil:veil becomes nobody:nogroup, and only once the stubs made the user and the group.
    cat >"$stubs/chown" <<STUB
#!/bin/sh
echo "chown \$*" >>"$state/calls"
owner=\$1
shift
case \$owner in
veil:veil) grep -qx "passwd veil" "$state/users" || exit 1; owner=nobody:nogroup ;;
root:veil) grep -qx "group veil" "$state/users" || exit 1; owner=root:nogroup ;;
esac
exec /bin/chown "\$owner" "\$@"
STUB
    for tool in deb-systemd-helper deb-systemd-invoke systemctl; do
        cat >"$stubs/$tool" <<STUB
#!/bin/sh
echo "$tool \$*" >>"$state/calls"
STUB
    done
    chmod 0755 "$stubs"/*
}

dpkg_root() {
    PATH="$stubs:$PATH" dpkg --root="$root" --force-script-chrootless --force-depends \
        --force-not-root "$@"
}

start_relay() {
    : >"$work/relay.out"
    setpriv --reuid=nobody --regid=nogroup --clear-groups \
        "$root/usr/bin/veil-relay" --config "$root/etc/veil/relay.conf" \
        --data "$root/var/lib/veil" --listen 127.0.0.1:0 >"$work/relay.out" 2>&1 &
    relay_pid=$!
    for _ in $(seq 1 200); do
        grep -q "listening on" "$work/relay.out" && break
        kill -0 "$relay_pid" 2>/dev/null || { cat "$work/relay.out" >&2; fail "relay exited"; }
        sleep 0.1
    done
    port=$(sed -n 's/^veil-relay listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$work/relay.out")
    [ -n "$port" ] || { cat "$work/relay.out" >&2; fail "the relay did not listen"; }
}

stop_relay() {
    kill -TERM "$relay_pid"
    wait "$relay_pid" || fail "the relay did not stop cleanly"
    relay_pid=
}

digest_of_data() {
    (cd "$root/var/lib/veil" && find . -type f ! -name relay.lock -print0 | sort -z |
        xargs -0 sha256sum)
}

check_install() {
    [ "$(id -u)" -eq 0 ] || { echo "needs root (dpkg --root, setpriv)" >&2; exit 77; }
    command -v setpriv >/dev/null || fail "setpriv (util-linux) is missing"
    work=$(mktemp -d /tmp/veil-package-test.XXXXXX)
    chmod 0755 "$work"
    trap 'if [ -n "${relay_pid:-}" ]; then kill "$relay_pid" 2>/dev/null || true; fi; rm -rf "$work"' EXIT
    root="$work/root"
    stubs="$work/stubs"
    mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates" "$root/var/lib/dpkg/triggers"
    touch "$root/var/lib/dpkg/status" "$root/var/lib/dpkg/available"
    make_stubs "$stubs" "$work"

    dpkg_root -i "$relay_deb" "$tui_deb" >"$work/install.log" 2>&1 ||
        { cat "$work/install.log" >&2; fail "dpkg -i"; }
    [ "$(dpkg-query --root="$root" -W -f='${Status}' veil-relay)" = "install ok installed" ] ||
        fail "veil-relay is not installed"
    grep -qx "passwd veil" "$work/users" || fail "postinst made no veil user"
    grep -qx "group veil" "$work/users" || fail "postinst made no veil group"
    [ "$(stat -c '%a %U %G' "$root/var/lib/veil")" = "750 nobody nogroup" ] ||
        fail "/var/lib/veil is $(stat -c '%a %U %G' "$root/var/lib/veil"), not 0750 veil:veil"
    grep -q "deb-systemd-helper enable veil-relay.service" "$work/calls" ||
        fail "the unit was not enabled"
    if [ -d /run/systemd/system ]; then
        grep -q "deb-systemd-invoke start veil-relay.service" "$work/calls" ||
            fail "systemd runs but the relay was not started"
    else
        ! grep -q "deb-systemd-invoke" "$work/calls" || fail "started without systemd"
    fi

    # The installed relay, with the packaged config (tls = auto), as an unprivileged user.
    start_relay
    local fingerprint
    fingerprint=$("$root/usr/bin/veil-relay" tls fingerprint --config "$root/etc/veil/relay.conf" \
        --data "$root/var/lib/veil")
    [[ $fingerprint =~ ^sha256:[0-9a-f]{64}$ ]] || fail "fingerprint '$fingerprint'"
    [ "$(stat -c '%a %U' "$root/var/lib/veil/tls/relay.key")" = "600 nobody" ] ||
        fail "the key is $(stat -c '%a %U' "$root/var/lib/veil/tls/relay.key")"
    VEIL_PASSPHRASE="correct horse alice" "$root/usr/bin/veil" --profile "$work/alice" \
        --relay "wss://127.0.0.1:$port#$fingerprint" --timeout 20 register alice \
        >"$work/register.out" 2>&1 || { cat "$work/register.out" >&2; fail "register"; }
    grep -q "registered alice" "$work/register.out" || fail "no registration"
    stop_relay
    local before
    before=$(digest_of_data)
    grep -q "relay.db" <<<"$before" || fail "the relay stored nothing"
    echo "# the administrator's note" >>"$root/etc/veil/relay.conf"

    # Upgrade: the same version again, then a bumped one.
    dpkg_root -i "$relay_deb" >"$work/reinstall.log" 2>&1 ||
        { cat "$work/reinstall.log" >&2; fail "reinstall"; }
    [ "$(digest_of_data)" = "$before" ] || fail "reinstalling changed /var/lib/veil"
    local bumped="$work/bumped"
    dpkg-deb -R "$relay_deb" "$bumped"
    sed -i "s/^Version: .*/Version: ${version}-2/" "$bumped/DEBIAN/control"
    dpkg-deb -b "$bumped" "$work/veil-relay-bumped.deb" >/dev/null
    dpkg_root -i "$work/veil-relay-bumped.deb" >"$work/upgrade.log" 2>&1 ||
        { cat "$work/upgrade.log" >&2; fail "upgrade"; }
    [ "$(dpkg-query --root="$root" -W -f='${Version}' veil-relay)" = "${version}-2" ] ||
        fail "not upgraded"
    [ "$(digest_of_data)" = "$before" ] || fail "upgrading changed /var/lib/veil"
    grep -q "the administrator's note" "$root/etc/veil/relay.conf" ||
        fail "the upgrade replaced the administrator's relay.conf"
    [ "$(grep -c '^adduser' "$work/calls")" -eq 1 ] || fail "the veil user was made twice"
    # The relay starts again on the upgraded files and the same certificate.
    start_relay
    grep -q "TLS certificate $fingerprint" "$work/relay.out" || fail "a new certificate"
    stop_relay

    before=$(digest_of_data)
    dpkg_root --remove veil-relay >"$work/remove.log" 2>&1 ||
        { cat "$work/remove.log" >&2; fail "remove"; }
    [ ! -e "$root/usr/bin/veil-relay" ] || fail "remove left the binary"
    [ "$(digest_of_data)" = "$before" ] || fail "remove changed /var/lib/veil"
    [ -f "$root/etc/veil/relay.conf" ] || fail "remove deleted the conffile"
    dpkg_root --purge veil-relay >"$work/purge.log" 2>&1 ||
        { cat "$work/purge.log" >&2; fail "purge"; }
    [ "$(digest_of_data)" = "$before" ] || fail "purge changed /var/lib/veil"
    [ ! -e "$root/etc/veil/relay.conf" ] || fail "purge kept the conffile"
    grep -q "/var/lib/veil was kept" "$work/purge.log" || fail "purge did not say the data was kept"
    echo "install, run, upgrade, remove and purge ok"
}

case $mode in
build) build_packages ;;
contents) check_contents ;;
unit) check_unit ;;
install) check_install ;;
*) fail "unknown mode $mode" ;;
esac
