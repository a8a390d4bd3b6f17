#!/usr/bin/env bash
# Sets up a fresh machine (Debian/Ubuntu) for pyheapdiff and builds it.
# Idempotent: what is already there is not installed again, so a second run
# takes a second or two.  Sourced by demo.sh and test.sh.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top"

log() { printf '==> %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# 1. System packages: C toolchain, Python headers, SQLite, Graphviz, jansson,
#    valgrind (the analyzer's leak tests), chromium (the HTML report's browser test).
need_apt=0
command -v cc >/dev/null 2>&1 || need_apt=1
command -v pkg-config >/dev/null 2>&1 || need_apt=1
command -v valgrind >/dev/null 2>&1 || need_apt=1   # the leak and descriptor tests
command -v chromium >/dev/null 2>&1 || need_apt=1   # the HTML report's browser test
if [ $need_apt = 0 ] && ! pkg-config --exists sqlite3 libcgraph libgvc jansson; then need_apt=1; fi
if ! python3 -c 'import sysconfig, os, sys; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' 2>/dev/null; then
  need_apt=1
fi
if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then need_apt=1; fi
if [ $need_apt = 1 ]; then
  log "installing system packages (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq
  pkgs="gcc libc6-dev pkg-config libsqlite3-dev libgraphviz-dev libjansson-dev valgrind chromium"
  # Python headers and venv for the python3 on PATH, when it is Debian's
  if [ "$(command -v python3)" = /usr/bin/python3 ]; then pkgs="$pkgs python3-dev python3-venv"; fi
  as_root apt-get install -y -qq $pkgs >/dev/null
fi

# 2. Python build and test tools in .venv (git-ignored).
# numpy: the agent's tests of memory behind array views; html5lib: the
# report is valid HTML; pytest-xdist: the suites run on every core
# (scripts/test.sh)
req="meson>=1.1 ninja pytest pytest-xdist numpy html5lib"
if [ ! -x .venv/bin/python ] || [ "$(cat .venv/.phd-req 2>/dev/null)" != "$req" ]; then
  log "creating .venv with $req"
  python3 -m venv .venv
  .venv/bin/python -m pip install -q --disable-pip-version-check $req
  echo "$req" > .venv/.phd-req
fi
# The realistic corpus's libraries (tests/corpus/, tests/python/test_corpus.py),
# in .venv only: real services on an ORM, a dataframe library and a
# validation library (logging and asyncio are the standard library's).
corpus_req="SQLAlchemy pandas pydantic"
if [ "$(cat .venv/.phd-corpus-req 2>/dev/null)" != "$corpus_req" ]; then
  log "installing the corpus's libraries into .venv: $corpus_req"
  .venv/bin/python -m pip install -q --disable-pip-version-check $corpus_req
  echo "$corpus_req" > .venv/.phd-corpus-req
fi
export PATH="$top/.venv/bin:$PATH"

# 3. Build (the python3 that meson finds is the venv's: same interpreter).
#    Every build the tests use treats warnings as errors (-Dwerror=true;
#    `pip install .` does not, so a newer compiler cannot break an install).
#    phd_setup DIR [OPTION...] configures DIR, or turns werror on in a DIR
#    configured before.
phd_setup() {
  local dir=$1; shift
  if [ ! -f "$dir/build.ninja" ]; then
    log "configuring $dir/"
    meson setup "$dir" -Dwerror=true "$@" >/dev/null
  elif ! python3 -c 'import json, sys
sys.exit(not any(o["name"] == "werror" and o["value"] for o in json.load(open(sys.argv[1]))))' \
      "$dir/meson-info/intro-buildoptions.json"; then
    log "turning on werror in $dir/"
    meson configure "$dir" -Dwerror=true >/dev/null
  fi
}
phd_setup build
log "building"
meson compile -C build >/dev/null

# 4. The agent for every other supported CPython found (scripts/pythons.sh):
#    build-pyXY/ configured with -Dpython=that interpreter, and .venv-X.Y/
#    with pytest to run the agent's suites under it (scripts/test.sh).
source "$top/scripts/pythons.sh"
default_v=$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
for vp in $PHD_PYTHONS; do
  v=${vp%%=*} p=${vp#*=}
  [ "$v" = "$default_v" ] && continue
  if [ ! -x ".venv-$v/bin/python" ] || [ "$(cat ".venv-$v/.phd-req" 2>/dev/null)" != "$req" ]; then
    log "creating .venv-$v with pytest, pytest-xdist and numpy ($p)"
    "$p" -m venv ".venv-$v"
    ".venv-$v/bin/python" -m pip install -q --disable-pip-version-check pytest pytest-xdist numpy
    echo "$req" > ".venv-$v/.phd-req"
  fi
  b="build-py${v/./}"
  phd_setup "$b" -Dpython="$p"
  log "building $b/"
  meson compile -C "$b" >/dev/null
done
