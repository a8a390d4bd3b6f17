#!/usr/bin/env bash
# Sets everything up, then runs the demo: a small program with a real leak
# dumps two snapshots, and pyheapdiff shows what is in them.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$top/scripts/setup.sh"
out="${TMPDIR:-/tmp}/pyheapdiff-demo"
mkdir -p "$out"
cd "$top"
# PYHEAPDIFF_PYTHON=3.12 (or 3.11, 3.13) runs the demo program under that
# CPython, with the agent setup.sh built for it in build-py312/.
want=${PYHEAPDIFF_PYTHON:-$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')}
py="" agent="$top/build/python"
for vp in $PHD_PYTHONS; do
  [ "${vp%%=*}" = "$want" ] && py=${vp#*=}
done
if [ -z "$py" ]; then
  echo "demo.sh: CPython $want was not found (supported: $PHD_SUPPORTED; found: ${PHD_PYTHONS:-none})" >&2
  exit 2
fi
[ "$py" != "$(command -v python3)" ] && agent="$top/build-py${want/./}/python"
echo
echo "\$ python$want fixtures/demo_leak.py $out"
PYTHONPATH="$agent" "$py" fixtures/demo_leak.py "$out"
echo
echo "\$ pyheapdiff info $out/after.snap"
build/pyheapdiff info --top 5 "$out/after.snap"
echo
echo "\$ pyheapdiff $out/before.snap $out/after.snap"
build/pyheapdiff "$out/before.snap" "$out/after.snap" --top 8
echo
echo "\$ pyheapdiff paths --type Widget $out/after.snap"
build/pyheapdiff paths --type Widget "$out/after.snap"
echo
echo "\$ pyheapdiff graph --type Widget --path $out/after.snap -o $out/leak.svg"
build/pyheapdiff graph --type Widget --path "$out/after.snap" -o "$out/leak.svg"
echo
echo "\$ pyheapdiff report $out/before.snap $out/after.snap -o $out/report.html"
build/pyheapdiff report "$out/before.snap" "$out/after.snap" -o "$out/report.html"
echo
echo "\$ pyheapdiff leaks $out/before.snap $out/after.snap --top 3"
build/pyheapdiff leaks "$out/before.snap" "$out/after.snap" --top 3
echo
echo "\$ pyheapdiff load $out/before.snap $out/after.snap -o $out/demo.db"
rm -f "$out/demo.db"
build/pyheapdiff load "$out/before.snap" "$out/after.snap" -o "$out/demo.db"
echo
echo "\$ pyheapdiff sql $out/demo.db \"SELECT type, count(*) FROM objects_v WHERE snapshot = 2 AND type LIKE '__main__.%' GROUP BY 1\""
build/pyheapdiff sql "$out/demo.db" "SELECT type, count(*) FROM objects_v WHERE snapshot = 2 AND type LIKE '__main__.%' GROUP BY 1"
echo
q="SELECT p.type, e.label FROM edges_v e JOIN objects_v p ON p.id = e.src WHERE e.dst = (SELECT src FROM edges e JOIN objects_v m ON m.id = e.dst WHERE m.snapshot = 2 AND m.type = 'method' GROUP BY src ORDER BY count(*) DESC LIMIT 1)"
echo "\$ pyheapdiff sql $out/before.snap $out/after.snap \"$q\""
build/pyheapdiff sql "$out/before.snap" "$out/after.snap" "$q"
