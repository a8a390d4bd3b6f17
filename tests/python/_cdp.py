"""A small Chrome DevTools Protocol client over a pipe, standard library only.

Chromium started with ``--remote-debugging-pipe`` reads protocol commands
from its file descriptor 3 and writes replies and events to descriptor 4,
each message a JSON object followed by a NUL byte.  ``Browser`` starts
headless Chromium with two pipes in those places, a reader thread collects
what it writes, and ``call`` sends a command and waits for the reply with
the same id; events are kept, in order, for ``events``/``wait_event``.
``Page`` is one tab (a flattened session: its commands carry the session
id).

Also a command line for pictures of a page::

    python tests/python/_cdp.py screenshot report.html out.png [--width 1280] [--dark]
"""

import base64
import fcntl
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium():
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


class CDPError(RuntimeError):
    pass


class Browser:
    def __init__(self, exe=None, extra_args=(), timeout=30.0):
        self.exe = exe or find_chromium()
        if not self.exe:
            raise FileNotFoundError("no Chromium found (" + ", ".join(CANDIDATES) + ")")
        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix="phd-chromium-")
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        # the child's ends go to descriptors >= 10, out of the way of 3 and
        # 4, and the shell moves them to 3 and 4, where Chromium wants them
        child_r = fcntl.fcntl(to_browser_r, fcntl.F_DUPFD_CLOEXEC, 10)
        child_w = fcntl.fcntl(from_browser_w, fcntl.F_DUPFD_CLOEXEC, 10)
        os.close(to_browser_r)
        os.close(from_browser_w)
        args = ["--headless=new", "--remote-debugging-pipe", "--no-sandbox", "--disable-gpu",
                "--no-first-run", "--no-default-browser-check", "--disable-extensions", "--disable-sync",
                "--disable-background-networking", "--disable-component-update", "--hide-scrollbars",
                "--mute-audio", f"--user-data-dir={self.profile}", *extra_args, "about:blank"]
        script = f'exec "$0" "$@" 3<&{child_r} 4>&{child_w} {child_r}<&- {child_w}>&-'
        try:
            self.proc = subprocess.Popen(["/bin/bash", "-c", script, self.exe, *args], pass_fds=(child_r, child_w),
                                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL)
        finally:
            os.close(child_r)
            os.close(child_w)
        self._ids = itertools.count(1)
        self._cond = threading.Condition()
        self._replies = {}
        self._events = []
        self._eof = False
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    # -- transport

    def _read(self):
        buf = b""
        while True:
            try:
                chunk = os.read(self._from_browser, 1 << 16)
            except OSError:
                chunk = b""
            if not chunk:
                with self._cond:
                    self._eof = True
                    self._cond.notify_all()
                return
            buf += chunk
            while b"\0" in buf:
                raw, buf = buf.split(b"\0", 1)
                msg = json.loads(raw)
                with self._cond:
                    if "id" in msg:
                        self._replies[msg["id"]] = msg
                    else:
                        self._events.append(msg)
                    self._cond.notify_all()

    def call(self, method, params=None, session=None, timeout=None):
        """Sends a command; returns its result or raises CDPError."""
        mid = next(self._ids)
        msg = {"id": mid, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        data = json.dumps(msg).encode() + b"\0"
        try:
            while data:
                data = data[os.write(self._to_browser, data):]
        except BrokenPipeError:
            raise CDPError(f"{method}: the browser has exited (status {self.proc.poll()})") from None
        deadline = time.monotonic() + (timeout or self.timeout)
        with self._cond:
            while mid not in self._replies:
                left = deadline - time.monotonic()
                if self._eof or left <= 0:
                    raise CDPError(f"{method}: {'browser exited' if self._eof else 'no reply'}")
                self._cond.wait(left)
            reply = self._replies.pop(mid)
        if "error" in reply:
            raise CDPError(f"{method}: {reply['error'].get('message')}")
        return reply.get("result", {})

    def events(self, method=None, session=None):
        with self._cond:
            return [e for e in self._events if (method is None or e["method"] == method)
                    and (session is None or e.get("sessionId") == session)]

    def wait_event(self, method, session=None, predicate=None, timeout=None, after=0):
        """The first event `method` (from index `after` on) that matches."""
        deadline = time.monotonic() + (timeout or self.timeout)
        with self._cond:
            while True:
                for e in self._events[after:]:
                    if e["method"] == method and (session is None or e.get("sessionId") == session) \
                            and (predicate is None or predicate(e["params"])):
                        return e["params"]
                left = deadline - time.monotonic()
                if self._eof or left <= 0:
                    raise CDPError(f"no {method} event")
                self._cond.wait(left)

    def event_count(self):
        with self._cond:
            return len(self._events)

    def new_page(self):
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        return Page(self, target, session)

    def close(self):
        try:
            if self.proc.poll() is None:
                try:
                    self.call("Browser.close", timeout=5)
                except CDPError:
                    pass
                try:
                    self.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
        finally:
            for fd in (self._to_browser, self._from_browser):
                try:
                    os.close(fd)
                except OSError:
                    pass
            shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Page:
    def __init__(self, browser, target, session):
        self.browser, self.target, self.session = browser, target, session

    def call(self, method, **params):
        return self.browser.call(method, params, session=self.session)

    def events(self, method=None):
        return self.browser.events(method, self.session)

    def navigate(self, url):
        mark = self.browser.event_count()
        res = self.call("Page.navigate", url=url)
        if res.get("errorText"):
            raise CDPError(f"navigate {url}: {res['errorText']}")
        self.browser.wait_event("Page.loadEventFired", self.session, after=mark)

    def evaluate(self, expression):
        """The value of a JavaScript expression (awaited, returned by value)."""
        res = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in res:
            d = res["exceptionDetails"]
            raise CDPError(f"JavaScript: {d.get('exception', {}).get('description') or d.get('text')}")
        return res["result"].get("value")

    def viewport(self, width, height, mobile=False, scale=1):
        self.call("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=scale,
                  mobile=mobile)

    def color_scheme(self, scheme):
        self.call("Emulation.setEmulatedMedia", features=[{"name": "prefers-color-scheme", "value": scheme}])

    def click(self, selector):
        """A real mouse click (press and release) at the middle of the
        element, scrolled into view first."""
        box = self.evaluate(f"""(() => {{
            const e = document.querySelector({json.dumps(selector)});
            e.scrollIntoView({{block: 'center'}});
            const r = e.getBoundingClientRect();
            return {{x: r.left + r.width / 2, y: r.top + r.height / 2}};
        }})()""")
        for kind in ("mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", type=kind, x=box["x"], y=box["y"], button="left", clickCount=1)

    def press_enter(self, selector):
        """Focuses the element and presses Enter on the keyboard."""
        self.evaluate(f"document.querySelector({json.dumps(selector)}).focus()")
        for kind in ("keyDown", "keyUp"):
            self.call("Input.dispatchKeyEvent", type=kind, key="Enter", code="Enter", windowsVirtualKeyCode=13,
                      **({"text": "\r"} if kind == "keyDown" else {}))

    def screenshot(self, path, full_page=True):
        """A PNG of the page (all of it with full_page); returns its bytes."""
        params = {"format": "png"}
        if full_page:
            size = self.call("Page.getLayoutMetrics")["cssContentSize"]
            params.update(captureBeyondViewport=True,
                          clip={"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1})
        data = base64.b64decode(self.call("Page.captureScreenshot", **params)["data"])
        with open(path, "wb") as f:
            f.write(data)
        return data


def png_size(data):
    """(width, height) from a PNG's IHDR."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def main(argv):
    if len(argv) < 3 or argv[0] != "screenshot":
        print(__doc__, file=sys.stderr)
        return 2
    html, out = os.path.abspath(argv[1]), argv[2]
    width = int(argv[argv.index("--width") + 1]) if "--width" in argv else 1280
    with Browser() as b:
        page = b.new_page()
        page.call("Page.enable")
        page.viewport(width, 900)
        if "--dark" in argv:
            page.color_scheme("dark")
        page.navigate("file://" + html)
        data = page.screenshot(out)
    print(f"{out}: {png_size(data)[0]}x{png_size(data)[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
