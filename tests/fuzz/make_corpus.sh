#!/usr/bin/env bash
# Regenerates the fuzzers' seeds, fixtures/corpus/<target>/*.snap: small
# snapshots cut by tests/fuzz/mkseed out of real agent snapshots (the demo
# fixture's, with value previews, and a bare interpreter's without).
# Needs the normal build (build/: the agent and mkseed).
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$top"
mkseed=build/tests/fuzz/mkseed
[ -x "$mkseed" ] || { echo "make_corpus.sh: build first (meson compile -C build)" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
PYTHONPATH=build/python python3 fixtures/demo_leak.py "$tmp" >/dev/null
PYTHONPATH=build/python python3 -I -S -c \
  'import sys; sys.path.insert(0, "build/python"); import pyheapdiff; pyheapdiff.dump(sys.argv[1], values=False)' \
  "$tmp/bare.snap"
# name  source  nodes  records per chunk
seeds="
empty   after.snap    0   1
tiny    after.snap   12   4
small   after.snap   60   8
demo    after.snap  250  64
before  before.snap 150 150
bare    bare.snap   200  32
"
# Only the *.snap seeds are replaced: the other files are inputs the long
# fuzzing run found (docs/reliability.md), kept to start from its coverage.
for target in reader graph store; do
  mkdir -p "fixtures/corpus/$target"
  rm -f "fixtures/corpus/$target"/*.snap
done
echo "$seeds" | while read -r name src nodes batch; do
  [ -n "$name" ] || continue
  "$mkseed" "$tmp/$src" "fixtures/corpus/reader/$name.snap" "$nodes" "$batch"
  for target in graph store; do cp "fixtures/corpus/reader/$name.snap" "fixtures/corpus/$target/"; done
done
du -sh fixtures/corpus
