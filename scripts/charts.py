#!/usr/bin/env python3
"""Latency charts for docs/benchmarks.md, drawn from a benchmark run's JSON (`make charts`).

    .venv/bin/python scripts/bench.py --out bench-results.json
    .venv/bin/python scripts/charts.py bench-results.json

Writes docs/img/bench-registration-latency.svg and docs/img/bench-race-latency.svg: each line is
one path's latency distribution (every percentile the bench recorded), so a faster path sits to
the left and a long tail shows as a line bending right at the top. Needs matplotlib (the `docs`
extra: `pip install -e '.[docs]'`); draws only what the JSON holds, measures nothing itself.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "docs" / "img"
# Fixed colours per position, so the same path keeps its colour from one chart to the next.
COLOURS = ("#d4a017", "#c0392b", "#2e86c1", "#27ae60", "#8e44ad", "#7f8c8d", "#e67e22")


def distributions(runs: list[dict[str, Any]]) -> list[tuple[str, list[float]]]:
    """(label, percentiles 0..100) of every run that recorded its distribution."""
    found = []
    for run in runs:
        percentiles = (run.get("latency_ms") or {}).get("percentiles") or []
        if len(percentiles) == 101:
            label = f"{run['name']}  (p50 {percentiles[50]:g} ms, p99 {percentiles[99]:g} ms)"
            found.append((label, percentiles))
    return found


def draw(title: str, lines: list[tuple[str, list[float]]], path: Path, note: str) -> None:
    import matplotlib

    matplotlib.use("svg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    plt.rcParams["svg.hashsalt"] = "registry-tui"  # the same JSON gives the same file
    figure, axes = plt.subplots(figsize=(9, 3.6 + 0.22 * len(lines)))
    for index, (label, percentiles) in enumerate(lines):
        axes.plot(
            percentiles,
            range(101),
            label=label,
            color=COLOURS[index % len(COLOURS)],
            linewidth=1.8,
        )
    axes.set_xscale("log")
    axes.set_xlabel("latency (ms, log scale)")
    axes.set_ylabel("percentile")
    axes.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    axes.xaxis.set_minor_formatter(FuncFormatter(lambda value, _: ""))
    axes.set_yticks([0, 25, 50, 75, 90, 99])
    axes.grid(True, which="both", alpha=0.3)
    axes.set_title(title, fontsize=11, loc="left")
    axes.legend(fontsize=7.5, loc="upper left", bbox_to_anchor=(0, -0.16), frameon=False)
    figure.text(0.01, 0.01, note, fontsize=7, color="#555555")
    figure.tight_layout(rect=(0, 0.03, 1, 1))
    figure.savefig(path, format="svg", metadata={"Date": None})
    plt.close(figure)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="?", default="bench-results.json")
    args = parser.parse_args()
    try:
        results = json.loads(Path(args.results).read_text())
    except (OSError, ValueError) as exc:
        print(f"charts: cannot read {args.results}: {exc}", file=sys.stderr)
        return 2
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print("charts: needs matplotlib: pip install -e '.[docs]'", file=sys.stderr)
        return 2
    sections = results.get("sections", {})
    when = results.get("date") or ""
    note = f"scripts/bench.py {when}".strip() + "; one machine, node and client on the same cores"
    OUT.mkdir(parents=True, exist_ok=True)
    written = 0
    for section, title, name in (
        ("register", "Registration latency, by path", "bench-registration-latency.svg"),
        ("race", "Race attempt latency: IF NOT EXISTS vs plain INSERT", "bench-race-latency.svg"),
    ):
        lines = distributions(sections.get(section, []))
        if not lines:
            print(f"charts: {args.results} holds no distribution for {section!r}", file=sys.stderr)
            continue
        draw(title, lines, OUT / name, note)
        print((OUT / name).relative_to(REPO))
        written += 1
    return 0 if written else 1


if __name__ == "__main__":
    sys.exit(main())
