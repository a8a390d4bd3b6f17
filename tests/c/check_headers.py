"""The 'header list' test (tests/c/meson.build): public_headers there
names every header in include/pyheapdiff/, so none escapes the headers
suite.  Usage: check_headers.py DIR HEADER..."""

import os
import sys

here = {f for f in os.listdir(sys.argv[1]) if f.endswith(".h")}
listed = set(sys.argv[2:])
for f in sorted(here - listed):
    print(f"{sys.argv[1]}/{f} is not in public_headers in tests/c/meson.build")
for f in sorted(listed - here):
    print(f"public_headers in tests/c/meson.build names {f}, which is not in {sys.argv[1]}")
print(f"{len(here & listed)} headers listed")
sys.exit(here != listed)
