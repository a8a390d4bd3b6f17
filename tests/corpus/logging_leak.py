"""An asyncio service that adds a logging handler per request: each task
attaches a StreamHandler with its own formatter to a shared logger and
never removes it.  (The handlers write to stderr at WARNING and above;
the requests log at INFO, so nothing is printed.)"""

import asyncio
import sys
import logging

from _harness import run

log = logging.getLogger("shop.requests")
log.setLevel(logging.INFO)
log.propagate = False


async def serve(request_id):
    handler = logging.StreamHandler(sys.stderr)   # the leak: added, never removed
    handler.setLevel(logging.WARNING)
    handler.setFormatter(logging.Formatter("%(asctime)s request " + str(request_id) + " %(message)s"))
    log.addHandler(handler)
    await asyncio.sleep(0)
    log.info("request %d done", request_id)


def handle(request_id):
    asyncio.run(serve(request_id))


if __name__ == "__main__":
    run(handle)
