"""The course's static site in a real browser, offline.

A site of lesson 01 and the index is built (executed lessons come from the build cache
when it holds them), served from a local HTTP server and opened in Chromium: the index
lists the lesson, the lesson's math is typeset by MathJax (no raw ``$$`` left), a figure
is drawn, no request goes anywhere but the local server and none of them fails (MathJax's
fonts and extensions are on the site). The lesson page's
screenshot goes to ``test-artifacts/site-lesson.png``.
"""

from __future__ import annotations

import functools
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

import pytest

from autograder.site import build

from .conftest import REPO_ROOT

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LESSON = "01-derivatives"
SCREENSHOT = REPO_ROOT / "test-artifacts" / "site-lesson.png"
LOAD_TIMEOUT = 60_000  # ms: MathJax typesets a long lesson on a busy 2-core machine


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # the request log: quiet
        pass


@pytest.fixture(scope="module")
def site_url(browser_requirements, tmp_path_factory):
    """The built site served on 127.0.0.1 (a free port), for as long as the module runs."""
    index = build.build([LESSON], out=tmp_path_factory.mktemp("site"),
                        cache=build.DEFAULT_BUILD / "cache")
    handler = functools.partial(_QuietHandler, directory=str(index.parent))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _local(url: str) -> bool:
    parsed = urlparse(url)
    return parsed.scheme in {"data", "blob", "about"} or (
        parsed.scheme in {"http", "https"} and parsed.hostname in {"127.0.0.1", "localhost"})


def test_site_renders_offline(site_url, page):
    requests: list[str] = []
    failed: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.on("response", lambda response: failed.append(f"{response.status} {response.url}")
            if response.status >= 400 and not response.url.endswith("/favicon.ico") else None)

    page.goto(f"{site_url}/index.html")
    link = page.locator(f'a[href="lessons/{LESSON}.html"]').first
    link.wait_for(timeout=LOAD_TIMEOUT)
    assert "Derivatives" in link.inner_text()

    link.click()
    page.wait_for_url(f"**/lessons/{LESSON}.html", timeout=LOAD_TIMEOUT)
    page.wait_for_selector("mjx-container", timeout=LOAD_TIMEOUT)
    page.wait_for_function(
        "() => document.querySelectorAll('mjx-container mjx-math').length > 10",
        timeout=LOAD_TIMEOUT)
    text = page.locator("article").inner_text()
    assert "$$" not in text and "\\frac" not in text, "math left untypeset"

    images = page.locator("article .cell_output img")
    images.first.scroll_into_view_if_needed(timeout=LOAD_TIMEOUT)
    page.wait_for_function(
        """() => [...document.querySelectorAll('article .cell_output img')]
                 .some(img => img.complete && img.naturalWidth > 0 && img.naturalHeight > 0)""",
        timeout=LOAD_TIMEOUT)
    page.wait_for_load_state("networkidle", timeout=LOAD_TIMEOUT)
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOT)

    assert any("/_static/mathjax/tex-chtml.js" in url for url in requests)
    elsewhere = sorted({url for url in requests if not _local(url)})
    assert not elsewhere, f"requests to other hosts: {elsewhere}"
    assert not failed, f"the site lacks files it asks for: {failed}"
