#!/usr/bin/env bash
# Sets everything up, then runs every test suite: the C unit and header
# tests (meson test) and the Python suites (pytest).  Ends with one line
# "total: N passed, M failed" and exits non-zero when anything failed.
set -uo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$top/scripts/setup.sh" || exit 2
set +e
cd "$top"

meson test -C build --suite unit --suite headers --print-errorlogs
meson_rc=$?
python -m pytest -q -p no:cacheprovider --junitxml=build/pytest.xml tests/python
pytest_rc=$?

python - "$meson_rc" "$pytest_rc" <<'PY'
import json, sys, xml.etree.ElementTree as ET
passed = failed = 0
try:
    for line in open("build/meson-logs/testlog.json"):
        r = json.loads(line)
        if r.get("result") in ("OK", "EXPECTEDFAIL", "SKIP"):
            passed += r.get("result") != "SKIP"
        else:
            failed += 1
except OSError:
    failed += 1
try:
    root = ET.parse("build/pytest.xml").getroot()
    for s in ([root] if root.tag == "testsuite" else root.iter("testsuite")):
        t, f, e, sk = (int(s.get(k, 0)) for k in ("tests", "failures", "errors", "skipped"))
        passed += t - f - e - sk
        failed += f + e
except (OSError, ET.ParseError):
    failed += 1
if int(sys.argv[1]) and not failed:
    failed = 1
print(f"total: {passed} passed, {failed} failed")
PY
[ "$meson_rc" = 0 ] && [ "$pytest_rc" = 0 ]
