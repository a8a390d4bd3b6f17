#!/usr/bin/env bash
# Builds the C code with AddressSanitizer and UndefinedBehaviorSanitizer in
# build-asan/ and runs under them: the C unit and header tests, every CLI
# command on the demo's snapshots, the end-to-end tests of the analyzer
# (with LeakSanitizer: a leak fails the command's exit status), and the
# agent's tests with the agent built the same way and the sanitizer runtime
# preloaded into Python.  Part of scripts/test.sh; test results go to
# build-asan/meson-logs/testlog.json and build-asan/pytest-*.xml.  The
# pytest runs use every core (pytest-xdist, -n auto).
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$top/scripts/setup.sh"
cd "$top"
phd_setup build-asan -Db_sanitize=address,undefined -Db_lundef=false
meson compile -C build-asan >/dev/null
export LSAN_OPTIONS="suppressions=$top/tests/sanitize/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
meson test -C build-asan --suite unit --suite headers --print-errorlogs
out=$(mktemp -d)
PYTHONPATH=build/python python3 fixtures/demo_leak.py "$out" >/dev/null
P=build-asan/pyheapdiff
a="$out/before.snap" b="$out/after.snap"
run() { "$@" >/dev/null || { echo "FAILED under sanitizers: $*"; exit 1; }; }
run $P info "$b"; run $P top "$b"; run $P "$a" "$b"; run $P paths --type Widget "$b"
run $P cycles "$b"; run $P dominators "$b"; run $P orphans "$b"; run $P leaks "$a" "$b"
run $P graph --type Widget "$b" -o "$out/g.svg"; run $P load "$a" "$b" -o "$out/x.db"
run $P diff "$out/x.db" --snapshot 1 --snapshot 2; run $P sql "$out/x.db" "SELECT count(*) FROM objects"
rm -rf "$out"
echo "sanitizers: 12 commands clean"

# The analyzer's end-to-end tests with the instrumented binary (the
# snapshots come from the normal agent).  The valgrind tests skip: the
# sanitizers check the same here.
E2E="test_analyzer.py test_badinput_cli.py test_cli_info.py test_graph_cli.py test_render.py test_report.py
     test_store_reliability.py test_track.py"
e2e_rc=0
PYHEAPDIFF_CLI="$top/build-asan/pyheapdiff" PYHEAPDIFF_SANITIZE=1 \
  python3 -m pytest -q -p no:cacheprovider -n auto --dist loadfile --junitxml=build-asan/pytest-e2e.xml \
  $(for f in $E2E; do echo tests/python/$f; done) || e2e_rc=$?
[ $e2e_rc = 0 ] && echo "sanitizers: end-to-end tests clean"

# The agent: Python itself is not instrumented, so the runtime is preloaded;
# PYTHONMALLOC=malloc gives every object its own malloc block, which ASan
# bounds-checks; CPython frees not all at exit by design, hence no leak
# check.  PYHEAPDIFF_SANITIZE=1 skips the tests that need gigabytes or
# measure memory; PYHEAPDIFF_BUILD makes every subprocess use build-asan.
# --dist load: test by test over the cores (these files share nothing but
# module fixtures, made once per worker); by file, test_gc_reader.py's
# slow tests kept one worker busy 40 s after the other had finished.
LD_PRELOAD="$(gcc -print-file-name=libasan.so):$(gcc -print-file-name=libubsan.so)" \
  ASAN_OPTIONS=detect_leaks=0 PYTHONMALLOC=malloc PYHEAPDIFF_SANITIZE=1 PYHEAPDIFF_BUILD=build-asan \
  PYTHONPATH=build-asan/python:tests/python \
  python3 -m pytest -q -p no:cacheprovider -n auto --dist load --junitxml=build-asan/pytest-agent.xml \
  tests/python/test_agent.py tests/python/test_hostile.py tests/python/test_gc_reader.py tests/python/test_sizes_owned.py
echo "sanitizers: agent tests clean"
exit $e2e_rc
