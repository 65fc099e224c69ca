"""Names a package gives on first use (PEP 562), so that importing it stays cheap: one
implementation for the package root, the erasing core and the engine."""

from __future__ import annotations

import importlib
from typing import Any, Callable, Dict, List, Tuple


def lazy_exports(package: str, namespace: Dict[str, Any],
                 exports: Dict[str, str]) -> Tuple[Callable[[str], Any], Callable[[], List[str]]]:
    """``(__getattr__, __dir__)`` for ``package``: ``exports`` maps each name to the module
    that defines it; a name is imported on first use and kept in ``namespace`` (the
    package's ``globals()``).

    Examples:
        >>> getattr_, dir_ = lazy_exports("pkg", {}, {"sqrt": "math"})
        >>> getattr_("sqrt")(9.0), "sqrt" in dir_()
        (3.0, True)
    """

    def __getattr__(name: str) -> Any:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(exports[name]), name)
        namespace[name] = value
        return value

    def __dir__() -> List[str]:
        return sorted(set(namespace) | set(exports))

    return __getattr__, __dir__
