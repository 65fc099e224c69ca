"""What every detaug command shares: ``--version`` and one rule for errors and exit codes.

Exit codes: 0 success; 1 a failure during the work (e.g. a diverged loss); 2 a usage or
input error (argparse's own code), printed as ``<prog>: error: <message>``; 128 + N when
stopped by signal N after saving.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, Callable, Optional, Sequence

from detaug._version import __version__
from detaug.errors import UsageError

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


def add_version(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add ``--version`` (prints ``<prog> (detaug X.Y.Z)``)."""
    parser.add_argument("--version", action="version", version=f"%(prog)s (detaug {__version__})")
    return parser


def run_command(
    parser: argparse.ArgumentParser,
    main: Callable[[argparse.Namespace], Any],
    argv: Optional[Sequence[str]] = None,
) -> int:
    """Parse ``argv``, call ``main(args)``; a :class:`UsageError` becomes one line and exit 2.

    ``main`` may return an int (the exit code) or anything else (exit 0).
    """
    args = parser.parse_args(argv)
    try:
        result = main(args)
    except UsageError as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"{parser.prog}: interrupted", file=sys.stderr)
        return 130
    return result if isinstance(result, int) and not isinstance(result, bool) else EXIT_OK


def default_occlusion() -> tuple:
    """What detaug-occlusion and detaug-study score by default: every occluder kind, and
    OccludedPASCAL3D+'s levels as ``--levels`` text."""
    from detaug.robustness.occluders import KINDS, LEVELS

    return tuple(KINDS), ",".join(level.label.replace(" %", "") for level in LEVELS)


def occlusion_conditions(kinds: Sequence[str], levels: str, seeds: Sequence[int]) -> list:
    """The scoring conditions of ``--kinds``, ``--levels`` and the seeds (detaug-occlusion,
    detaug-study); a bad value is a :class:`UsageError` naming its option."""
    from detaug.robustness.evaluation import conditions
    from detaug.robustness.occluders import parse_levels

    try:
        parsed = parse_levels(levels)
    except ValueError as exc:
        raise UsageError(f"--levels: {exc}") from None
    try:
        return conditions(kinds, parsed, seeds)
    except UsageError as exc:  # an unknown kind
        raise UsageError(f"--kinds: {exc}") from None
