"""The built docs site in a real headless Chromium: the home page renders, and searching for a
component shows results. Chromium is driven over the DevTools Protocol (CDP) with a small
websocket client; the site is served by `http.server` on 127.0.0.1, as a reader would see it."""

from __future__ import annotations

import functools
import http.server
import json
import shutil
import struct
import subprocess
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import missing
from tests.unit.test_docs import built_repo_site

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
]
WIDTH, HEIGHT = 1280, 900


class Page:
    """One browser tab over CDP: send commands, wait for events, evaluate JavaScript."""

    def __init__(self, ws_url: str) -> None:
        import websocket

        self.ws = websocket.create_connection(ws_url, timeout=30, suppress_origin=True)
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise AssertionError(f"{method}: {message['error']}")
                return message.get("result", {})
            self.events.append(message)

    def wait_event(self, method: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not any(e.get("method") == method for e in self.events):
            assert time.monotonic() < deadline, f"no {method} within {timeout}s"
            self.events.append(json.loads(self.ws.recv()))
        self.events = [e for e in self.events if e.get("method") != method]

    def evaluate(self, expression: str) -> Any:
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        return result["result"].get("value")

    def open(self, url: str) -> None:
        self.events.clear()
        self.send("Page.navigate", url=url)
        self.wait_event("Page.loadEventFired")

    def wait_for(self, expression: str, timeout: float = 30) -> Any:
        """Poll `expression` until it is truthy; return its value."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            assert time.monotonic() < deadline, f"still false after {timeout}s: {expression}"
            time.sleep(0.2)


@pytest.fixture(scope="module")
def site_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    site = built_repo_site(tmp_path_factory)
    handler = functools.partial(QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def page() -> Iterator[Page]:
    try:
        import websocket  # noqa: F401
    except ImportError:
        missing("websocket-client is not installed (pip install -e '.[test]')")
    binary = next((found for name in CHROMIUM_NAMES if (found := shutil.which(name))), None)
    if binary is None:
        missing("Chromium is not installed (Debian: apt-get install chromium)")
        return
    profile = Path(tempfile.mkdtemp(prefix="sf-chromium-"))
    proc = subprocess.Popen(
        [binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "about:blank"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not port_file.is_file() or not port_file.read_text().strip():
            if proc.poll() is not None or time.monotonic() > deadline:
                err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
                pytest.fail(f"Chromium did not start its DevTools endpoint:\n{err[-2000:]}")
            time.sleep(0.1)
        port = port_file.read_text().split()[0]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as reply:
            targets = json.load(reply)
        target = next(t for t in targets if t.get("type") == "page")
        tab = Page(target["webSocketDebuggerUrl"])
        tab.send("Page.enable")
        tab.send("Runtime.enable")
        tab.send(
            "Emulation.setDeviceMetricsOverride",
            width=WIDTH,
            height=HEIGHT,
            deviceScaleFactor=1,
            mobile=False,
        )
        yield tab
        tab.ws.close()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(profile, ignore_errors=True)


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_home_page_renders_in_chromium(page: Page, site_url: str, tmp_path: Path) -> None:
    import base64

    page.open(site_url)
    assert page.evaluate("document.title") == "StreamForge"
    # the header, the navigation tabs and the home page's cards are laid out and visible
    tabs = page.evaluate(
        "[...document.querySelectorAll('.md-tabs__link')].map(a => a.textContent.trim())"
    )
    assert tabs[:3] == ["Home", "Getting started", "Architecture"]
    assert "Reference" in tabs
    cards = page.evaluate("document.querySelectorAll('.grid.cards li').length")
    assert cards == 6
    assert page.evaluate("document.querySelector('h1').getBoundingClientRect().height") > 10
    shot = base64.b64decode(page.send("Page.captureScreenshot", format="png")["data"])
    path = tmp_path / "home.png"
    path.write_bytes(shot)
    print(f"screenshot: {path}")
    assert png_size(shot) == (WIDTH, HEIGHT)
    # a blank or unstyled page compresses to a few kB; a rendered one does not
    assert len(shot) > 30_000, f"suspiciously small screenshot ({len(shot)} bytes)"


RESULTS_JS = (
    "[...document.querySelectorAll('.md-search-result__item')]"
    ".map(li => [li.querySelector('a') && li.querySelector('a').getAttribute('href'),"
    " li.textContent.replace(/\\s+/g, ' ').trim()])"
)


@pytest.mark.parametrize(("term", "expected_page"), [("strimzi", "reference/components/")])
def test_search_finds_a_component(page: Page, site_url: str, term: str, expected_page: str) -> None:
    page.open(site_url)
    # type into the search box as a reader would; the index loads in a web worker
    page.evaluate("document.querySelector('label[for=__search]').click()")
    page.wait_for("document.activeElement && document.activeElement.name === 'query'")
    page.send("Input.insertText", text=term)
    results = page.wait_for(f"(() => {{ const r = {RESULTS_JS}; return r.length ? r : null }})()")
    meta = page.evaluate("document.querySelector('.md-search-result__meta').textContent")
    assert "matching document" in meta
    assert all(term in text.lower() for _, text in results[:3]), results[:3]
    assert any(expected_page in (href or "") for href, _ in results), results
