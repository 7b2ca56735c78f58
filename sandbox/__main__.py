"""Entry point for ``python -m sandbox``."""
import sys

from .cli import main

sys.exit(main())
