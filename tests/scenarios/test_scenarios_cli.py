"""The `scenarios` command in real subprocesses: reproducible across processes (same file and seed, same
state root and metrics, bit for bit), its last line, its outputs, and errors that name the bad field."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
SMALL = HERE / "small.toml"
LAST_LINE = re.compile(
    r"final_state_root=0x[0-9a-f]{64} accuracy=\d+\.\d{2}( [a-z_]+_balance_pct=\d+\.\d{2})+"
)


def _scenarios(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cmu.scenarios", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300, check=False)


def test_run_is_reproducible_across_processes(tmp_path: Path) -> None:
    first = _scenarios("run", str(SMALL), "--out", "a", "--no-plot", "--quiet", cwd=tmp_path)
    second = _scenarios("run", str(SMALL), "--out", "b", "--no-plot", "--quiet", cwd=tmp_path)
    other_seed = _scenarios("run", str(SMALL), "--out", "c", "--no-plot", "--quiet", "--seed", "12",
                            cwd=tmp_path)
    for done in (first, second, other_seed):
        assert done.returncode == 0, done.stderr
    assert first.stdout.splitlines()[-1] == second.stdout.splitlines()[-1]
    assert (tmp_path / "a" / "result.json").read_bytes() == (tmp_path / "b" / "result.json").read_bytes()
    assert (tmp_path / "a" / "metrics.csv").read_bytes() == (tmp_path / "b" / "metrics.csv").read_bytes()
    root = json.loads((tmp_path / "a" / "result.json").read_text())["final_state_root"]
    assert root != json.loads((tmp_path / "c" / "result.json").read_text())["final_state_root"]


def test_run_prints_the_summary_as_its_last_line(tmp_path: Path) -> None:
    done = _scenarios("run", str(SMALL), "--out", "out", "--set", 'duration="6h"', cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    last = done.stdout.splitlines()[-1]
    assert LAST_LINE.fullmatch(last), last
    assert "owner_balance_pct=" in last and "honest_balance_pct=" in last and "adversary_balance_pct=" in last
    result = json.loads((tmp_path / "out" / "result.json").read_text())
    assert last.startswith(f"final_state_root={result['final_state_root']} ")
    assert f"accuracy={result['metrics'][-1]['accuracy']:.2f}" in last
    assert (tmp_path / "out" / "plot.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    header = (tmp_path / "out" / "metrics.csv").read_text().splitlines()[0]
    assert header.startswith("time_s,day,block,accuracy,owner_balance_pct,")
    assert "day" in done.stderr and "%" in done.stderr  # the progress bar


def test_run_fails_when_a_field_is_malformed(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(SMALL.read_text().replace("max_deposit = 60", "max_deposit = -60"))
    done = _scenarios("run", str(bad), cwd=tmp_path)
    assert done.returncode == 2
    assert "agents[1].max_deposit: expected a positive number of tokens, got -60" in done.stderr
    assert not (tmp_path / "scenario-runs").exists()


def test_check_and_list(tmp_path: Path) -> None:
    checked = _scenarios("check", "headline", cwd=tmp_path)
    assert checked.returncode == 0 and checked.stdout.startswith("headline: ok")
    listed = _scenarios("list", cwd=tmp_path)
    assert listed.returncode == 0
    assert {"headline", "baseline"} <= {line.split()[0] for line in listed.stdout.splitlines()}


def test_run_compare_plots_a_baseline_and_prints_the_gap(tmp_path: Path) -> None:
    done = _scenarios("run", str(SMALL), "--out", "out", "--quiet", "--set", 'duration="6h"',
                      "--compare", str(SMALL), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert re.fullmatch(r"baseline=small baseline_accuracy=\d+\.\d{2} max_accuracy_gap=0\.00", lines[-2])
    assert LAST_LINE.fullmatch(lines[-1])
    out = tmp_path / "out"
    assert (out / "baseline_metrics.csv").read_text() == (out / "metrics.csv").read_text()
