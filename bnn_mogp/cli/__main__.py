"""``python -m bnn_mogp.cli``: the ``bnn-mogp`` command line."""

import sys

from bnn_mogp.cli import main

sys.exit(main())
