"""The erasing arguments of every front-end, declared once: the fields of :class:`ErasingParams`.

A front-end's constructor is written as ``__init__(self, params=None, *, <its own keyword
arguments>, **erasing)``: it takes a validated :class:`ErasingParams` as itself, or the
erasing arguments as keywords (never both). :func:`erasing_arguments` gives that
constructor the full signature, every field of :class:`ErasingParams` with its default
(minus those the front-end cannot apply), so that ``help()``, ``inspect.signature`` and
interactive completion (IPython, Jupyter) list them; adding a field to
:class:`ErasingParams` adds it to every front-end. (A static ``TypedDict`` for ``**erasing``
would be a second list of the same names; this is generated from the one list.) The
arguments' documentation is :class:`ErasingParams`' own: a front-end's docstring refers to
it, and :func:`erasing_arguments` appends it to the class docstring for ``help()``.
"""

from __future__ import annotations

import dataclasses
import inspect
import textwrap
from typing import Any, Callable, Collection, Dict, Optional, TypeVar

from detaug.erasing.params import ErasingParams

T = TypeVar("T", bound=type)

#: The fields of :class:`ErasingParams`, in declaration order.
FIELDS = tuple(f for f in dataclasses.fields(ErasingParams))


def argument_docs(skip: Collection[str] = ()) -> str:
    """The ``Args:`` entries of :class:`ErasingParams`' docstring, but ``skip``, dedented.

    Examples:
        >>> argument_docs().splitlines()[0]
        'mode: ``"ire"``, ``"ore"`` or ``"i+ore"`` (any case). Default ``"i+ore"``.'
    """
    doc = inspect.cleandoc(ErasingParams.__doc__ or "")
    block = doc.split("\nArgs:\n", 1)[1].split("\n\n", 1)[0]
    entries, names = [], {f.name for f in FIELDS} - set(skip)
    for line in textwrap.dedent(block).splitlines():
        if not line.startswith(" "):
            entries.append([line])
        else:
            entries[-1].append(line)
    return "\n".join("\n".join(e) for e in entries if e[0].split(":", 1)[0] in names)


def erasing_arguments(skip: Collection[str] = ()) -> Callable[[T], T]:
    """Class decorator: the constructor's signature shows every erasing argument but ``skip``.

    The generated signature is ``(self, params=None, *, <fields>, <the constructor's own
    keyword-only arguments>)``; their documentation (:func:`argument_docs`) is appended to
    the class docstring, so that ``help()`` shows it.
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
        if cls.__doc__:
            docs = textwrap.indent(argument_docs(skip), "    ")
            cls.__doc__ = (inspect.cleandoc(cls.__doc__) + "\n\nErasing arguments (keyword-only; from "
                           ":class:`~detaug.erasing.ErasingParams`, which documents them):\n" + docs + "\n")
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
