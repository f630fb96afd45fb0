"""`python -m client`: the same as the `cmu` console script."""

from client.cli import run

run()
