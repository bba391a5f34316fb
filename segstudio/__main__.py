"""``python -m segstudio`` (also what ``torchrun -m segstudio`` runs)."""

from __future__ import annotations

import sys

from segstudio.cli import main

if __name__ == "__main__":
    sys.exit(main())
