"""``fastci affected`` and ``--explain`` as people read them."""

from __future__ import annotations

from fastci.affected.select import Selection


def summary_line(selection: Selection, note: str) -> str:
    counted = len(selection.selected)
    everything = f"; everything runs: {selection.everything}" if selection.everything else ""
    return (
        f"fastci affected: {counted} selected, {len(selection.skipped)} skipped as unaffected, "
        f"by the data of commit {selection.data_commit[:12]} ({note}){everything}"
    )


def explain(selection: Selection) -> list[str]:
    """Per selected test the file or rule that selected it; per skipped file, why it is safe."""
    lines = []
    if selection.selected:
        lines.append("selected:")
        width = max(len(t) for t in selection.selected)
        lines += [f"  {t:<{width}}  {selection.reasons[t]}" for t in selection.selected]
    if selection.safe_files:
        lines.append("skipped:")
        width = max(len(f) for f in selection.safe_files)
        lines += [f"  {f:<{width}}  safe: {why}" for f, why in selection.safe_files.items()]
    return lines
