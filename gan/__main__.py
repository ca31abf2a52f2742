"""`python -m gan ...`: see gan/cli/main.py."""
import sys

from .cli.main import main

sys.exit(main())
