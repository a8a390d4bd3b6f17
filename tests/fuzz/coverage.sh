#!/usr/bin/env bash
# Line and branch coverage of the analyzer's C code by a fuzz corpus:
# tests/fuzz/coverage.sh [DIR...]  builds the replay drivers with clang's
# source-based coverage in build-cov/, replays each target's corpus (by
# default fixtures/corpus/<target>/ and tests/fuzz/regressions/; a DIR
# named like a target, e.g. .../corpus-graph, goes to that target only)
# and prints llvm-cov's report for the files the fuzzers are aimed at.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$top"
export PATH="$top/.venv/bin:$PATH"
# instrumented programs the build itself runs write their profiles here
export LLVM_PROFILE_FILE="$top/build-cov/other-%p.profraw"
if [ ! -f build-cov/build.ninja ]; then
  CC=clang-14 meson setup build-cov -Dc_args='-fprofile-instr-generate -fcoverage-mapping' \
    -Dc_link_args=-fprofile-instr-generate >/dev/null
fi
meson compile -C build-cov replay_reader replay_graph replay_store >/dev/null
rm -rf build-cov/profiles && mkdir -p build-cov/profiles
for t in reader graph store; do
  dirs=("fixtures/corpus/$t" tests/fuzz/regressions)
  for d in "$@"; do case "$d" in *"$t"*) dirs+=("$d") ;; esac; done
  LLVM_PROFILE_FILE="build-cov/profiles/$t.profraw" "build-cov/tests/fuzz/replay_$t" "${dirs[@]}" | tail -1
done
llvm-profdata-14 merge -o build-cov/profiles/all.profdata build-cov/profiles/*.profraw
objs=()
for t in reader graph store; do objs+=(-object "build-cov/tests/fuzz/replay_$t"); done
llvm-cov-14 report "${objs[@]:1}" -instr-profile=build-cov/profiles/all.profdata |
  grep -E '^(Filename|src/(format/reader|graph/graph|store/store|analysis/census)\.c)' |
  awk '{ if ($1 == "Filename") print "file                     lines     branches   functions";
         else printf "%-22s %8s %12s %11s\n", $1, $10, $13, $7 }'
