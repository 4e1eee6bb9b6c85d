"""The browser check itself can fail: a page that fetches something, logs an error or shows a
broken image is caught (the report tests rely on it)."""

from __future__ import annotations

from pathlib import Path

import pytest
from browser import assert_renders, render

PNG_1X1 = (
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGA"
    "hKmMIQAAAABJRU5ErkJggg=="
)


def page(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "page.html"
    path.write_text(f"<!DOCTYPE html><html><head><title>t</title></head><body>{body}</body></html>")
    return path


def test_a_self_contained_page_passes(tmp_path: Path) -> None:
    good = page(tmp_path, f'<section id="a"><img alt="dot" src="{PNG_1X1}"></section>')
    rendered = assert_renders(good, tmp_path / "work", {"a"}, min_screenshot_bytes=100)
    assert rendered.images == [{"alt": "dot", "width": 1, "complete": True}]


def test_a_fetch_a_console_error_and_a_broken_image_are_each_seen(tmp_path: Path) -> None:
    bad = page(
        tmp_path,
        '<img alt="far" src="http://127.0.0.1:9/x.png"><script>console.error(\'boom\')</script>',
    )
    rendered = render(bad, tmp_path / "work")
    assert rendered.requests == ["http://127.0.0.1:9/x.png"]
    assert any("boom" in line for line in rendered.console)
    assert rendered.images[0]["width"] == 0
    with pytest.raises(AssertionError):
        assert_renders(bad, tmp_path / "again", set())
