"""Entry point of `python -m hypernas_core`."""

import sys

from hypernas_core.cli import main

sys.exit(main())
