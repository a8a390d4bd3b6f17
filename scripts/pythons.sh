#!/usr/bin/env bash
# Finds the CPython interpreters the agent supports (sourced by setup.sh).
# Sets PHD_PYTHONS to "VERSION=PATH" words, one per version found, the
# default python3 first; a version is looked for as python3.X on PATH, then
# under pyenv.  PHD_PYTHONS_MISSING lists the supported versions not found.
PHD_SUPPORTED="3.11 3.12 3.13"
PHD_PYTHONS=""
PHD_PYTHONS_MISSING=""
_phd_default=$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null || true)
# only a GIL build of CPython with its headers will do (a pyenv shim for a
# version that is not selected fails this too)
_phd_usable() {
  "$1" -c 'import sys, sysconfig, os
sys.exit(sys.implementation.name != "cpython" or bool(sysconfig.get_config_var("Py_GIL_DISABLED"))
         or not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' >/dev/null 2>&1
}
for _v in $PHD_SUPPORTED; do
  _cands=""
  if [ "$_v" = "$_phd_default" ]; then
    _cands=$(command -v python3)
  else
    _cands=$(command -v "python$_v" 2>/dev/null || true)
    if command -v pyenv >/dev/null 2>&1; then
      for _pre in $(pyenv versions --bare 2>/dev/null | grep -E "^${_v//./\\.}(\.[0-9]+)?$" | sort -V -r); do
        _cands="$_cands $(pyenv root)/versions/$_pre/bin/python$_v"
      done
    fi
  fi
  _p=""
  for _c in $_cands; do
    if [ -x "$_c" ] && _phd_usable "$_c"; then _p=$_c; break; fi
  done
  if [ -n "$_p" ]; then
    PHD_PYTHONS="$PHD_PYTHONS $_v=$_p"
  else
    PHD_PYTHONS_MISSING="$PHD_PYTHONS_MISSING $_v"
  fi
done
PHD_PYTHONS=${PHD_PYTHONS# }
PHD_PYTHONS_MISSING=${PHD_PYTHONS_MISSING# }
unset _v _p _c _cands _pre _phd_default
