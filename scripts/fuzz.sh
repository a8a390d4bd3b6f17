#!/usr/bin/env bash
# Fuzzes the analyzer (docs/reliability.md, "Fuzzing"): builds the libFuzzer
# targets of tests/fuzz/ with clang, AddressSanitizer and UBSan in
# build-fuzz/ and runs each for 30 seconds from its seed corpus
# (meson test --suite fuzz, one target per core at a time), then prints
# executions, speed and coverage.
# Installs clang and its fuzzer runtime first when they are missing.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$top/scripts/setup.sh"
cd "$top"

# clang-14 with libFuzzer: try to link an empty fuzz target.
can_fuzz() {
  command -v clang-14 >/dev/null 2>&1 &&
    echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }' |
      clang-14 -x c -fsanitize=fuzzer,address,undefined - -o /dev/null >/dev/null 2>&1
}
if ! can_fuzz; then
  log "installing clang-14 and libFuzzer (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq
  as_root apt-get install -y -qq clang-14 libclang-rt-14-dev llvm-14 >/dev/null
fi

CC=clang-14 phd_setup build-fuzz -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false
log "building build-fuzz/"
meson compile -C build-fuzz fuzz_reader fuzz_graph fuzz_store >/dev/null
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
rc=0
meson test -C build-fuzz --no-rebuild --suite fuzz --print-errorlogs || rc=$?

# Summary from libFuzzer's final statistics in the test log.
python3 - build-fuzz/meson-logs/testlog.json <<'PY'
import json, re, sys
for line in open(sys.argv[1]):
    t = json.loads(line)
    if not t["name"].startswith("fuzz - "):
        continue
    out = (t.get("stdout") or "") + (t.get("stderr") or "")
    stat = dict(re.findall(r"^stat::(\w+):\s+(\d+)", out, re.M))
    done = re.findall(r"DONE\s+cov: (\d+) ft: (\d+) corp: (\d+)/(\S+)", out)
    cov, ft, units, size = done[-1] if done else ("?",) * 4
    print(f"{t['name'].split(':')[-1]:>11}: {t['result']:<5} {int(stat.get('number_of_executed_units', 0)):>9,} runs, "
          f"{int(stat.get('average_exec_per_sec', 0)):>6,}/s, coverage {cov} edges {ft} features, "
          f"corpus {units} inputs {size}")
PY
exit $rc
