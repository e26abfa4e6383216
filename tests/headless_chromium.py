"""A real headless Chromium driven over the Chrome DevTools Protocol, for the report page tests.

`Browser()` starts `chromium --headless` with every network route pointed at a dead
proxy (127.0.0.1:9) and `load(url)` opens a page in a fresh tab and returns what
happened: console messages, uncaught exceptions, browser log entries (CSP violations,
failed loads), every network request the page made, the rendered DOM, its text, a
PNG screenshot and an A4 PDF print.
"""

from __future__ import annotations

import base64
import itertools
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
    "--remote-debugging-port=0", "--remote-allow-origins=*",
)
STARTUP_SECONDS = 30  # a wait limit for the browser to start, not an assertion on speed
COMMAND_SECONDS = 60


def chromium_executable() -> str | None:
    return next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)


@dataclass
class PageLoad:
    url: str
    console: list[dict] = field(default_factory=list)  # Runtime.consoleAPICalled: {"type", "text"}
    exceptions: list[str] = field(default_factory=list)
    log: list[dict] = field(default_factory=list)  # Log.entryAdded: {"level", "source", "text", "url"}
    requests: list[str] = field(default_factory=list)  # every URL the page asked for, itself included
    failed: list[str] = field(default_factory=list)
    dom: str = ""
    text: str = ""
    screenshot: bytes = b""
    pdf: bytes = b""

    @property
    def errors(self) -> list[str]:
        """Console errors, uncaught exceptions and error-level log entries (CSP, failed loads)."""
        return ([f"console.{m['type']}: {m['text']}" for m in self.console if m["type"] in ("error", "assert")]
                + [f"exception: {e}" for e in self.exceptions]
                + [f"log {e['source']}: {e['text']} {e.get('url', '')}" for e in self.log if e["level"] == "error"])

    @property
    def network_requests(self) -> list[str]:
        """Requests that would leave the machine: anything that is not file: or data:."""
        return [u for u in self.requests if not u.startswith(("file:", "data:", "about:"))]


class Browser:
    def __init__(self, executable: str | None = None):
        from websockets.sync.client import connect

        executable = executable or chromium_executable()
        if executable is None:
            raise FileNotFoundError("chromium not found")
        self._profile = Path(tempfile.mkdtemp(prefix="kc-chromium-"))
        self._proc = subprocess.Popen(
            [executable, *CHROMIUM_FLAGS, f"--user-data-dir={self._profile}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        port_file = self._profile / "DevToolsActivePort"
        deadline = time.monotonic() + STARTUP_SECONDS
        while not (port_file.exists() and len(port_file.read_text().splitlines()) >= 2):
            if self._proc.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise RuntimeError("chromium did not start its DevTools endpoint")
            time.sleep(0.1)
        port, path = port_file.read_text().splitlines()[:2]
        self._ws = connect(f"ws://127.0.0.1:{port}{path}", proxy=None, max_size=None, open_timeout=COMMAND_SECONDS)
        self._ids = itertools.count(1)
        self._events: list[dict] = []

    def _send(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        import json

        msg_id = next(self._ids)
        message = {"id": msg_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self._ws.send(json.dumps(message))
        while True:
            reply = json.loads(self._ws.recv(timeout=COMMAND_SECONDS))
            if reply.get("id") == msg_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self._events.append(reply)

    def _wait_for(self, method: str, session: str) -> None:
        import json

        if any(e.get("method") == method and e.get("sessionId") == session for e in self._events):
            return
        while True:
            event = json.loads(self._ws.recv(timeout=COMMAND_SECONDS))
            self._events.append(event)
            if event.get("method") == method and event.get("sessionId") == session:
                return

    def load(self, url: str, width: int = 1280, height: int = 2000) -> PageLoad:
        target = self._send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self._send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        try:
            for domain in ("Page", "Runtime", "Log", "Network"):
                self._send(f"{domain}.enable", session=session)
            self._send("Emulation.setDeviceMetricsOverride",
                       {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}, session)
            self._events.clear()
            self._send("Page.navigate", {"url": url}, session)
            self._wait_for("Page.loadEventFired", session)
            result = PageLoad(url=url)
            result.dom = self._evaluate("document.documentElement.outerHTML", session)
            result.text = self._evaluate("document.body.innerText", session)
            result.screenshot = base64.b64decode(self._send("Page.captureScreenshot", {"format": "png"}, session)["data"])
            result.pdf = base64.b64decode(self._send("Page.printToPDF", {"preferCSSPageSize": True,
                                                                          "printBackground": True}, session)["data"])
            self._collect(result, session)
            return result
        finally:
            self._send("Target.closeTarget", {"targetId": target})

    def _evaluate(self, expression: str, session: str):
        return self._send("Runtime.evaluate", {"expression": expression, "returnByValue": True},
                          session)["result"]["value"]

    def _collect(self, result: PageLoad, session: str) -> None:
        for e in self._events:
            if e.get("sessionId") != session:
                continue
            method, params = e.get("method"), e.get("params", {})
            if method == "Runtime.consoleAPICalled":
                text = " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))
                result.console.append({"type": params["type"], "text": text})
            elif method == "Runtime.exceptionThrown":
                result.exceptions.append(params["exceptionDetails"].get("text", ""))
            elif method == "Log.entryAdded":
                result.log.append(params["entry"])
            elif method == "Network.requestWillBeSent":
                result.requests.append(params["request"]["url"])
            elif method == "Network.loadingFailed":
                result.failed.append(params.get("errorText", ""))

    def close(self) -> None:
        ws = getattr(self, "_ws", None)
        if ws is not None:
            ws.close()
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=COMMAND_SECONDS)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        shutil.rmtree(self._profile, ignore_errors=True)

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
