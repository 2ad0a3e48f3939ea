#!/usr/bin/env bash
# Installs the Debian 12 packages Veil needs, only those that are missing. dpkg-dev (cpack's
# dpkg-shlibdeps), file, systemd (systemd-analyze) and util-linux (setpriv) serve make package
# and its tests (tests/packaging).
# As root it runs apt-get; otherwise it prints the one sudo line to run and fails.
set -euo pipefail

packages=(
  g++ cmake ninja-build pkg-config ccache make
  qt6-base-dev qt6-websockets-dev libpoco-dev libpq-dev libssl-dev
  libsignal-protocol-c-dev libsqlcipher-dev libncurses-dev catch2
  protobuf-compiler libprotobuf-dev libargon2-dev libqrencode-dev libutf8proc-dev
  xvfb xauth tmux python3 qtkeychain-qt6-dev
  # A real Secret Service for the desktop's keyring test (scripts/keyring-test.sh): a private
  # session bus (dbus-run-session) and gnome-keyring-daemon on it.
  gnome-keyring dbus-daemon
  postgresql  # the tests' throwaway server for the relay's PostgreSQL store (scripts/test-postgres.sh)
  redis-server  # the tests' throwaway Redis for several relay nodes (scripts/test-redis.sh)
  fonts-noto-color-emoji
  dpkg-dev file systemd util-linux
  # The sanitizer tree and the fuzz targets (make test): clang (14 on Debian 12), its sanitizer
  # and libFuzzer runtimes (only a Recommends of clang, so --no-install-recommends leaves them
  # out) and llvm-symbolizer for readable reports.
  clang libclang-rt-14-dev llvm-14
)

missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

line="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
    echo "Veil needs these Debian packages: ${missing[*]}" >&2
    echo "Run:  sudo sh -c '$line'" >&2
    exit 1
fi

echo "Installing: ${missing[*]}"
apt-get update -q
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
