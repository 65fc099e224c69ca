"""The erasing arguments of every front-end, declared once: the fields of :class:`ErasingParams`.

A front-end's constructor is written as ``__init__(self, params=None, *, <its own keyword
arguments>, **erasing)``: it takes a validated :class:`ErasingParams` as itself, or the
erasing arguments as keywords (never both). :func:`erasing_arguments` gives that
constructor the full signature, every field of :class:`ErasingParams` with its default
(minus those the front-end cannot apply), so that ``help()``, ``inspect.signature`` and
interactive completion (IPython, Jupyter) list them; adding a field to
:class:`ErasingParams` adds it to every front-end. (A static ``TypedDict`` for ``**erasing``
would be a second list of the same names; this is generated from the one list.)
"""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any, Callable, Collection, Dict, Optional, TypeVar

from detaug.erasing.params import ErasingParams

T = TypeVar("T", bound=type)

#: The fields of :class:`ErasingParams`, in declaration order.
FIELDS = tuple(f for f in dataclasses.fields(ErasingParams))


def erasing_arguments(skip: Collection[str] = ()) -> Callable[[T], T]:
    """Class decorator: the constructor's signature shows every erasing argument but ``skip``.

    The generated signature is ``(self, params=None, *, <fields>, <the constructor's own
    keyword-only arguments>)``.
    """

    def decorate(cls: T) -> T:
        init = cls.__init__
        own = list(inspect.signature(init).parameters.values())
        head = [p for p in own if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        tail = [p for p in own if p.kind == p.KEYWORD_ONLY]
        fields = [inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=f.default, annotation=f.type)
                  for f in FIELDS if f.name not in skip]
        init.__signature__ = inspect.Signature(head + fields + tail)
        cls._erasing_skip = frozenset(skip)
        return cls

    return decorate


def erasing_params(owner: Any, params: Optional[ErasingParams], kwargs: Dict[str, Any]) -> ErasingParams:
    """The front-end's :class:`ErasingParams`: ``params`` as itself, or built from ``kwargs``.

    Raises:
        TypeError: both given, ``params`` of another type, or an argument the front-end
            does not take (naming it).
        ValueError: an invalid argument (from :class:`ErasingParams`).
    """
    name = type(owner).__name__
    skip = getattr(type(owner), "_erasing_skip", frozenset())
    known = {f.name for f in FIELDS} - skip
    unknown = sorted(set(kwargs) - known)
    if unknown:
        raise TypeError(f"{name}() got an unexpected keyword argument {unknown[0]!r}")
    if params is None:
        return ErasingParams(**kwargs)
    if not isinstance(params, ErasingParams):
        raise TypeError(f"{name}(params=...) takes an ErasingParams, got {type(params).__name__} "
                        "(give erasing arguments by keyword, e.g. mode='ore')")
    if kwargs:
        raise TypeError(f"{name}: give params or erasing keyword arguments, not both (got params and {sorted(kwargs)})")
    return params
