"""Make docs/report-timeline.png: a demo suite run as 3 real shards, merged, shown in Chromium.

Run from the repository root with fastci installed: ``python docs/screenshot.py``.
Needs Debian's chromium and the playwright package (see .ci/run).
"""

from __future__ import annotations

import os
import sys
import tempfile
import textwrap
from pathlib import Path

from fastci.cli import main

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.report.test_html import CHROMIUM, CHROMIUM_ARGS  # the browser the report's test uses

OUT = Path(__file__).resolve().parent / "report-timeline.png"
# test file -> how many seconds each of its tests sleeps
SUITE = {
    "tests/api/test_accounts.py": [0.9, 0.6, 0.4, 0.3],
    "tests/api/test_refunds.py": [1.2, 0.5, 0.2],
    "tests/api/test_webhooks.py": [2.4],
    "tests/billing/test_invoices.py": [0.7, 0.7, 0.7, 0.2],
    "tests/billing/test_tax.py": [0.3, 0.3, 0.3, 0.3, 0.3, 0.3],
    "tests/billing/test_currency.py": [0.5, 0.1],
    "tests/db/test_migrations.py": [3.1],
    "tests/db/test_queries.py": [0.8, 0.8, 0.4],
    "tests/test_ledger.py": [1.6, 0.9],
    "tests/test_fraud_rules.py": [0.2] * 8,
}


def write_demo(root: Path) -> None:
    (root / "payments").mkdir(parents=True)
    (root / "payments" / "__init__.py").write_text(
        "def settle(amount, fee):\n"
        "    if amount < fee:\n"
        "        return 0\n"
        "    return amount - fee\n"
    )
    (root / "pyproject.toml").write_text(
        '[project]\nname = "payments"\nversion = "0"\n\n[tool.pytest.ini_options]\n'
        'pythonpath = ["."]\n\n[tool.fastci]\njobs = 2\n'
    )
    for file, sleeps in SUITE.items():
        body = ["import time", "", "from payments import settle", ""]
        for n, seconds in enumerate(sleeps):
            body += [f"def test_case_{n}():", f"    time.sleep({seconds})", ""]
            body += ["    assert settle(100, 5) == 95", "", ""]
        if file.endswith("test_refunds.py"):
            body += textwrap.dedent("""
                def test_partial_refund_keeps_the_fee():
                    refund = settle(10, 12)
                    assert refund == -2, "a partial refund must keep the fee"
                """).splitlines()
        path = root / file
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(body) + "\n")


def main_screenshot() -> int:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch) / "payments"
        write_demo(root)
        results = Path(scratch) / "results"
        main(["run", "--root", str(root)])  # one plain run, so the store knows the durations
        os.environ["FASTCI_RUN_ID"] = "demo"
        for k in (1, 2, 3):
            shard = ["--shard", f"{k}/3", "--cov=payments"]
            main(["run", "--root", str(root), "--results", str(results), *shard])
        page_path = Path(scratch) / "report.html"
        main(["report", "--root", str(root), "--html", str(page_path), str(results)])
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1100, "height": 900}, device_scale_factor=2)
            page.goto(page_path.as_uri())
            timeline = page.locator("#timeline").bounding_box()
            if timeline is None:
                raise SystemExit("the page has no timeline")
            bottom = timeline["y"] + timeline["height"] + 16
            page.screenshot(path=str(OUT), clip={"x": 0, "y": 0, "width": 1100, "height": bottom})
            browser.close()
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main_screenshot())
