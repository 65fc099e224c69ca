"""What every detaug command shares: ``--version`` and one rule for errors and exit codes.

Exit codes: 0 success; 1 a failure during the work (e.g. a diverged loss); 2 a usage or
input error (argparse's own code), printed as ``<prog>: error: <message>``; 128 + N when
stopped by signal N after saving.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
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


def occlusion_conditions(kinds: Sequence[str], levels: str, seeds: Sequence[int], seeds_option: str = "--seeds") -> list:
    """The scoring conditions of ``--kinds``, ``--levels`` and the seeds (detaug-occlusion,
    detaug-study: its ``seeds_option`` is ``--occlusion-seeds``); a bad value is a
    :class:`UsageError` naming its option."""
    from detaug.robustness.evaluation import conditions
    from detaug.robustness.occluders import parse_levels

    check_seeds(seeds_option, seeds)
    try:
        parsed = parse_levels(levels)
    except ValueError as exc:
        raise UsageError(f"--levels: {exc}") from None
    try:
        return conditions(kinds, parsed, seeds)
    except UsageError as exc:  # an unknown kind
        raise UsageError(f"--kinds: {exc}") from None


#: Seeds the commands take (``--seed``, ``--seeds``): what NumPy's and torch's generators accept alike.
SEED_MAX = 2**32 - 1


def check_seeds(option: str, seeds: Sequence[int]) -> None:
    """A :class:`UsageError` naming ``option`` for a seed outside 0 .. 2**32 - 1."""
    for seed in seeds:
        if not 0 <= seed <= SEED_MAX:
            raise UsageError(f"{option}: seeds go from 0 to {SEED_MAX} (2**32 - 1), got {seed}")


def check_count(option: str, value: Optional[int], least: int) -> None:
    """A :class:`UsageError` naming ``option`` when ``value`` (if given) is below ``least``."""
    if value is not None and value < least:
        raise UsageError(f"{option}: must be at least {least}, got {value}")


def _first_existing(path: Path) -> Path:
    for candidate in (path, *path.parents):
        if candidate.exists():
            return candidate
    return Path(".")


def check_output_folder(option: str, path: os.PathLike[str] | str) -> Path:
    """``path`` as an output folder: it may exist as a folder or be created, never a file or
    inside one (checked before any work, so a long scoring does not end in an error)."""
    path = Path(path)
    existing = _first_existing(path)
    if not existing.is_dir():
        what = "is a file" if existing == path else f"is inside {existing}, which is a file"
        raise UsageError(f"{option} {path}: {what}; give a folder (the outputs are written into it)")
    if not os.access(existing, os.W_OK):
        raise UsageError(f"{option} {path}: cannot write into {existing}")
    return path


def check_output_file(option: str, path: os.PathLike[str] | str, *, create_parent: bool = False) -> Path:
    """``path`` as a file to write: not a folder, in a folder that exists (or that may be
    created with ``create_parent``, for a default path) and can be written into."""
    path = Path(path)
    if path.is_dir():
        raise UsageError(f"{option} {path}: is a folder; give a file name (e.g. {path / 'NAME'})")
    existing = _first_existing(path.parent)
    if not existing.is_dir():
        raise UsageError(f"{option} {path}: {existing} is a file, not a folder")
    if existing != path.parent and not create_parent:
        raise UsageError(f"{option} {path}: the folder {path.parent} does not exist; create it first "
                         f"(mkdir -p {path.parent}) or give a path in an existing folder")
    if not os.access(existing, os.W_OK):
        raise UsageError(f"{option} {path}: cannot write into {existing}")
    return path


def check_device(option: str, spec: str) -> None:
    """``spec`` must be ``auto`` or a torch device string (``cpu``, ``cuda``, ``cuda:1``)."""
    if spec == "auto":
        return
    import torch

    try:
        device = torch.device(spec)
    except (RuntimeError, ValueError, TypeError):
        device = None
    if device is None or device.type not in ("cpu", "cuda"):
        raise UsageError(f"{option}: unknown device {spec!r}; use auto, cpu, cuda or cuda:N")
