"""``python -m kombu``: the kombu command."""

import sys

try:
    from .cli import main

    status = main()
except KeyboardInterrupt:  # Ctrl-C before the command started: no traceback
    status = 130
sys.exit(status)
