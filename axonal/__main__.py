"""`python -m axonal ...`: the same command line as the `axonal` script (see axonal/cli.py)."""
import sys

from .cli import main

sys.exit(main())
