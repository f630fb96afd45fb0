"""The `scenarios` command (also `python -m cmu.scenarios`): run a scenario file, check one, sweep a grid of
variants, list the bundled scenarios. `run` prints, as its last line,
`final_state_root=<hex> accuracy=<n> <agent>_balance_pct=<n> ...`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from cmu.scenarios import config
from cmu.scenarios.fields import ScenarioError
from cmu.scenarios.runner import RunResult

BUNDLED = Path(__file__).parent / "bundled"


def resolve(name: str) -> Path:
    """A scenario file path, or the bundled scenario of that name (with or without .toml)."""
    path = Path(name)
    if path.exists():
        return path
    bundled = BUNDLED / (name if name.endswith(".toml") else f"{name}.toml")
    if bundled.exists():
        return bundled
    raise ScenarioError("", f"no scenario file {name!r} (and no bundled scenario of that name)")


def _overrides(assignments: Sequence[str]) -> dict[str, object]:
    from cmu.scenarios.sweep import parse_assignment

    out: dict[str, object] = {}
    for text in assignments:
        field, values = parse_assignment(text)
        if len(values) != 1:
            raise ScenarioError(field, "--set takes one value (use `sweep --grid` for several)")
        out[field] = values[0]
    return out


def cmd_run(args: argparse.Namespace) -> int:
    from cmu.scenarios import outputs

    overrides = _overrides(args.set)
    if args.seed is not None:
        overrides["seed"] = args.seed
    scenario = config.load(resolve(args.file), overrides)
    baseline = config.load(resolve(args.compare), overrides) if args.compare else None
    result = _run_with_bar(scenario, args.quiet)
    compared = _run_with_bar(baseline, args.quiet) if baseline is not None else None
    out_dir = Path(args.out) if args.out else Path("scenario-runs") / scenario.name
    written = outputs.write_all(result, out_dir, plot=not args.no_plot, baseline=compared)
    print(outputs.format_table(result.rows))
    print(f"blocks={result.blocks} extrinsics={result.extrinsics}")
    for path in written:
        print(f"wrote {path}")
    if compared is not None:
        gap = outputs.accuracy_gap(result, compared)
        print(f"baseline={compared.scenario.name} baseline_accuracy={compared.accuracy:.2f} "
              f"max_accuracy_gap={gap:.2f}")
    print(result.summary_line())
    return 0


def _run_with_bar(scenario: config.Scenario, quiet: bool) -> RunResult:
    from cmu.scenarios import outputs, runner

    bar = None if quiet else outputs.ProgressBar(label=scenario.name)
    result = runner.run(scenario, progress=bar)
    if bar is not None:
        bar.close()
    return result


def cmd_check(args: argparse.Namespace) -> int:
    scenario = config.load(resolve(args.file))
    agents = ", ".join(f"{a.name} ({a.kind})" for a in scenario.agents)
    print(f"{scenario.name}: ok; {scenario.duration} s, model {scenario.model_kind}, agents: {agents}")
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    from cmu.scenarios import outputs
    from cmu.scenarios.sweep import parse_assignment, sweep

    scenario = config.load(resolve(args.file))
    grid = dict(parse_assignment(text) for text in args.grid)
    if not grid:
        raise ScenarioError("--grid", "give at least one FIELD=V1,V2,... to vary")
    rows = sweep(scenario, grid, workers=args.workers, ray_address=args.ray)
    print(outputs.format_table(rows))
    if args.out:
        print(f"wrote {outputs.write_csv(rows, Path(args.out) / 'sweep.csv')}")
    return 0


def cmd_list(_args: argparse.Namespace) -> int:
    for path in sorted(BUNDLED.glob("*.toml")):
        scenario = config.load(path)
        print(f"{path.stem:24} {scenario.description}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="scenarios", description="Agent-based scenarios on the runtime.")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a scenario file (or a bundled scenario by name)")
    run.add_argument("file")
    run.add_argument("--out", help="output directory (default scenario-runs/<name>)")
    run.add_argument("--seed", type=int, help="override the scenario's seed")
    run.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                     help="override a field, e.g. incentive.cost_weight=0.5 or agents.honest.interval=\"5m\"")
    run.add_argument("--no-plot", action="store_true", help="skip the PNG plot")
    run.add_argument("--compare", metavar="BASELINE",
                     help="also run this scenario (e.g. baseline) and plot its accuracy next to the run's")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.set_defaults(func=cmd_run)
    check = sub.add_parser("check", help="check a scenario file without running it")
    check.add_argument("file")
    check.set_defaults(func=cmd_check)
    sw = sub.add_parser("sweep", help="run a grid of variants in parallel and print one table")
    sw.add_argument("file")
    sw.add_argument("--grid", action="append", default=[], metavar="FIELD=V1,V2,...")
    sw.add_argument("--workers", type=int, default=2, help="local worker processes (default 2)")
    sw.add_argument("--ray", metavar="ADDRESS", help="run the variants on this Ray cluster instead")
    sw.add_argument("--out", help="also write sweep.csv here")
    sw.set_defaults(func=cmd_sweep)
    lst = sub.add_parser("list", help="list the bundled scenarios")
    lst.set_defaults(func=cmd_list)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `scenarios` console script."""
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except ScenarioError as exc:
        print(f"scenarios: error: {exc}", file=sys.stderr)
        return 2
    except RuntimeError as exc:  # RayMissing and friends
        print(f"scenarios: error: {exc}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    sys.exit(main())
