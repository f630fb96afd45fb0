"""The CLI's handling of documents and readable scores, without a node: rows that are not JSON are
documents, `--file` reads .csv as numbers and other files as one document a line, a prediction prints
its probabilities or real-unit scores, `training add` sends a document to add_text, and `model import
--help` warns that joblib runs pickle."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from cmu.client.errors import ArgumentError
from cmu.client.model_commands import _prediction_line, _rows
from cmu.client.training_commands import _features


def rows(*argv: str, file: Path | None = None) -> list[object]:
    return _rows(argparse.Namespace(rows=list(argv), file=file))


def test_arguments_are_json_rows_or_documents(tmp_path: Path) -> None:
    assert rows("[1, 2.5]", "a great movie", '"quoted"') == [[1, 2.5], "a great movie", "quoted"]
    with pytest.raises(ArgumentError):
        rows("[1, 2")
    (tmp_path / "docs.txt").write_text("first review\n\nsecond, 1,2\n")
    (tmp_path / "rows.csv").write_text("1,2\n3,4\n")
    assert rows(file=tmp_path / "docs.txt") == ["first review", "second, 1,2"]
    assert rows(file=tmp_path / "rows.csv") == [[1.0, 2.0], [3.0, 4.0]]


def test_a_prediction_prints_probabilities_or_real_scores() -> None:
    logistic = {"label": 1, "name": "pos", "scores": [0, 65536], "scoresReal": [0.0, 1.0],
                "probabilities": [0.2689414, 0.7310586]}
    assert _prediction_line(logistic) == "pos\t(label 1, probabilities [0.2689, 0.7311])"
    plain = {"label": 0, "name": "neg", "scores": [98304, -32768]}
    assert _prediction_line(plain) == "neg\t(label 0, scores [1.5000, -0.5000])"


def test_training_features_are_ints_or_a_document() -> None:
    assert _features("[1, 2, 3]") == [1, 2, 3]
    assert _features("boring and dull") == "boring and dull"
    with pytest.raises(ArgumentError):
        _features("[1.5]")


def test_model_import_help_warns_about_pickle() -> None:
    shown = subprocess.run([sys.executable, "-m", "cmu.client", "model", "import", "--help"],
                           capture_output=True, text=True, check=True, timeout=120)
    assert "pickle" in shown.stdout and "LogisticRegression" in shown.stdout
