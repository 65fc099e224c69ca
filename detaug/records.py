"""Text records on the ground floor: lines appended safely, and YAML read safely.

- :func:`append_line` adds one line to a log or a JSON-lines file, starting it on a fresh
  line when the file's last line was cut (a killed writer, a full disk), so the cut line
  stays the only casualty and the new record is read back whole.
- :func:`load_yaml` is ``yaml.safe_load`` with alias expansion bounded: an "alias bomb"
  (a few hundred bytes whose anchors expand to billions of nodes) is refused before any
  code walks it, instead of exhausting memory.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Dict

from detaug.io import PathLike

__all__ = ["MAX_YAML_NODES", "YamlError", "append_line", "load_yaml"]

#: The most nodes a YAML document may expand to (aliases counted as often as they are
#: used); a training config is a few hundred.
MAX_YAML_NODES = 100_000


class YamlError(ValueError):
    """A YAML text that is not valid or expands past :data:`MAX_YAML_NODES` (the message
    names its source, never its content)."""


def append_line(path: PathLike, line: str, sync: bool = False) -> None:
    """Append ``line`` (without its newline) to ``path`` on a line of its own.

    Examples:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp()) / "m.jsonl"
        >>> _ = p.write_text('{"a": 1}\\n{"b": ')  # the last record was cut
        >>> append_line(p, '{"c": 3}')
        >>> p.read_text().splitlines()
        ['{"a": 1}', '{"b": ', '{"c": 3}']
    """
    path = Path(path)
    with open(path, "a+b") as f:
        f.seek(0, os.SEEK_END)
        fresh = f.tell() == 0
        if not fresh:
            f.seek(-1, os.SEEK_END)
            fresh = f.read(1) == b"\n"
            f.seek(0, os.SEEK_END)
        f.write((b"" if fresh else b"\n") + line.encode("utf-8") + b"\n")
        f.flush()
        if sync:
            os.fsync(f.fileno())


def _expanded_size(node: Any, memo: Dict[int, int], limit: int) -> int:
    key = id(node)
    if key in memo:
        return memo[key]
    memo[key] = limit + 1  # a node reached again while it is being sized: a recursive alias
    value = node.value
    if isinstance(value, list):
        children = [c for pair in value for c in pair] if value and isinstance(value[0], tuple) else value
        size = 1
        for child in children:
            size += _expanded_size(child, memo, limit)
            if size > limit:
                break
    else:
        size = 1
    memo[key] = size
    return size


def load_yaml(text: str, source: str, max_nodes: int = MAX_YAML_NODES) -> Any:
    """Parse ``text`` with ``yaml.SafeLoader`` (no Python tags), refusing documents that
    expand to more than ``max_nodes`` nodes.

    Args:
        text: the YAML text.
        source: what it is (a file path, ``--set x=...``), for the error message.
        max_nodes: the expansion bound.

    Raises:
        YamlError: invalid YAML, a tag the safe loader refuses, or too many nodes; the
            message names ``source`` and the line, not the content.

    Examples:
        >>> load_yaml("a: [1, 2]", "x.yaml")
        {'a': [1, 2]}
        >>> bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\\n" + "".join(
        ...     f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\\n"
        ...     for p, c in zip("abcdefg", "bcdefgh"))
        >>> load_yaml(bomb, "bomb.yaml")
        Traceback (most recent call last):
        ...
        detaug.records.YamlError: bomb.yaml: the YAML expands to more than 100000 nodes (aliases of aliases?); write the values out
    """
    import yaml

    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        if node is not None and _expanded_size(node, {}, max_nodes) > max_nodes:
            raise YamlError(f"{source}: the YAML expands to more than {max_nodes} nodes (aliases of aliases?); "
                            "write the values out")
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise YamlError(f"{source}: not valid YAML{where}: {problem}") from None
    except RecursionError:
        raise YamlError(f"{source}: the YAML nests too deeply") from None
