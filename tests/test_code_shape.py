"""The shape the code keeps (issues 9 and 18): no function in detaug/ or tools/ over 70 lines of code
or 6 positional parameters, a thin training script, an engine no bigger than 1,400 lines, and no
module importing from a layer above its own."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAX_LINES = 70


def _code_lines(function: ast.AST, lines: list) -> int:
    """Non-blank, non-comment lines of a function's body, its docstring left out."""
    body = function.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
        body = body[1:]
    numbers = {n for node in body for part in ast.walk(node) if hasattr(part, "lineno")
               for n in range(part.lineno, (part.end_lineno or part.lineno) + 1)}
    return sum(1 for n in numbers if lines[n - 1].strip() and not lines[n - 1].strip().startswith("#"))


def test_no_function_is_longer_than_70_lines_of_code():
    long = []
    for path in [*(ROOT / "detaug").rglob("*.py"), *(ROOT / "tools").glob("*.py")]:
        source = path.read_text()
        lines = source.splitlines()
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and _code_lines(node, lines) > MAX_LINES:
                long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({_code_lines(node, lines)} lines)")
    assert not long, long


def test_the_counter_counts_code_not_docstrings_or_comments():
    source = 'def f():\n    """Doc.\n\n    More doc.\n    """\n    # a comment\n    x = 1\n\n    return x\n'
    assert _code_lines(ast.parse(source).body[0], source.splitlines()) == 2


def test_the_training_command_is_thin():
    assert len((ROOT / "detaug" / "cli" / "train.py").read_text().splitlines()) < 200
    assert len((ROOT / "tools" / "train_det.py").read_text().splitlines()) < 200


def test_the_engine_is_at_most_1400_lines():
    assert sum(len(p.read_text().splitlines()) for p in (ROOT / "detaug" / "engine").glob("*.py")) <= 1400


MAX_POSITIONAL = 6


def _functions():
    for path in (ROOT / "detaug").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                yield path, node


def test_no_function_takes_more_than_6_positional_parameters():
    # past the first few, arguments are keyword-only (``*``): a call says what each value is
    wide = []
    for path, node in _functions():
        positional = [a.arg for a in (*node.args.posonlyargs, *node.args.args) if a.arg not in ("self", "cls")]
        if len(positional) > MAX_POSITIONAL:
            wide.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({len(positional)} positional)")
    assert not wide, wide


#: The layers of detaug, bottom first: a module imports from its own package or from a lower
#: layer, never from its own layer's other packages or from above. Ground floor (three
#: steps): errors, then file helpers and dataset protocols, then file formats and records; then the erasing core; the front-ends, data, models and
#: drawing; evaluation; configs; the pipeline a config builds; the training engine; the
#: occlusion evaluation; the study harness; the commands.
LAYERS = (
    ("_lazy", "_urls", "_version", "errors"),
    ("io", "checks", "protocols"),
    ("checkpoint", "provenance", "records", "safe_yaml"),
    ("erasing",),
    ("adapters", "data", "models", "vis"),
    ("tv", "detaug", "evaluation"),  # "detaug": the names the package root exports (the front-ends)
    ("config",),
    ("pipeline",),
    ("engine",),
    ("robustness",),
    ("study",),
    ("cli",),
)
RANK = {unit: i for i, layer in enumerate(LAYERS) for unit in layer}


def _unit(module: str) -> str:
    """The package (or ground-floor module) of ``detaug.<unit>...``; ``"detaug"`` for the root."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "detaug"


def _imports(path: Path):
    """``(line, imported unit)`` of every detaug import in a file, lazy ones too."""
    module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    package = module.rsplit(".", 1)[0] if path.name != "__init__.py" else module.removesuffix(".__init__")
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            # ``from detaug import evaluation`` imports the subpackage; ``from detaug import X`` a root export
            names = [f"{base}.{a.name}" if base == "detaug" and (ROOT / "detaug" / a.name).is_dir() else base
                     for a in node.names]
        else:
            continue
        yield from ((node.lineno, _unit(n)) for n in names if n == "detaug" or n.startswith("detaug."))


def test_no_module_imports_from_a_layer_above_its_own():
    upward = []
    for path in (ROOT / "detaug").rglob("*.py"):
        own = _unit(".".join(path.relative_to(ROOT).with_suffix("").parts))
        if path.parent == ROOT / "detaug" and path.name == "__init__.py":
            continue  # the root's lazy exports point at the front-ends by design
        for line, unit in _imports(path):
            if unit != own and RANK[unit] >= RANK[own]:
                upward.append(f"{path.relative_to(ROOT)}:{line} ({own}, layer {RANK[own]}) imports {unit} "
                              f"(layer {RANK[unit]})")
    assert not upward, upward


def test_every_package_has_a_layer():
    units = {p.stem if p.is_file() else p.name for p in (ROOT / "detaug").iterdir()
             if (p.suffix == ".py" and p.name != "__init__.py") or (p / "__init__.py").is_file()}
    assert units <= set(RANK), sorted(units - set(RANK))
