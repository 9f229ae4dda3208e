"""`python -m facegate.cli`: the `facegate` command."""

import sys

from facegate.cli import main

sys.exit(main())
