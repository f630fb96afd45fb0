"""`python -m cmu.scenarios`: the same command as the `scenarios` console script."""

import sys

from cmu.scenarios.cli import main

sys.exit(main())
