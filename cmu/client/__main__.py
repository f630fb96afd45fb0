"""`python -m cmu.client`: the same as the `cmu` console script."""

from cmu.client.cli import run

run()
