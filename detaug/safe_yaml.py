"""Reading YAML that someone else wrote (configs, a run's ``config.yaml``, ``--set`` values).

One loader for every such input: plain YAML values only (no ``!!python`` tags), no
recursive aliases, and aliases may not blow a small document up (an "alias bomb": a few
hundred bytes that expand to billions of nodes). The loader is OmegaConf's (so values
read the same as in ``OmegaConf.load``: ``1e-3`` is a float, dates stay strings) with
its fixed 10,000-node ceiling replaced by two limits of our own:

- aliases may expand a document of more than :data:`RATIO_FLOOR` nodes at most
  :data:`MAX_EXPANSION_RATIO` times (OmegaConf's ratio), and
- a document may hold at most :data:`MAX_NODES` nodes after expansion, so a legitimate
  config with a long list (thousands of class names, say) is read, not called a bomb.

Errors are :class:`YAMLInputError` (a :class:`~detaug.errors.UsageError`, so commands print
one line and exit 2); they name the file (or ``where``), the line and column and the
problem, and never quote the file's content: a path given by mistake (``/etc/passwd``)
is not echoed.
"""

from __future__ import annotations

import os
from typing import Any, Union

import yaml
from omegaconf._yaml import get_yaml_loader

from detaug.errors import UsageError
from detaug.io import read_user_text

__all__ = ["MAX_EXPANSION_RATIO", "MAX_NODES", "YAMLInputError", "parse_yaml", "read_yaml"]

#: Largest number of nodes a document may hold after alias expansion (OmegaConf: 10,000).
MAX_NODES = 1_000_000
#: Aliases may multiply a document's nodes at most this much (OmegaConf's ratio) ...
MAX_EXPANSION_RATIO = 100
#: ... once it has more than this many nodes after expansion.
RATIO_FLOOR = 1_000


class YAMLInputError(UsageError):
    """A YAML file or value that cannot be read (the message starts with where it came from)."""


def _node_counts(root: yaml.Node, limit: int) -> tuple:
    """(distinct nodes, nodes after alias expansion, the latter capped just above ``limit``);
    a recursive alias is an error."""
    expanded: dict = {}
    distinct: dict = {}

    def count(node: yaml.Node) -> int:
        if node in expanded:
            return expanded[node]
        if node in distinct:  # seen, not finished: an alias inside itself
            raise yaml.constructor.ConstructorError(None, None, "an alias (*name) inside the value it names",
                                                    node.start_mark)
        distinct[node] = None
        total = 1
        children = node.value if isinstance(node, yaml.SequenceNode) else (
            [n for pair in node.value for n in pair] if isinstance(node, yaml.MappingNode) else [])
        for child in children:
            total += count(child)
            if total > limit:
                break
        expanded[node] = total
        return total

    total = count(root)
    return len(distinct), total


_BASE = get_yaml_loader(max_yaml_expanded_nodes=None)  # still refuses recursive aliases


class _Loader(_BASE):  # type: ignore[misc, valid-type]
    def construct_document(self, node: yaml.Node) -> Any:
        distinct, expanded = _node_counts(node, MAX_NODES)
        if expanded > RATIO_FLOOR and expanded > MAX_EXPANSION_RATIO * distinct:
            raise yaml.constructor.ConstructorError(
                None, None, f"aliases (*name) expand {distinct} nodes to "
                f"{f'more than {MAX_NODES:,}' if expanded > MAX_NODES else f'{expanded:,}'} "
                f"(at most {MAX_EXPANSION_RATIO}x is read); write the values out instead", node.start_mark)
        if expanded > MAX_NODES:
            raise yaml.constructor.ConstructorError(
                None, None, f"more than {MAX_NODES:,} values; that is not a config", node.start_mark)
        return super().construct_document(node)


def _reason(exc: yaml.YAMLError) -> str:
    """The problem and its place, without the snippet of the document PyYAML quotes."""
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        problem = exc.problem or exc.context or type(exc).__name__
        if isinstance(exc, yaml.constructor.ConstructorError) and "python" in str(exc.problem or ""):
            problem += " (Python tags such as !!python/object are never read)"
        return where + problem
    if isinstance(exc, yaml.reader.ReaderError):
        return f"position {exc.position}: a character YAML text cannot hold (is it a binary file?)"
    return type(exc).__name__


def parse_yaml(text: str, where: str) -> Any:
    """The value of YAML ``text``; errors start with ``where`` (e.g. ``"--set seed=..."``).

    Raises:
        YAMLInputError: invalid YAML, a Python tag, or aliases that expand too far.

    Examples:
        >>> parse_yaml("[1, 2.5e-3, x]", "--set a")
        [1, 0.0025, 'x']
        >>> parse_yaml("a: !!python/object/apply:os.system [ls]", "--set a")
        Traceback (most recent call last):
        ...
        detaug.safe_yaml.YAMLInputError: --set a: not valid YAML (line 1, column 4: could not determine a constructor for the tag 'tag:yaml.org,2002:python/object/apply:os.system' (Python tags such as !!python/object are never read))
    """
    try:
        return yaml.load(text, Loader=_Loader)  # a safe loader, with alias limits
    except yaml.YAMLError as exc:
        raise YAMLInputError(f"{where}: not valid YAML ({_reason(exc)})") from None
    except RecursionError:
        raise YAMLInputError(f"{where}: nested too deeply to be a config") from None


def read_yaml(path: Union[str, os.PathLike[str]]) -> Any:
    """The value of the YAML file ``path`` (UTF-8 text); errors start with the path.

    Raises:
        YAMLInputError: the file cannot be read, is not UTF-8 text, or is not valid YAML
            (see :func:`parse_yaml`).
    """
    return parse_yaml(read_user_text(path, "YAML", YAMLInputError), str(path))
