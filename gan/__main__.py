"""`python -m gan ...`: see gan/cli.py."""
import sys

from .cli import main

sys.exit(main())
