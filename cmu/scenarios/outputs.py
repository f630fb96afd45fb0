"""A run's outputs: the metrics table as CSV and JSON, a PNG plot of accuracy and balances over time
(matplotlib with the Agg backend, imported only when plotting), a text table, and a progress bar.
"""

from __future__ import annotations

import csv
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from cmu.scenarios.runner import RunResult

BAR_WIDTH = 30


def write_csv(rows: Sequence[dict[str, Any]], path: Path) -> Path:
    """The metrics table as CSV (columns in the rows' order)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]) if rows else [])
        writer.writeheader()
        writer.writerows(rows)
    return path


def result_json(result: RunResult) -> dict[str, Any]:
    """Everything a run reports, as a JSON object."""
    return {
        "scenario": result.scenario.name,
        "seed": result.scenario.seed,
        "final_state_root": result.final_state_root,
        "blocks": result.blocks,
        "extrinsics": result.extrinsics,
        "agents": result.agent_stats,
        "metrics": result.rows,
    }


def write_json(result: RunResult, path: Path) -> Path:
    """The run as JSON (sorted keys, so equal runs give equal files)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result_json(result), indent=1, sort_keys=True) + "\n")
    return path


def write_plot(result: RunResult, path: Path, *, title: str | None = None,
               baseline: RunResult | None = None) -> Path:
    """Accuracy (left; with a baseline run's, dashed, when given) and each agent's balance as % of its
    start (right) against simulated days."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = result.rows
    days = [row["day"] for row in rows]
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4), dpi=80)
    left.plot(days, [row["accuracy"] for row in rows], color="black", label=result.scenario.name)
    if baseline is not None:
        left.plot([row["day"] for row in baseline.rows], [row["accuracy"] for row in baseline.rows],
                  color="grey", linestyle="--", label=baseline.scenario.name)
        left.legend(loc="lower right", fontsize="small")
    left.set_xlabel("simulated days")
    left.set_ylabel("held-out accuracy (%)")
    left.set_ylim(0, 100)
    left.grid(alpha=0.3)
    for name in result.agent_names:
        right.plot(days, [row[f"{name}_balance_pct"] for row in rows], label=name)
    right.axhline(100, color="grey", linewidth=0.8, linestyle="--")
    right.set_xlabel("simulated days")
    right.set_ylabel("balance (% of start)")
    right.legend(loc="best", fontsize="small")
    right.grid(alpha=0.3)
    figure.suptitle(title or result.scenario.name)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, metadata={"Software": None})
    plt.close(figure)
    return path


def write_all(result: RunResult, out_dir: Path, *, plot: bool = True,
              baseline: RunResult | None = None) -> list[Path]:
    """metrics.csv, result.json and (unless `plot` is false) plot.png in `out_dir`; with a baseline run,
    also its metrics as baseline_metrics.csv and its accuracy on the plot."""
    written = [write_csv(result.rows, out_dir / "metrics.csv"), write_json(result, out_dir / "result.json")]
    if baseline is not None:
        written.append(write_csv(baseline.rows, out_dir / "baseline_metrics.csv"))
    if plot:
        written.append(write_plot(result, out_dir / "plot.png", baseline=baseline))
    return written


def accuracy_gap(result: RunResult, baseline: RunResult) -> float:
    """The largest amount by which the baseline's accuracy exceeds the run's at a common evaluation."""
    theirs = {row["time_s"]: row["accuracy"] for row in baseline.rows}
    gaps = [theirs[row["time_s"]] - row["accuracy"] for row in result.rows if row["time_s"] in theirs]
    return max(gaps) if gaps else 0.0


def format_table(rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None) -> str:
    """A plain-text table of some rows."""
    if not rows:
        return "(no rows)"
    cols = list(columns or rows[0])
    cells = [[_cell(row.get(c, "")) for c in cols] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(cols)]
    lines = ["  ".join(c.rjust(w) for c, w in zip(cols, widths, strict=True))]
    lines += ["  ".join(v.rjust(w) for v, w in zip(r, widths, strict=True)) for r in cells]
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.2f}" if abs(value) >= 1 or value == 0 else f"{value:.4g}"
    return str(value)


class ProgressBar:
    """A one-line progress bar of simulated time on a stream (stderr), redrawn at most 10 times a second."""

    def __init__(self, stream: TextIO | None = None, label: str = "") -> None:
        self.stream = stream or sys.stderr
        self.label = label
        self._last = 0.0
        self._started = time.monotonic()

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self._last < 0.1 and done < total:
            return
        self._last = now
        share = min(1.0, done / total) if total else 1.0
        filled = int(share * BAR_WIDTH)
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        days = done / 86_400
        elapsed = now - self._started
        self.stream.write(f"\r{self.label} [{bar}] {share * 100:5.1f}% day {days:6.2f} {elapsed:5.1f}s")
        self.stream.flush()

    def close(self) -> None:
        """End the bar's line."""
        self.stream.write("\n")
        self.stream.flush()
