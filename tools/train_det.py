#!/usr/bin/env python
"""Thin script over :mod:`detaug.cli.train` (installed as the console script ``detaug-train``)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from detaug.cli.train import run

if __name__ == "__main__":
    sys.exit(run())
