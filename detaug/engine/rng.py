"""The global random generators of a run: seeding them, and their state in checkpoints.

A checkpoint holds the Python, NumPy, torch CPU (and CUDA) generator states of every
process, as tensors and plain types so that it loads with ``weights_only=True``; restoring
them is what makes a resumed run continue exactly as an uninterrupted one.
"""

from __future__ import annotations

import random
from typing import Any, Dict, Tuple

import numpy as np
import torch


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and torch's global generators with ``seed``."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def capture_rng_state() -> Dict[str, Any]:
    """The Python, NumPy, torch CPU and CUDA generator states of this process.

    Examples:
        >>> sorted(capture_rng_state())[:3]
        ['numpy', 'python', 'torch']
    """
    np_state = np.random.get_state()
    state = {
        "python": [list(x) if isinstance(x, tuple) else x for x in random.getstate()],
        "numpy": {
            "name": np_state[0],
            "keys": torch.from_numpy(np_state[1].astype(np.int64)),
            "pos": int(np_state[2]),
            "has_gauss": int(np_state[3]),
            "cached_gaussian": float(np_state[4]),
        },
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _decode(state: Any) -> Tuple[tuple, tuple, torch.Tensor]:
    """The states in the form each library's ``setstate`` takes; ValueError if malformed."""
    try:
        py = tuple(tuple(x) if isinstance(x, list) else x for x in state["python"])
        n = state["numpy"]
        keys = n["keys"].numpy().astype(np.uint32)
        np_state = (n["name"], keys, int(n["pos"]), int(n["has_gauss"]), float(n["cached_gaussian"]))
        # set on throwaway generators first, so that a bad state changes nothing
        random.Random().setstate(py)
        np.random.RandomState().set_state(np_state)
        torch.Generator().set_state(state["torch"])
    except (KeyError, TypeError, ValueError, IndexError, AttributeError, RuntimeError) as exc:
        detail = f"missing {exc}" if isinstance(exc, KeyError) else str(exc).splitlines()[0][:200]
        raise ValueError(f"malformed random-generator state ({type(exc).__name__}: {detail})") from exc
    return py, np_state, state["torch"]


def check_rng_state(state: Any) -> None:
    """Raise ValueError if ``state`` is not what :func:`capture_rng_state` returns.

    Examples:
        >>> check_rng_state(capture_rng_state())
        >>> check_rng_state({"python": [3]})
        Traceback (most recent call last):
        ...
        ValueError: malformed random-generator state (KeyError: missing 'numpy')
    """
    _decode(state)


def restore_rng_state(state: Dict[str, Any]) -> None:
    """Undo :func:`capture_rng_state` (nothing changes if ``state`` is malformed).

    Raises:
        ValueError: ``state`` is malformed.
    """
    py, np_state, torch_state = _decode(state)
    random.setstate(py)
    np.random.set_state(np_state)
    torch.set_rng_state(torch_state)
    if "cuda" in state and torch.cuda.is_available() and len(state["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(state["cuda"])
