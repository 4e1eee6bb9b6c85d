"""Headless Chromium for the report tests: render a page as a reader's browser would, and say
what it did (console errors, network requests, images that did not load, sections present).

The page is copied with a probe script appended; Chromium loads the copy from a file URL with
`--dump-dom`, the probe writes its findings into the DOM once the page has loaded, and the
console goes to stderr (`--enable-logging=stderr`). A screenshot is taken of the page itself.
Skips (one clear line) where Chromium is not installed.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
)
PROBE = """
<script id="browser-probe">
window.addEventListener("load", () => {
  const images = Array.from(document.images)
    .map(i => ({alt: i.alt, width: i.naturalWidth, complete: i.complete}));
  const ids = Array.from(document.querySelectorAll("[id]")).map(e => e.id);
  const requests = performance.getEntriesByType("resource")
    .map(r => r.name).filter(n => !n.startsWith("data:"));
  const out = document.createElement("pre");
  out.id = "browser-probe-result";
  out.textContent = JSON.stringify({images, ids, requests});
  document.body.appendChild(out);
});
</script>
"""
_RESULT = re.compile(r'<pre id="browser-probe-result">(.*?)</pre>', re.S)
_CONSOLE = re.compile(r"CONSOLE|Uncaught|Failed to load resource|ERR_", re.I)


@dataclass(frozen=True)
class Rendered:
    images: list[dict[str, Any]]
    ids: list[str]
    requests: list[str]
    console: list[str]
    screenshot: Path


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.skip("headless Chromium is not installed (Debian: apt-get install chromium)")
    return found


def render(page: Path, work: Path) -> Rendered:
    browser = chromium()
    work.mkdir(parents=True, exist_ok=True)
    probed = work / f"probed-{page.name}"
    html = page.read_text()
    probed.write_text(html.replace("</body>", PROBE + "</body>"))
    dom = _run(
        browser,
        work / "profile-dom",
        "--enable-logging=stderr",
        "--v=0",
        "--dump-dom",
        probed.as_uri(),
    )
    found = _RESULT.search(dom.stdout)
    assert found is not None, f"the probe did not run: {dom.stderr[-2000:]}"
    result = json.loads(_unescape(found.group(1)))
    screenshot = work / f"{page.stem}.png"
    _run(
        browser,
        work / "profile-shot",
        f"--screenshot={screenshot}",
        "--window-size=1200,4000",
        page.as_uri(),
    )
    console = [line for line in dom.stderr.splitlines() if _CONSOLE.search(line)]
    return Rendered(result["images"], result["ids"], result["requests"], console, screenshot)


def _run(browser: str, profile: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [browser, *FLAGS, f"--user-data-dir={profile}", *arguments],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


def _unescape(text: str) -> str:
    return (
        text.replace("&quot;", '"').replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    )


def assert_renders(
    page: Path, work: Path, sections: set[str], *, min_screenshot_bytes: int = 10_000
) -> Rendered:
    """No console error, no network request, every image loaded, the sections there."""
    rendered = render(page, work)
    assert rendered.console == [], rendered.console
    assert rendered.requests == [], rendered.requests
    assert rendered.images, f"{page} shows no image"
    for image in rendered.images:
        assert image["complete"], image
        assert image["width"] > 0, image
    missing = sections - set(rendered.ids)
    assert not missing, f"{page} lacks {sorted(missing)}"
    assert rendered.screenshot.stat().st_size > min_screenshot_bytes
    return rendered
