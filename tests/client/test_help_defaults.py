"""`cmu model register --help` names every default, so a user sees the feature range (--min/--max) a
model gets when they say nothing."""

from __future__ import annotations

import argparse
import re

import pytest

from cmu.client.cli import build_parser, main


def _register_parser() -> argparse.ArgumentParser:
    parser = build_parser()
    model = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices["model"]
    group = next(a for a in model._actions if isinstance(a, argparse._SubParsersAction))
    found: argparse.ArgumentParser = group.choices["register"]
    return found


def _help_text(capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as done:
        main(["model", "register", "--help"])
    assert done.value.code == 0
    return " ".join(capsys.readouterr().out.split())  # one line: wrapped help joined


def test_register_help_shows_every_default(capsys: pytest.CaptureFixture[str]) -> None:
    text = _help_text(capsys)
    assert re.search(r"--min MIN smallest feature value \(real units\) \(default: -1\.0\)", text)
    assert re.search(r"--max MAX largest feature value \(real units\) \(default: 1\.0\)", text)
    assert "(default: 60)" in text and "(default: $CMU_URL, else http://127.0.0.1:9944)" in text
    valued = [
        a
        for a in _register_parser()._actions
        if a.default not in (None, argparse.SUPPRESS) and not isinstance(a.default, bool) and not a.required
    ]
    assert {a.dest for a in valued} >= {"min", "max", "max_nonzeros", "task", "description", "license"}
    for action in valued:
        shown = '""' if action.default == "" else str(action.default)
        flag = action.option_strings[-1]
        assert re.search(re.escape(flag) + r" [A-Z_]+ [^-]*\(default: " + re.escape(shown) + r"\)", text), (
            flag
        )


def test_required_options_and_flags_carry_no_default_noise(capsys: pytest.CaptureFixture[str]) -> None:
    text = _help_text(capsys)
    assert "(default: None)" not in text and "(default: False)" not in text
    assert (
        "--artifact ARTIFACT 0x root of an artifact you uploaded (default: the kind's initial weights)"
        in text
    )
