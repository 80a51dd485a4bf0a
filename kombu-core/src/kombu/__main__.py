"""``python -m kombu``: the kombu command."""

import sys

from .cli import main

sys.exit(main())
