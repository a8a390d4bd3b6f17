#!/usr/bin/env bash
# Sets everything up, then runs the demo: a small program with a real leak
# dumps two snapshots, and pyheapdiff shows what is in them.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$top/scripts/setup.sh"
out="${TMPDIR:-/tmp}/pyheapdiff-demo"
mkdir -p "$out"
cd "$top"
echo
echo "\$ python3 fixtures/demo_leak.py $out"
PYTHONPATH="$top/build/python" python3 fixtures/demo_leak.py "$out"
echo
echo "\$ pyheapdiff info $out/before.snap"
build/pyheapdiff info "$out/before.snap"
echo
echo "\$ pyheapdiff info $out/after.snap"
build/pyheapdiff info "$out/after.snap"
