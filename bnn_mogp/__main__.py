"""``python -m bnn_mogp``: the ``bnn-mogp`` command line."""

import sys

from bnn_mogp.cli import main

sys.exit(main())
