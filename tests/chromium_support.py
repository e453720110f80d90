"""Open a page in headless Chromium and read what a reader sees, over the DevTools protocol.

Chromium is driven through its own remote-debugging websocket with the small ``websocket-client``
package: console messages, uncaught exceptions and failed loads are collected from the moment the
page starts loading, then the page's figures are inspected in the page itself.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--remote-debugging-port=0",
]  # fmt: skip

#: Run in the page after it loaded: each figure's image (loaded, drawn at a size) and caption.
INSPECT = """JSON.stringify({
  figures: Array.from(document.querySelectorAll('figure')).map(f => {
    const img = f.querySelector('img'); const box = img ? img.getBoundingClientRect() : null;
    return {loaded: !!img && img.complete && img.naturalWidth > 0, width: box ? box.width : 0,
            height: box ? box.height : 0, caption: (f.querySelector('figcaption') || {innerText: ''}).innerText};
  }),
  resources: performance.getEntriesByType('resource').map(r => r.name),
  headings: Array.from(document.querySelectorAll('h2')).map(h => h.innerText),
})"""


@dataclass
class PageView:
    errors: list[str] = field(default_factory=list)
    figures: list[dict[str, Any]] = field(default_factory=list)
    resources: list[str] = field(default_factory=list)
    headings: list[str] = field(default_factory=list)


@contextmanager
def _browser() -> Iterator[str]:
    """A headless Chromium; yields the DevTools HTTP address."""
    profile = tempfile.mkdtemp(prefix="deidlint-chromium-")
    process = subprocess.Popen(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "about:blank"], stderr=subprocess.PIPE, text=True
    )
    try:
        assert process.stderr is not None
        deadline = time.monotonic() + 60
        for line in process.stderr:
            found = re.search(r"DevTools listening on ws://([\d.]+:\d+)/", line)
            if found:
                yield f"http://{found.group(1)}"
                break
            if time.monotonic() > deadline:
                raise RuntimeError("chromium did not start its DevTools endpoint")
        else:
            raise RuntimeError("chromium exited before its DevTools endpoint started")
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(profile, ignore_errors=True)


def view(page: Path, timeout: float = 60.0) -> PageView:
    """Load ``page`` and report its console errors and figures."""
    import websocket

    with _browser() as address:
        with urllib.request.urlopen(f"{address}/json/list") as response:
            target = next(t for t in json.load(response) if t["type"] == "page")
        socket = websocket.create_connection(target["webSocketDebuggerUrl"], timeout=timeout, suppress_origin=True)
        counter = iter(range(1, 1_000_000))
        result = PageView()

        def send(method: str, **params: Any) -> int:
            message_id = next(counter)
            socket.send(json.dumps({"id": message_id, "method": method, "params": params}))
            return message_id

        def collect(message: dict[str, Any]) -> None:
            method, params = message.get("method"), message.get("params", {})
            if method == "Runtime.exceptionThrown":
                result.errors.append(params["exceptionDetails"].get("text", "exception"))
            elif method == "Runtime.consoleAPICalled" and params.get("type") in {"error", "assert"}:
                result.errors.append(" ".join(str(arg.get("value", arg.get("description"))) for arg in params["args"]))
            elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
                result.errors.append(params["entry"]["text"])

        def wait_for(predicate: Any) -> dict[str, Any]:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                message = json.loads(socket.recv())
                collect(message)
                if predicate(message):
                    return message
            raise TimeoutError("chromium did not answer in time")

        for method in ("Runtime.enable", "Log.enable", "Page.enable"):
            sent = send(method)
            wait_for(lambda m, sent=sent: m.get("id") == sent)
        send("Page.navigate", url=page.resolve().as_uri())
        wait_for(lambda m: m.get("method") == "Page.loadEventFired")
        sent = send("Runtime.evaluate", expression=INSPECT, returnByValue=True)
        answer = wait_for(lambda m: m.get("id") == sent)
        socket.close()
    seen = json.loads(answer["result"]["result"]["value"])
    result.figures, result.resources, result.headings = seen["figures"], seen["resources"], seen["headings"]
    return result


def screenshot(page: Path, png: Path, width: int = 1100, height: int = 4000) -> None:
    """A full-page PNG of ``page`` (for a person to look at; no test reads it)."""
    with tempfile.TemporaryDirectory(prefix="deidlint-chromium-") as profile:
        subprocess.run(
            [CHROMIUM, *FLAGS[:-1], f"--user-data-dir={profile}", f"--screenshot={png}", f"--window-size={width},{height}",
             page.resolve().as_uri()],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
