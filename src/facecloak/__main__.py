"""``python -m facecloak``: the ``facecloak`` command."""

from __future__ import annotations

import sys

from facecloak.cli import main

if __name__ == "__main__":
    sys.exit(main())
