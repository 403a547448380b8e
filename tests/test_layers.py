"""The package layers run one way (issue 13): an `ast` scan of every module, imports inside
functions included.

- floor 1, ``dalpsr_data``, never imports ``dalpsr_model``;
- in floor 2, no library module (models, trainers, loader, training loop) imports the command
  lines in ``dalpsr_model.cli``: the CLI sits on top and only parses and calls;
- the project's own imports stand at module top (a hidden arrow inside a function body is
  still an arrow, and it is where cycles hide), with one exemption: a command-line module
  (``dalpsr_data/cli.py``, ``dalpsr_data/commands/*.py``, ``dalpsr_model/cli/*.py``) imports
  the library that does its command's work inside the function that runs it. That is the
  lazy boundary of issue 20: ``--help`` and option errors answer without loading torch
  (tests/test_startup.py checks that with an import spy). Nothing else is exempt.
"""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def absolute(path: Path, node: ast.ImportFrom, root: Path = ROOT) -> str:
    """The absolute module name of a (possibly relative) ``from ... import``."""
    if not node.level:
        return node.module or ""
    package = list(path.resolve().relative_to(root.resolve()).parent.parts)
    base = package[:len(package) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def project_imports(path: Path, root: Path = ROOT) -> list[tuple[int, str, bool]]:
    """(line, imported module, at module top) for every import of dalpsr_data / dalpsr_model,
    relative imports resolved to their absolute names."""
    tree = ast.parse(path.read_text(), filename=str(path))
    top = {id(n) for n in tree.body}
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            names = [absolute(path, node, root)]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        for name in names:
            if name.split(".")[0] in ("dalpsr_data", "dalpsr_model"):
                out.append((node.lineno, name, id(node) in top))
    return out


def modules(package: str, root: Path = ROOT) -> list[Path]:
    return sorted((root / package).rglob("*.py"))


def is_cli(relative: Path) -> bool:
    """Whether a module (path relative to the repository root) is a command-line module."""
    parts = relative.parts
    return (parts == ("dalpsr_data", "cli.py") or parts[:2] in (("dalpsr_data", "commands"),
                                                                  ("dalpsr_model", "cli")))


def hidden_imports(root: Path = ROOT) -> list[str]:
    """Project imports inside a function or block, outside the command-line modules."""
    return [f"{p.relative_to(root)}:{line} imports {name} inside a function or block"
            for pkg in ("dalpsr_data", "dalpsr_model") for p in modules(pkg, root)
            if not is_cli(p.relative_to(root))
            for line, name, at_top in project_imports(p, root) if not at_top]


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
    assert hidden_imports() == []


@pytest.fixture
def package_copy(tmp_path):
    """A copy of both packages: probes are written there, never into the source tree."""
    for pkg in ("dalpsr_data", "dalpsr_model"):
        shutil.copytree(ROOT / pkg, tmp_path / pkg, ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


@pytest.mark.parametrize("where, exempt", [
    ("dalpsr_model/cli/_layers_probe.py", True),
    ("dalpsr_data/commands/_layers_probe.py", True),
    ("dalpsr_model/controlnet/_layers_probe.py", False),
    ("dalpsr_model/sr/_layers_probe.py", False),
    ("dalpsr_data/_layers_probe.py", False),
])
def test_only_command_line_modules_may_import_when_they_run(package_copy, where, exempt):
    # The exemption is the CLI's lazy boundary and nothing else: the same hidden import is
    # allowed in a command module and reported everywhere else.
    (package_copy / where).write_text("def run():\n    from dalpsr_model.sr.runner import run_sr\n")
    found = [h for h in hidden_imports(package_copy) if h.startswith(where)]
    assert found == ([] if exempt else [f"{where}:2 imports dalpsr_model.sr.runner inside a function or block"])


@pytest.mark.parametrize("source, expect", [
    ("def f():\n    from dalpsr_model.irpad import Irpad\n", "dalpsr_model.irpad"),
    ("import dalpsr_model.cli.train as t\n", "dalpsr_model.cli.train"),
    ("def f():\n    from .step import Batch\n", "dalpsr_model.controlnet.step"),
    ("def f():\n    from ..cli import options\n", "dalpsr_model.cli"),
])
def test_the_scan_sees_hidden_plain_and_relative_imports(package_copy, source, expect):
    # The scan itself must catch every form, or the two tests above could never fail.
    f = package_copy / "dalpsr_model" / "controlnet" / "_layers_probe.py"
    f.write_text(source)
    assert [name for _, name, _ in project_imports(f, package_copy)] == [expect]
    assert project_imports(f, package_copy)[0][2] == source.startswith("import")
