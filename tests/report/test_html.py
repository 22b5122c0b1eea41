"""The HTML report, opened in a real headless Chromium with the network off."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from fastci.results.bundle import read_bundle
from tests.helpers.cli import fastci_code
from tests.helpers.shop import ShardedRun

CHROMIUM = "/usr/bin/chromium"
# Chromium as Debian ships it, headless, with every background fetch of its own turned off.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
FAILING_TEST = "tests/test_broken.py::test_refund_is_never_negative"


def _browser_missing() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed"
    if not os.access(CHROMIUM, os.X_OK):
        return f"{CHROMIUM} is missing (apt-get install chromium)"
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    missing = _browser_missing()
    if missing is not None:
        if os.environ.get("FASTCI_REQUIRE_BROWSER") == "1":
            pytest.fail(f"FASTCI_REQUIRE_BROWSER=1 but {missing}")
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def test_the_timeline_has_a_row_per_worker_and_a_bar_per_unit_with_the_network_off(
    broken_shards: ShardedRun, tmp_path: Path, browser: object
) -> None:
    from playwright.sync_api import Browser, Locator, Route

    assert isinstance(browser, Browser)
    page_path = tmp_path / "report.html"
    assert (
        fastci_code(
            "report", "--html", page_path, broken_shards.results, "--root", broken_shards.root
        )
        == 0
    )
    context = browser.new_context(offline=True, viewport={"width": 1280, "height": 900})
    requested: list[str] = []

    def only_the_file(route: Route) -> None:
        requested.append(route.request.url)
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            route.abort()

    context.route("**/*", only_the_file)
    page = context.new_page()
    page.set_default_timeout(10_000)
    console_errors: list[str] = []
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    page.goto(page_path.as_uri())

    bundles = [read_bundle(broken_shards.bundle(k)) for k in (1, 2)]
    expected = {
        (b.label, w): sum(1 for s in b.units if s.worker == w)
        for b in bundles
        for w in {s.worker for s in b.units} | {w.worker for w in b.workers}
    }
    lanes = page.locator(".tl .lane")
    shown = {
        (lane.get_attribute("data-shard"), lane.get_attribute("data-worker")): lane.locator(
            ".bar"
        ).count()
        for lane in lanes.all()
    }
    assert shown == expected
    assert sum(expected.values()) == sum(len(b.units) for b in bundles) >= 4
    tail = max(bundles, key=lambda b: b.actual)
    assert page.locator(".tl-shard.is-tail").get_attribute("data-shard") == tail.label

    failure = page.locator(f'#failures .failure[data-test="{FAILING_TEST}"]')
    assert failure.is_visible()
    assert "a refund went negative" in failure.inner_text()

    def width(bar: Locator) -> float:
        box = bar.bounding_box()
        return 0.0 if box is None else box["width"]

    widest = max(page.locator(".tl .bar").all(), key=width)
    widest.hover()
    assert page.locator("#tip").is_visible()
    assert page.locator("#tip").inner_text().startswith(widest.get_attribute("data-unit") or "?")

    assert requested == [page_path.as_uri()]
    assert console_errors == []
    screenshot = tmp_path / "report.png"
    page.screenshot(path=str(screenshot), full_page=True)
    assert screenshot.stat().st_size > 10_000
    keep = os.environ.get("FASTCI_SCREENSHOT")
    if keep:
        shutil.copy(screenshot, keep)
    context.close()
