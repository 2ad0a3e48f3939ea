#!/usr/bin/env bash
# Makes docs/screenshots/{main,conversation}-{light,dark}.png (alice's veil-desktop window after
# a few conversations with real accounts on a real veil-relay on 127.0.0.1) and
# {settings,encryption}-{light,dark}.png, under Xvfb.
# Usage: scripts/desktop-screenshots.sh [build-dir]   (desktop_tests must be built there)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/build}"
out="$root/docs/screenshots"
mkdir -p "$out"
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
xvfb-run -a -s "-screen 0 1400x900x24" env QT_QPA_PLATFORM=xcb VEIL_SHOT_DIR="$out" \
    "$build/tests/desktop_tests" "[.docs-screenshots]"
ls -l "$out"/*.png
