"""``python -m lucie_data``: the same as the ``lucie-data`` command."""
import sys

from .cli import main

sys.exit(main())
