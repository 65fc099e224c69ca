"""The shape the code keeps (issue 9): no function in detaug/ or tools/ over 70 lines of code, a thin training script."""

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
