"""The example scenario suite (examples/scenario_suite) passes as a user would run it: plain pytest in a
subprocess, its fixtures found through the installed pytest11 entry point, its outputs kept on request."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SUITE = Path(__file__).resolve().parents[2] / "examples" / "scenario_suite"


def test_example_scenario_suite_passes(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", str(SUITE), "-q", "-p", "no:cacheprovider",
         "--scenario-out", str(tmp_path)],
        cwd=tmp_path, capture_output=True, text=True, timeout=600, check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "6 passed" in done.stdout
    assert (tmp_path / "stingy_attack" / "metrics.csv").exists()
