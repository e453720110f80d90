"""``python -m deidlint`` runs the command line."""

import sys

from deidlint.cli import main

sys.exit(main())
