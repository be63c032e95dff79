"""``python -m interleave`` runs the ``interleave`` command."""

import sys

from interleave.cli import main

sys.exit(main())
