"""Editor test helpers: the pipeline tests' work directory (test kernels linked in), an editor served on a free
port, and Debian's Chromium driven by Playwright (`playwright install` cannot download here, and need not)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from ..pipeline.conftest import KERNELS, ROOT, Tally, tally, workdir, write  # noqa: F401 - fixtures shared

CHROMIUM = "/usr/bin/chromium"
BUILD = ROOT / "build"


@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    """A headless Chromium (Debian's) for the module's tests."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


class Page:
    """A page of the editor, with the console errors it logged."""

    def __init__(self, browser: object, url: str) -> None:
        # Playwright's wait_for_function evaluates text: the editor's CSP (no eval) is bypassed for the test's
        # own scripts only -- the page's scripts are the same files either way
        self.context = browser.new_context(bypass_csp=True, viewport={"width": 1400, "height": 820})  # type: ignore
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.goto(url)
        self.page.wait_for_function("window.wg && wg.ready && wg.events > 0", timeout=20_000)

    def state(self, step: str) -> str | None:
        """What the canvas shows for step."""
        return self.page.evaluate(f"wg.states[{step!r}] && wg.states[{step!r}].state")

    def wait_state(self, step: str, state: str, timeout: float = 60_000) -> None:
        """Wait until the canvas shows step in state."""
        try:
            self.page.wait_for_function(f"wg.states[{step!r}] && wg.states[{step!r}].state === {state!r}",
                                        timeout=timeout)
        except Exception as exc:
            shown = self.page.evaluate("JSON.stringify([wg.states, document.getElementById('message').textContent])")
            raise AssertionError(f"{step} never showed {state}; the canvas shows {shown}") from exc

    def close(self) -> None:
        """Close the page's context."""
        self.context.close()


@pytest.fixture
def open_editor(chromium):
    """open_editor(pipeline, **Editor options) -> (EditorServer, Page): served on a free port, opened in Chromium."""
    from wrapgen.web.api import Editor
    from wrapgen.web.server import EditorServer

    opened: list[tuple[EditorServer, Page]] = []

    def open_(pipeline: Path, **options: object) -> tuple[EditorServer, Page]:
        server = EditorServer(Editor(pipeline, **options)).start()
        page = Page(chromium, server.url)
        opened.append((server, page))
        return server, page

    yield open_
    for server, page in opened:
        page.close()
        server.stop()


def shot(page: Page, name: str) -> Path:
    """A screenshot into build/ (the README shows the one of a finished run)."""
    BUILD.mkdir(exist_ok=True)
    path = BUILD / name
    page.page.screenshot(path=str(path))
    assert path.stat().st_size > 10_000 or os.environ.get("WRAPGEN_SHOTS_SMALL")
    return path
