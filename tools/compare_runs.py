#!/usr/bin/env python
"""Thin script over :mod:`detaug.cli.compare` (installed as the console script ``detaug-compare``)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from detaug.cli.compare import run

if __name__ == "__main__":
    sys.exit(run())
