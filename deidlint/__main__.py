"""``python -m deidlint`` runs the command line."""

import sys

from deidlint.cli import main

if __name__ == "__main__":  # not when a worker process imports this module (see deidlint.parallel)
    sys.exit(main())
