"""The package layers run one way (issue 13): an `ast` scan of every module, imports inside
functions included.

- floor 1, ``dalpsr_data``, never imports ``dalpsr_model``;
- in floor 2, no library module (models, trainers, loader, training loop) imports the command
  lines in ``dalpsr_model.cli``: the CLI sits on top and only parses and calls;
- the project's own imports stand at module top (a hidden arrow inside a function body is
  still an arrow, and it is where cycles hide).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def absolute(path: Path, node: ast.ImportFrom) -> str:
    """The absolute module name of a (possibly relative) ``from ... import``."""
    if not node.level:
        return node.module or ""
    package = list(path.resolve().relative_to(ROOT).parent.parts)
    base = package[:len(package) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def project_imports(path: Path) -> list[tuple[int, str, bool]]:
    """(line, imported module, at module top) for every import of dalpsr_data / dalpsr_model,
    relative imports resolved to their absolute names."""
    tree = ast.parse(path.read_text(), filename=str(path))
    top = {id(n) for n in tree.body}
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            names = [absolute(path, node)]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        for name in names:
            if name.split(".")[0] in ("dalpsr_data", "dalpsr_model"):
                out.append((node.lineno, name, id(node) in top))
    return out


def modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def upward_imports() -> list[str]:
    bad = []
    for path in modules("dalpsr_data"):
        bad += [f"{path.relative_to(ROOT)}:{line} imports {name}"
                for line, name, _ in project_imports(path) if name.startswith("dalpsr_model")]
    for path in modules("dalpsr_model"):
        if path.relative_to(ROOT).parts[:2] == ("dalpsr_model", "cli"):
            continue
        bad += [f"{path.relative_to(ROOT)}:{line} imports {name}"
                for line, name, _ in project_imports(path)
                if name == "dalpsr_model.cli" or name.startswith("dalpsr_model.cli.")]
    return bad


def test_no_import_runs_upward():
    assert upward_imports() == []


def test_project_imports_stand_at_module_top():
    hidden = [f"{p.relative_to(ROOT)}:{line} imports {name} inside a function or block"
              for pkg in ("dalpsr_data", "dalpsr_model") for p in modules(pkg)
              for line, name, at_top in project_imports(p) if not at_top]
    assert hidden == []


@pytest.mark.parametrize("source, expect", [
    ("def f():\n    from dalpsr_model.irpad import Irpad\n", "dalpsr_model.irpad"),
    ("import dalpsr_model.cli.train as t\n", "dalpsr_model.cli.train"),
    ("def f():\n    from .step import Batch\n", "dalpsr_model.controlnet.step"),
    ("def f():\n    from ..cli import options\n", "dalpsr_model.cli"),
])
def test_the_scan_sees_hidden_plain_and_relative_imports(source, expect):
    # The scan itself must catch every form, or the two tests above could never fail.
    f = ROOT / "dalpsr_model" / "controlnet" / "_layers_probe.py"
    f.write_text(source)
    try:
        assert [name for _, name, _ in project_imports(f)] == [expect]
        assert project_imports(f)[0][2] == source.startswith("import")
    finally:
        f.unlink()
