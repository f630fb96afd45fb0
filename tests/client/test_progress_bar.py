"""The upload progress bar: drawn in place on a terminal's stderr, redrawn only when the percentage moves,
ended by a newline at 100 %; absent when stderr is not a terminal or the output is --json."""

from __future__ import annotations

import io

from cmu.client.output import ProgressBar


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_bar_redraws_in_place_and_ends_with_a_newline() -> None:
    stream = Terminal()
    bar = ProgressBar.for_cli("uploading", False, stream)
    assert bar is not None
    mib = 1024 * 1024
    for done in (0, mib, mib + 1, 2 * mib, 4 * mib):
        bar(done, 4 * mib)
    frames = stream.getvalue().split("\r")[1:]
    assert len(frames) == 4  # mib + 1 is still 25 %: not redrawn
    assert frames[1] == "uploading [#######.......................] 1.0/4.0 MiB  25%"
    assert frames[-1].endswith("4.0/4.0 MiB 100%\n") and "." not in frames[-1].split("]")[0]
    assert all("\n" not in frame for frame in frames[:-1])


def test_no_bar_off_a_terminal_or_with_json() -> None:
    assert ProgressBar.for_cli("uploading", False, io.StringIO()) is None
    assert ProgressBar.for_cli("uploading", True, Terminal()) is None
