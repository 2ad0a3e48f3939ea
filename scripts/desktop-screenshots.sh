#!/usr/bin/env bash
# Makes {main,conversation}-{light,dark}.png (alice's veil-desktop window after a few
# conversations with real accounts on a real veil-relay on 127.0.0.1) and
# {settings,encryption}-{light,dark}.png, under Xvfb, and checks that each shows a painted
# window and that the dark ones are darker.
# Usage: scripts/desktop-screenshots.sh [build-dir [out-dir]]   (desktop_tests built there)
# out-dir defaults to docs/screenshots; ctest runs it with build/test-artifacts/screenshots.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/build}"
out="${2:-$root/docs/screenshots}"
mkdir -p "$out"
runtime="$(mktemp -d)"
trap 'rm -rf "$runtime"' EXIT
export XDG_RUNTIME_DIR="$runtime"
xvfb-run -a -s "-screen 0 1400x900x24" env QT_QPA_PLATFORM=xcb VEIL_SHOT_DIR="$out" \
    "$build/tests/desktop_tests" "[.docs-screenshots]"
ls -l "$out"/*.png
