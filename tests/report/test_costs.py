"""The HTML report's fixed costs per phase and its units where the plan missed, from real runs."""

from __future__ import annotations

import re
from pathlib import Path

from tests.helpers.projects import Project

SLOW = "import time\n\ndef test_slow():\n    time.sleep(0.3)\n"
QUICK = "def test_quick():\n    pass\n"


def test_the_html_report_shows_each_shards_phases_and_the_units_the_plan_missed(
    project: Project, tmp_path: Path
) -> None:
    project.write("tests/test_slow.py", SLOW)
    project.write("tests/test_quick.py", QUICK)
    results = tmp_path / "results"
    for k in (1, 2):
        proc = project.fastci("run", "--shard", f"{k}/2", "-j", "1", "--results", str(results))
        assert proc.returncode == 0, proc.stdout + proc.stderr
    html_path = tmp_path / "report.html"
    proc = project.fastci("report", "--html", str(html_path), str(results))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    html = html_path.read_text()

    phases = html[html.index('id="phases"') : html.index('id="plan-misses"')]
    assert "<th>shard 1/2</th><th>shard 2/2</th>" in phases
    for name in ("discovery", "store read and planning", "start-up to the first test", "bundle"):
        assert f">{name}<" in phases or f"<b>{name}</b>" in phases
    assert phases.count('<td class="num">') >= 2 * 12  # a figure per phase and shard

    start = html.index('id="plan-misses"')
    misses = html[start : html.index("</section>", start)]
    rows = re.findall(r'<tr><td class="name" title="([^"]+)"', misses)
    # with no timings yet, the slow file is predicted like the quick one: it is off by most
    assert rows[0] == "tests/test_slow.py"
    assert set(rows) == {"tests/test_slow.py", "tests/test_quick.py"}
